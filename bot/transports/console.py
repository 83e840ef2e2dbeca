"""The console: type as any member in any group, or as a leader in private chat."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.app import App
from bot.events import MessageNotRecorded, OutgoingText, SendResult
from bot.transports.edge import RejectedMessage, clean_message
from bot.transports.pictures import save_image
from storage.lookup import first_bound_group

IMAGE_DIR = Path("console-out")  # where pictures the bot sends are saved
HELP = "/as ID [名字] 换人  /group 群名 进群  /private 私聊机器人  /quit 退出；空行结束一条消息"


def run_console(app: App, stdin: TextIO, stdout: TextIO, group: str | None, user: str,
                image_dir: Path = IMAGE_DIR) -> None:
    state = {"user": user, "name": user, "chat": group or _first_group(app)}
    counter = itertools.count(1)
    stdout.write(HELP + "\n")
    buffer: list[str] = []

    def prompt() -> None:
        where = state["chat"] or "私聊"
        stdout.write(f"{state['name']}@{where}> ")
        stdout.flush()

    prompt()
    for raw in stdin:
        line = raw.rstrip("\n")
        if not buffer and line.startswith("/"):
            if not _control(line, state, stdout):
                return
            prompt()
            continue
        if line.strip():
            buffer.append(line)
            continue
        if buffer:
            _send(app, state, "\n".join(buffer), next(counter), stdout, image_dir)
            buffer.clear()
        prompt()
    if buffer:
        _send(app, state, "\n".join(buffer), next(counter), stdout, image_dir)


def _control(line: str, state: dict, stdout: TextIO) -> bool:
    parts = line.split(maxsplit=2)
    if parts[0] == "/quit":
        return False
    if parts[0] == "/as" and len(parts) >= 2:
        state["user"], state["name"] = parts[1], parts[2] if len(parts) > 2 else parts[1]
    elif parts[0] == "/group" and len(parts) >= 2:
        state["chat"] = line.split(maxsplit=1)[1]
    elif parts[0] == "/private":
        state["chat"] = None
    else:
        stdout.write(HELP + "\n")
    return True


def _send(app: App, state: dict, text: str, n: int, stdout: TextIO, image_dir: Path) -> None:
    try:
        msg = clean_message("console", message_id=f"console-{datetime.now().timestamp()}-{n}", chat=state["chat"],
                            sender=state["user"], sender_name=state["name"], text=text, sent_at=app.ctx.now(),
                            chat_name=state["chat"])
    except RejectedMessage as exc:
        stdout.write(f"  (not sent: {exc})\n")
        return
    try:
        replies = app.feed(msg)
    except MessageNotRecorded as exc:
        stdout.write(f"  (not recorded: {exc})\n")
        return
    for out in replies:
        deliver(app, out, stdout, image_dir)


def deliver(app: App, out: OutgoingText, stdout: TextIO, image_dir: Path) -> None:
    """Show what the bot sends; a picture goes into `image_dir`, and the transcript says where."""
    where = out.to if out.is_group else f"私聊 {out.to}"
    stdout.write(f"  🤖 [{where}] {out.text}\n")
    picture = save_image(out, image_dir, app.ctx.now())
    if picture is not None:
        stdout.write(f"  🖼 图片：{picture}\n")
    app.report(out, SendResult.sent())


def _first_group(app: App) -> str | None:
    with app.ctx.sessions() as session:
        group = first_bound_group(session)
        return group.chat_id if group else None
