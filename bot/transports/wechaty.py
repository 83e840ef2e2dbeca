"""The WeChat transport: python-wechaty against a puppet-service gateway.

The only module that imports wechaty. It turns wechaty messages into IncomingMessage, runs
App.feed off the event loop (one chat at a time, in arrival order), sends what the app
returns and, every few seconds, what the outbox has due (broadcasts, held-back replies).

wechaty 0.10.7 needs three fixes on Python 3.11 (see ../shared/notes/wechaty.md): pyee and
urllib3 pins (in the `wechaty` extra) and a hashable PuppetOptions before it is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC

from bot.app import App
from bot.events import Capabilities, IncomingMessage, MessageNotRecorded, OutgoingText, SendResult
from bot.locks import KeyedAsyncLocks

log = logging.getLogger(__name__)
MENTION_SEPARATOR = "\u2005"  # WeChat puts U+2005 after an @mention
FLUSH_EVERY_SECONDS = 3.0


class TransportError(RuntimeError):
    """A problem that stops the bot from starting: said in one line, exit non-zero."""


def _import_wechaty():
    try:
        import wechaty_puppet.schemas.puppet as puppet_schemas
    except ImportError:
        raise TransportError("the wechaty extra is not installed: pip install 'jielong[wechaty]'") from None
    # Python 3.11 dataclasses refuse PuppetOptions as a mutable default unless it is hashable.
    puppet_schemas.PuppetOptions.__hash__ = object.__hash__
    import wechaty
    from wechaty_puppet import MessageType

    return wechaty, puppet_schemas.PuppetOptions, MessageType


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


def strip_mentions(text: str) -> str:
    """"@机器人\u2005汇总" → "汇总"."""
    parts = text.split(MENTION_SEPARATOR)
    kept = [p for p in parts if not p.startswith("@")] if len(parts) > 1 else parts
    return MENTION_SEPARATOR.join(kept).strip() if kept else text.strip()


class WechatyTransport:
    """Runs one WeChat account: receives through wechaty, feeds the app, sends replies."""

    capabilities = Capabilities(group_posts=True, mentions=True, private_chat=True, images=False)

    def __init__(self, app: App, *, endpoint: str, token: str, cache_dir: str | None = None,
                 plugin_port: int | None = None, on_sent: Callable[[OutgoingText], None] | None = None):
        self.app = app
        self.endpoint, self.token = endpoint, token
        self.cache_dir = cache_dir
        self.plugin_port = plugin_port or _free_port()
        self.on_sent = on_sent
        self._chat_locks = KeyedAsyncLocks()  # one chat at a time, in arrival order (X6: freed when idle)
        self._send_lock = asyncio.Lock()
        self.bot = None
        self.ready = asyncio.Event()

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve until `stop` is set, then shut down in the order wechaty needs."""
        check_gateway(self.endpoint, self.token)
        self.bot = self._make_bot()
        start = asyncio.create_task(self.bot.start(), name="wechaty-start")
        flusher = asyncio.create_task(self._flush_loop(stop), name="outbox-flush")
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({start, stopper}, return_when=asyncio.FIRST_COMPLETED)
        flusher.cancel()
        # Cancel start() first, then stop(): the other order can hang for a minute.
        start.cancel()
        stopper.cancel()
        await asyncio.gather(flusher, start, stopper, return_exceptions=True)
        async with self._send_lock:  # never stop half-way through a send
            await self.bot.stop()
        if start in done and start.exception() is not None:
            raise TransportError(f"wechaty stopped: {start.exception()}")

    def _make_bot(self):
        wechaty, puppet_options_cls, message_type = _import_wechaty()
        if self.cache_dir:
            os.environ["CACHE_DIR"] = self.cache_dir
        options = wechaty.WechatyOptions(
            puppet="wechaty-puppet-service",
            puppet_options=puppet_options_cls(token=self.token, end_point=self.endpoint),
            port=self.plugin_port,
        )
        transport = self

        class JielongBot(wechaty.Wechaty):
            async def on_login(self, contact) -> None:
                log.info("logged in as %s", contact)
                transport.ready.set()

            async def on_message(self, msg) -> None:
                await transport.handle(msg, message_type)

            async def on_room_join(self, room, invitees, inviter, date) -> None:
                me = self.user_self()
                if me is not None and any(c.contact_id == me.contact_id for c in invitees):
                    await room.ready()
                    replies = await asyncio.to_thread(transport.app.joined, room.room_id, await room.topic())
                    await transport.send_all(replies)

        return JielongBot(options)

    # --- inbound --------------------------------------------------------------------------

    async def handle(self, msg, message_type) -> None:
        try:
            if msg.is_self():
                return
            incoming = await self.to_incoming(msg, message_type)
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
        kind = msg.type()
        if kind not in (message_type.MESSAGE_TYPE_TEXT, message_type.MESSAGE_TYPE_UNSPECIFIED) and \
                getattr(kind, "value", kind) != 53 and "<appmsg" not in (msg.text() or ""):
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
        return IncomingMessage(
            platform="wechaty", message_id=msg.message_id, chat=chat, sender=talker.contact_id,
            sender_name=talker.name, text=text, sent_at=sent_at, chat_name=chat_name, mentions=mentions,
        )

    # --- outbound -------------------------------------------------------------------------

    async def send_all(self, messages: list[OutgoingText]) -> None:
        for out in messages:
            try:
                await self.send(out)
                result = SendResult.sent()
            except TransportError as exc:
                result = SendResult.failed(str(exc))
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
        if not out.is_group or "@" in out.to:
            return out.to
        # A group known by its name (set-up files name groups): find the room by topic.
        room = await self.bot.Room.find(out.to)
        if room is None:
            raise TransportError(f"no room named {out.to!r}")
        return room.room_id

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


