"""The HTTP gateway transport: a vendor pushes each message to us, we POST what the bot says.

    POST /v1/messages          one message in jielong's own JSON contract (docs/http-gateway.md)
    POST /v1/callback/VENDOR   the chosen vendor's own callback format (`--vendor`, e.g. gewe)
    GET  /healthz              200 while the bot runs (no secret needed)

Every POST needs the shared secret: `Authorization: Bearer <token>` (or `?token=` for vendors
that only let you set a callback URL); compared in constant time, 401 and nothing recorded
without it. A message is answered 200 only once `App.feed` has returned, i.e. its log row is
committed (it survives kill -9); a redelivery is 200 and changes nothing; a body that cannot be
read is 400 with the reason; a database that cannot record it is 503, so the vendor retries.

Sending: one sender task delivers, in order, the replies `App.feed` returns and what the
outbox has due (polled every few seconds), through the vendor's request shape; each result is
reported with `App.report`, so a non-2xx answer or a timeout leaves the message to be retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.app import App
from bot.events import Capabilities, OutgoingText, SendResult
from bot.transports import TransportError
from bot.transports.vendors import BadPayload, Vendor

log = logging.getLogger(__name__)
MAX_BODY = 2_000_000  # bytes: a native 接龙 of a few hundred lines is ~100 kB of XML
FLUSH_EVERY_SECONDS = 3.0
SEND_TIMEOUT_SECONDS = 10.0
TOKEN_ENV = "JIELONG_HTTP_TOKEN"
MIN_TOKEN = 16


def import_stack():
    try:
        import httpx
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise TransportError("the http extra is not installed: pip install 'jielong[http]'") from None
    return httpx, uvicorn


def check_token(token: str | None) -> str:
    if not token:
        raise TransportError(f"{TOKEN_ENV} is not set (the secret gateways send as 'Authorization: Bearer …')")
    if len(token) < MIN_TOKEN or not token.isprintable() or " " in token:
        raise TransportError(f"{TOKEN_ENV} must be at least {MIN_TOKEN} printable characters without spaces")
    return token


def parse_listen(listen: str) -> tuple[str, int]:
    """"HOST:PORT" ("[::1]:8080" for IPv6) → (host, port)."""
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TransportError(f"--listen {listen!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    return host, int(port)


def check_send_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"--send-url {url!r} is not an http(s) URL")
    return url


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket before anything else starts, so a taken port is one line."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and
        # without it every answer on a kept-alive connection waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise TransportError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


@dataclass
class _Answer:
    status: int
    body: dict


class HttpGateway:
    """Serves the callbacks of one gateway (any number of accounts) and sends through it."""

    def __init__(self, app: App, *, token: str, vendor: Vendor, send_timeout: float = SEND_TIMEOUT_SECONDS,
                 flush_every: float = FLUSH_EVERY_SECONDS):
        self.httpx, self.uvicorn = import_stack()
        self.app = app
        self.token = check_token(token).encode()
        self.vendor = vendor
        self.send_timeout = send_timeout
        self.flush_every = flush_every
        self._queue: asyncio.Queue[OutgoingText] | None = None
        self._client = None

    @property
    def capabilities(self) -> Capabilities:
        return self.vendor.capabilities

    # --- the web app ---------------------------------------------------------------------------

    def asgi(self):
        from starlette.applications import Starlette
        from starlette.routing import Route

        return Starlette(routes=[
            Route("/v1/messages", self._messages, methods=["POST"]),
            Route("/v1/callback/{vendor}", self._callback, methods=["POST"]),
            Route("/healthz", self._healthz, methods=["GET"]),
        ])

    async def _healthz(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({"ok": True, "vendor": self.vendor.name})

    async def _messages(self, request):
        from bot.transports.vendors.neutral import message_from_payload

        return await self._receive(request, message_from_payload)

    async def _callback(self, request):
        from starlette.responses import JSONResponse

        if request.path_params["vendor"] != self.vendor.name:
            return JSONResponse({"error": f"this gateway speaks {self.vendor.name!r}"}, status_code=404)
        return await self._receive(request, self.vendor.incoming)

    async def _receive(self, request, read):
        from starlette.responses import JSONResponse

        answer = await self._answer(request, read)
        return JSONResponse(answer.body, status_code=answer.status)

    async def _answer(self, request, read) -> _Answer:
        if not self._authorized(request):
            return _Answer(401, {"error": "unauthorized"})
        body = await _read_body(request)
        if isinstance(body, _Answer):
            return body
        try:
            msg = read(json.loads(body), self.app.ctx.tz)
        except BadPayload as exc:
            return _refused(str(exc))
        except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deep
            return _refused("the body is not JSON")
        except Exception:  # noqa: BLE001 - a payload we did not foresee must not take the bot down
            log.exception("could not read a message")
            return _refused("the message could not be read")
        if msg is None:
            return _Answer(200, {"ok": True, "ignored": True})
        try:
            replies = await asyncio.to_thread(self.app.feed, msg)
        except Exception:  # noqa: BLE001 - the log row is not committed: the gateway must retry
            log.exception("could not record message %s/%s", msg.platform, msg.message_id)
            return _Answer(503, {"error": "not recorded, send it again"})
        self.enqueue(replies)
        return _Answer(200, {"ok": True})

    def _authorized(self, request) -> bool:
        given = ""
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            given = header[7:].strip()
        elif "token" in request.query_params:
            given = request.query_params["token"]
        return hmac.compare_digest(given.encode(), self.token)

    # --- sending -------------------------------------------------------------------------------

    def enqueue(self, messages: list[OutgoingText]) -> None:
        for out in messages:
            self._queue.put_nowait(out)

    async def send(self, out: OutgoingText) -> SendResult:
        if out.image is not None and not self.capabilities.images:
            out = OutgoingText(out.to, out.text, out.mentions, out.is_group, out.account, None, out.outbox_ids)
        request = self.vendor.request(out)
        try:
            response = await self._client.post(request.url, json=request.json, headers=request.headers)
        except self.httpx.TimeoutException:
            return SendResult.retry(f"no answer from the send URL within {self.send_timeout:g} s")
        except self.httpx.HTTPError as exc:
            return SendResult.retry(f"cannot reach the send URL: {exc.__class__.__name__}")
        return self.vendor.result(response.status_code, response.content)

    async def _sender(self) -> None:
        while True:
            out = await self._queue.get()
            try:
                result = await self.send(out)
                if not result.ok:
                    log.warning("send to %s not delivered: %s", out.to, result.detail)
                await asyncio.to_thread(self.app.report, out, result)
            except Exception:  # noqa: BLE001 - one bad send must not stop the others
                log.exception("send to %s failed", out.to)
            finally:
                self._queue.task_done()

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.enqueue(await asyncio.to_thread(self.app.flush))
            except Exception:  # noqa: BLE001 - e.g. the database is briefly away: try again
                log.exception("outbox flush failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.flush_every)

    async def _give_back(self) -> None:
        """What is still queued at shutdown goes back to the outbox, to be sent next time."""
        while not self._queue.empty():
            out = self._queue.get_nowait()
            await asyncio.to_thread(self.app.report, out, SendResult.retry("stopped before sending"))

    async def check_send_url(self) -> None:
        """Warn (not fail) when nothing listens at the send URL now: replies wait in the outbox."""
        url = urlsplit(self.vendor.request(OutgoingText("", "")).url)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(url.hostname, port), 3.0)
            writer.close()
        except (OSError, TimeoutError) as exc:
            log.warning("nothing answers at the send URL's %s:%s now (%s): replies wait in the outbox "
                        "until it does", url.hostname, port, getattr(exc, "strerror", None) or "timeout")

    # --- lifecycle -----------------------------------------------------------------------------

    async def run(self, sock: socket.socket, stop: asyncio.Event, log_level: str = "warning") -> None:
        """Serve on `sock` until `stop` is set; then finish the send in flight and give the rest
        back to the outbox."""
        self._queue = asyncio.Queue()
        config = self.uvicorn.Config(self.asgi(), log_level=log_level, access_log=False, lifespan="off",
                                     timeout_graceful_shutdown=10)
        server = _quiet_server(config)
        async with self.httpx.AsyncClient(timeout=self.send_timeout) as client:
            self._client = client
            await self.check_send_url()
            tasks = [asyncio.create_task(server.serve(sockets=[sock]), name="http-server"),
                     asyncio.create_task(self._sender(), name="http-sender"),
                     asyncio.create_task(self._flush_loop(stop), name="outbox-flush")]
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait([tasks[0], waiter], return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            server.should_exit = True
            await asyncio.gather(tasks[0], tasks[2], return_exceptions=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), self.send_timeout)
            tasks[1].cancel()
            waiter.cancel()
            await asyncio.gather(tasks[1], waiter, return_exceptions=True)
            await self._give_back()


def _refused(reason: str) -> _Answer:
    log.warning("refused a message (400): %s", reason)
    return _Answer(400, {"error": reason})


async def _read_body(request) -> bytes | _Answer:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return _Answer(400, {"error": f"the body is larger than {MAX_BODY} bytes"})
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return _Answer(400, {"error": f"the body is larger than {MAX_BODY} bytes"})
        chunks.append(chunk)
    return b"".join(chunks)


def _quiet_server(config):
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn without its own signal handling: `jielong run` owns SIGINT/SIGTERM."""

        @contextlib.contextmanager
        def capture_signals(self):
            yield

    return Server(config)
