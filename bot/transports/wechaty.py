"""The WeChat transport: python-wechaty against a puppet-service gateway.

The only module that imports wechaty. It turns wechaty messages into IncomingMessage, runs
App.feed off the event loop (one chat at a time, in arrival order), sends what the app
returns and, every few seconds, what the outbox has due (broadcasts, held-back replies).

wechaty 0.10.7 (the last release) needs fixes on Python 3.11 (docs/transports.md): pyee and
urllib3 pins (in the `wechaty` extra) and a hashable PuppetOptions before it is imported.
Its `Wechaty.start()` swallows every start-up error (a refused token is printed; a gateway
that is not there, or one that drops the stream, means a silent 60-s sleep and a retry), so
this module drives the same steps itself: a refused token or an unreachable gateway at start
is one line and a non-zero exit; a stream lost later is reconnected with a short backoff.

A native 接龙 (appmsg type 53) reaches this path as its chain text only: the puppet-service
protocol drops the XML, so per-entry authors are not available here (the HTTP gateway
transport keeps them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC
from urllib.parse import quote

from bot import logs
from bot.app import App
from bot.events import Capabilities, IncomingMessage, MessageNotRecorded, OutgoingText, SendResult
from bot.locks import KeyedAsyncLocks
from bot.transports import TransportError, strip_mentions
from bot.transports.edge import RejectedMessage, clean_message

log = logging.getLogger(__name__)
FLUSH_EVERY_SECONDS = 3.0
RECONNECT_SECONDS = (1, 2, 5, 10, 30)  # after a lost stream; the last one repeats
QR_PAGE = "https://wechaty.js.org/qrcode/"


class RoomNotKnownYet(RuntimeError):
    """A group post addressed to a set-up name whose room id the bot has not learned yet."""


def import_wechaty():
    try:
        import wechaty_puppet.schemas.puppet as puppet_schemas
    except ImportError:
        raise TransportError("the wechaty extra is not installed: pip install 'jielong[wechaty]'") from None
    # Python 3.11 dataclasses refuse PuppetOptions as a mutable default unless it is hashable.
    puppet_schemas.PuppetOptions.__hash__ = object.__hash__
    import wechaty
    import wechaty.wechaty as wechaty_core
    import wechaty_puppet_service  # noqa: F401 - imported now so its loggers exist (below)
    from wechaty_puppet import MessageType

    # It prints the login QR to stdout itself; the transport prints it (and the URL) to stderr.
    wechaty_core.qr_terminal = lambda *args, **kwargs: None
    # Its loggers bring their own handlers (and log the token): route them through ours. What
    # it warns about is start-up chatter; what matters reaches the operator through this module.
    logs.adopt_private_loggers(quiet_below=logging.ERROR)
    return wechaty, puppet_schemas.PuppetOptions, MessageType


def terminal_qr(data: str) -> str:
    """The login QR code as text for a terminal (two characters a module, dark on light)."""
    import qrcode

    qr = qrcode.QRCode(border=2)
    qr.add_data(data)
    qr.make(fit=True)
    rows = qr.get_matrix()
    return "\n".join("".join("  " if dark else "\u2588\u2588" for dark in row) for row in rows)


def qr_page(data: str) -> str:
    return QR_PAGE + quote(data, safe="")


def check_gateway(endpoint: str | None, token: str | None, timeout: float = 3.0) -> tuple[str, int]:
    """Fail fast and clearly: wechaty itself swallows these and retries forever."""
    if not token:
        raise TransportError("WECHATY_PUPPET_SERVICE_TOKEN is not set")
    if not endpoint:
        raise TransportError("WECHATY_PUPPET_SERVICE_ENDPOINT is not set (host:port of the gateway)")
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise TransportError(f"WECHATY_PUPPET_SERVICE_ENDPOINT {endpoint!r} is not host:port")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise TransportError(f"cannot reach the gateway at {endpoint}: {exc.strerror or exc}") from None
    return host, int(port)


class WechatyTransport:
    """Runs one WeChat account: receives through wechaty, feeds the app, sends replies."""

    capabilities = Capabilities(group_posts=True, mentions=True, private_chat=True, images=False)

    def __init__(self, app: App, *, endpoint: str, token: str, cache_dir: str | None = None,
                 plugin_port: int | None = None, on_sent: Callable[[OutgoingText], None] | None = None,
                 on_scan: Callable[[str], None] | None = None, on_ready: Callable[[str, str], None] | None = None):
        self.app = app
        self.endpoint, self.token = endpoint, token
        self.cache_dir = cache_dir
        self.plugin_port = plugin_port or _free_port()
        self.on_sent = on_sent
        self.on_scan = on_scan or (lambda text: log.warning("%s", text))
        self.on_ready = on_ready or (lambda account, name: log.info("logged in as %s (%s)", account, name))
        self._chat_locks = KeyedAsyncLocks()  # one chat at a time, in arrival order (X6: freed when idle)
        self._send_lock = asyncio.Lock()
        self._shown_qr: str | None = None
        self.bot = None
        self.account: str | None = None  # the logged-in account's id, once ready
        self.ready = asyncio.Event()
        logs.hide(token)

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve until `stop` is set, then shut down in the order wechaty needs.

        A refused token or a gateway that cannot be reached at start raises TransportError;
        a stream lost after login is reconnected (1, 2, 5, 10, then every 30 s)."""
        check_gateway(self.endpoint, self.token)
        flusher = asyncio.create_task(self._flush_loop(stop), name="outbox-flush")
        try:
            await self._connected(stop)
        finally:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            async with self._send_lock:  # never stop half-way through a send
                await self._disconnect()

    async def _connected(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            self.bot = self._make_bot()
            session = asyncio.create_task(self._session(self.bot), name="wechaty-session")
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({session, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if stop.is_set():
                # Cancel the session first, then stop the bot (in `run`): the other order can
                # hang for a minute.
                session.cancel()
                await asyncio.gather(session, stopper, return_exceptions=True)
                return
            error = session.exception()
            refused = _refusal(error)
            if refused or self.account is None:  # never logged in: this is a start-up mistake
                raise TransportError(refused or f"cannot start on the gateway at {self.endpoint}: "
                                               f"{_describe(error)}")
            if self.ready.is_set():
                failures = 0  # it was up since the last failure: start the backoff again
            delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
            failures += 1
            log.warning("lost the gateway at %s (%s); trying again in %d s", self.endpoint, _describe(error), delay)
            self.ready.clear()
            await self._disconnect()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _session(self, bot) -> None:
        """What `Wechaty.start()` does, without its except-all: connect, start the puppet, and
        read the event stream until it ends."""
        await bot.init_puppet()
        await bot.init_puppet_event_bridge(bot.puppet)
        bot.started = True
        await bot.puppet.start()

    async def _disconnect(self) -> None:
        bot, self.bot = self.bot, None
        if bot is None:
            return
        with contextlib.suppress(Exception):  # the gateway may be gone: nothing left to close there
            await asyncio.wait_for(bot.stop(), 10)
        with contextlib.suppress(Exception):
            bot._plugin_manager.scheduler.shutdown(wait=False)

    def _scanned(self, qr_code: str, status) -> None:
        if getattr(status, "name", "") not in ("Waiting", "Timeout") or not qr_code or qr_code == self._shown_qr:
            return
        self._shown_qr = qr_code
        self.on_scan(f"log in: scan this QR code with the bot's WeChat (or open {qr_page(qr_code)})\n"
                     f"{terminal_qr(qr_code)}")

    def _logged_in(self, contact) -> None:
        self.account = contact.contact_id
        self._shown_qr = None
        self.on_ready(contact.contact_id, getattr(contact, "name", "") or "")
        self.ready.set()

    def _make_bot(self):
        wechaty, puppet_options_cls, message_type = import_wechaty()
        if self.cache_dir:
            os.environ["CACHE_DIR"] = self.cache_dir
        options = wechaty.WechatyOptions(
            puppet="wechaty-puppet-service",
            puppet_options=puppet_options_cls(token=self.token, end_point=self.endpoint),
            port=self.plugin_port,
        )
        transport = self

        class JielongBot(wechaty.Wechaty):
            async def on_scan(self, qr_code, status, data=None) -> None:
                transport._scanned(qr_code, status)

            async def on_login(self, contact) -> None:
                transport._logged_in(contact)

            async def on_logout(self, contact) -> None:
                log.warning("the account %s logged out: waiting for a new login", contact.contact_id)
                transport.ready.clear()

            async def on_message(self, msg) -> None:
                await transport.handle(msg, message_type)

            async def on_room_join(self, room, invitees, inviter, date) -> None:
                me = self.user_self()
                if me is not None and any(c.contact_id == me.contact_id for c in invitees):
                    await room.ready()
                    replies = await asyncio.to_thread(transport.app.joined, room.room_id, await room.topic())
                    await transport.send_all(replies)

        bot = JielongBot(options)
        # wechaty 0.10.7 hands each scan to its plugins asserting the status is a str (it is an
        # enum), so every QR refresh would log "internal error". jielong runs no plugins.
        emit_to_plugins = bot._plugin_manager.emit_events

        async def emit_except_scan(event_name: str, *args, **kwargs) -> None:
            if event_name != "scan":
                await emit_to_plugins(event_name, *args, **kwargs)

        bot._plugin_manager.emit_events = emit_except_scan
        return bot

    # --- inbound --------------------------------------------------------------------------

    async def handle(self, msg, message_type) -> None:
        try:
            if msg.is_self():
                return
            incoming = await self.to_incoming(msg, message_type)
        except RejectedMessage as exc:
            log.warning("skipped message %s: %s", getattr(msg, "message_id", "?"), exc)
            return
        except Exception:  # noqa: BLE001 - one odd message must not stop the bot
            log.exception("could not read message %s", getattr(msg, "message_id", "?"))
            return
        if incoming is None:
            return
        async with self._chat_locks.hold(incoming.session_key):
            try:
                replies = await asyncio.to_thread(self.app.feed, incoming)
            except MessageNotRecorded:  # the database is down: wechaty will not deliver it again
                log.exception("message %s lost: it could not be recorded", incoming.message_id)
                return
            await self.send_all(replies)

    async def to_incoming(self, msg, message_type) -> IncomingMessage | None:
        # A native 接龙 arrives as UNSPECIFIED with its chain text (the XML is dropped on the way).
        if msg.type() not in (message_type.MESSAGE_TYPE_TEXT, message_type.MESSAGE_TYPE_UNSPECIFIED):
            return None
        talker = msg.talker()
        room = msg.room()
        text = msg.text() or ""
        chat, chat_name = None, None
        mentions = tuple(msg.payload.mention_ids or ()) if room is not None else ()
        if room is not None:
            await room.ready()
            chat, chat_name = room.room_id, await room.topic()
            self_id = self.bot.user_self().contact_id if self.bot else None
            if self_id is not None and self_id in mentions:
                text = strip_mentions(text)
        sent_at = msg.date()
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        # Never native_chain: this path cannot tell a real native 接龙 from XML a member typed (P3).
        return clean_message(
            "wechaty", message_id=msg.message_id, chat=chat, sender=talker.contact_id,
            sender_name=talker.name, text=text, sent_at=sent_at, chat_name=chat_name, account=self.account,
            mentions=mentions,
        )

    # --- outbound -------------------------------------------------------------------------

    async def send_all(self, messages: list[OutgoingText]) -> None:
        for out in messages:
            try:
                await self.send(out)
                result = SendResult.sent()
            except TransportError as exc:
                result = SendResult.failed(str(exc))
            except RoomNotKnownYet as exc:
                result = SendResult.retry(str(exc))
            except Exception as exc:  # noqa: BLE001 - a failed send is kept for a retry, the rest still go
                log.exception("could not send to %s", out.to)
                result = SendResult.retry(f"{exc.__class__.__name__}: {exc}")
            await asyncio.to_thread(self.app.report, out, result)

    async def send(self, out: OutgoingText) -> None:
        async with self._send_lock:
            conversation = await self._conversation_id(out)
            await self.bot.puppet.message_send_text(
                conversation_id=conversation, message=out.text, mention_ids=list(out.mentions) or None)
        if self.on_sent:
            self.on_sent(out)

    async def _conversation_id(self, out: OutgoingText) -> str:
        if not out.is_group or out.to.endswith("@chatroom"):
            return out.to
        # Never look a room up by topic: another room can carry the same one (P2). A group the
        # set-up names learns its room id when it first speaks, and its queued posts follow.
        raise RoomNotKnownYet(f"the room id of {out.to!r} is not known yet: it is learned when the group speaks")

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        await self.ready.wait()
        while not stop.is_set():
            try:
                # What is recorded and not applied (a database error set it aside, a process
                # died after recording it) is applied first; then what the outbox has due.
                await self.send_all(await asyncio.to_thread(self.app.drain))
                await self.send_all(await asyncio.to_thread(self.app.flush))
            except Exception:  # noqa: BLE001
                log.exception("outbox flush failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_EVERY_SECONDS)


def _refusal(error: BaseException | None) -> str | None:
    """The one line for a gateway that refuses the token (never echo the token: the gateway's
    own message does)."""
    status = getattr(getattr(error, "status", None), "name", "")
    if status in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        return "the gateway refused WECHATY_PUPPET_SERVICE_TOKEN (wrong or expired token)"
    return None


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "the gateway closed the event stream"
    status = getattr(getattr(error, "status", None), "name", None)
    first = error.args[0] if error.args and isinstance(error.args[0], str) else None
    detail = status or getattr(error, "strerror", None) or first or str(error) or "no detail"
    return logs.redact(f"{error.__class__.__name__}: {detail}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


