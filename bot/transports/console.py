"""The console: type as any member in any group, or as a leader in private chat."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import TextIO

from bot.app import App
from bot.events import IncomingMessage, MessageNotRecorded, SendResult
from storage.lookup import first_bound_group

HELP = "/as ID [名字] 换人  /group 群名 进群  /private 私聊机器人  /quit 退出；空行结束一条消息"


def run_console(app: App, stdin: TextIO, stdout: TextIO, group: str | None, user: str) -> None:
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
            _send(app, state, "\n".join(buffer), next(counter), stdout)
            buffer.clear()
        prompt()
    if buffer:
        _send(app, state, "\n".join(buffer), next(counter), stdout)


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


def _send(app: App, state: dict, text: str, n: int, stdout: TextIO) -> None:
    msg = IncomingMessage("console", f"console-{datetime.now().timestamp()}-{n}", state["chat"], state["user"],
                          state["name"], text, app.ctx.now(), state["chat"])
    try:
        replies = app.feed(msg)
    except MessageNotRecorded as exc:
        stdout.write(f"  (not recorded: {exc})\n")
        return
    for out in replies:
        where = out.to if out.is_group else f"私聊 {out.to}"
        stdout.write(f"  🤖 [{where}] {out.text}\n")
        app.report(out, SendResult.sent())


def _first_group(app: App) -> str | None:
    with app.ctx.sessions() as session:
        group = first_bound_group(session)
        return group.chat_id if group else None
