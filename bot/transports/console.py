"""The console: a sandbox to try the bot in. Type as any member in any group, or as a leader
in private chat, on a simulated clock: `/time +2h` lets time pass, and what the scheduler
would post on the way (the campaign, the reminder, the final list, the pickup notice, the
evening summaries) and what the rate limit held back appear at their times.

Input: a line is a message. A multi-line message (a pasted chain with blank lines in it) is
either pasted on a terminal that brackets pastes, or typed after `/paste` and ended by a line
holding only `.` (or `/send`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO

from bot import broadcasts, summaries, texts
from bot.app import App
from bot.context import SettableClock
from bot.events import MessageNotRecorded, OutgoingText, SendResult
from bot.transports.edge import RejectedMessage, clean_message
from bot.transports.names import NameBook
from bot.transports.pictures import save_image
from storage.lookup import (
    campaigns_opened_by,
    first_bound_group,
    next_campaign_opening,
)
from storage.people import group_members, leaders_and_admins
from storage.rooms import groups_named
from storage.settings import SettingError, parse_duration

PLATFORM = "console"
IMAGE_DIR = Path("console-out")  # where pictures the bot sends are saved
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
BRACKETED_PASTE_ON, BRACKETED_PASTE_OFF = "\x1b[?2004h", "\x1b[?2004l"
END_OF_PASTE = (".", "/send")


@dataclass
class Text:
    """A message to send as the current person."""

    text: str


@dataclass
class Command:
    line: str


def sandbox_start(app: App, now: datetime) -> datetime:
    """Where the sandbox clock starts without --at: now if a campaign is taking orders, else
    when the next campaign opens, else when the last one opened (an example set-up with past
    dates is still usable)."""
    with app.ctx.sessions() as session:
        opened = campaigns_opened_by(session, now)
        if any(c.deadline > now and c.closed_at is None for c in opened):
            return now
        upcoming = next_campaign_opening(session, now)
        if upcoming is not None:
            return upcoming
        if opened:
            return max(opened, key=lambda c: c.opens).opens
    return now


def parse_when(text: str, now: datetime, tz) -> datetime:
    """`+2h` (from now), `21:30` (the next time the clock shows it), or a date-time (a zone
    can be left out). ValueError for anything else."""
    text = text.strip()
    if text.startswith("+"):
        try:
            return now + parse_duration(text[1:])
        except SettingError:
            raise ValueError(text) from None
    local = now.astimezone(tz)
    if ":" in text and "-" not in text and "T" not in text:
        clock = time.fromisoformat(text if len(text.split(":")[0]) == 2 else "0" + text)
        when = datetime.combine(local.date(), clock, tzinfo=tz)
        return when if when > local else when + timedelta(days=1)
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=tz)


class Console:
    def __init__(self, app: App, clock: SettableClock, stdout: TextIO, *, group: str | None, user: str,
                 name: str | None = None, image_dir: Path = IMAGE_DIR):
        self.app, self.clock, self.stdout = app, clock, stdout
        self.image_dir = image_dir
        self.names = NameBook(app.ctx.sessions)
        self.user, self.chat = user, self._first_group()
        self.name = name or self.names.name(user)
        self._last_group_send: datetime | None = None
        self.echo = False
        if group is not None:
            self._enter_group(group)
        self._shown_clock: datetime | None = None

    # --- the loop -------------------------------------------------------------------------

    def run(self, stdin: Iterable[str], bracketed_paste: bool = False, echo: bool = False) -> None:
        """Read messages and commands until /quit or the end of input. `echo` repeats each
        input after its prompt (input from a file: the output then reads as a transcript)."""
        self.echo = echo
        self.write(texts.CONSOLE_HELP)
        self.write(texts.CONSOLE_START.format(time=self._time_text(self.clock())))
        self._run_jobs(self.clock())  # what is due at the start (as the live bot's catch-up)
        if bracketed_paste:
            self.stdout.write(BRACKETED_PASTE_ON)
        try:
            self._prompt()
            for item in self.inputs(stdin):
                if echo:
                    self.write(item.line if isinstance(item, Command) else item.text.replace("\n", "\n  "))
                if isinstance(item, Command):
                    if not self.control(item.line):
                        return
                else:
                    self.say(item.text)
                self._prompt()
        finally:
            if bracketed_paste:
                self.stdout.write(BRACKETED_PASTE_OFF)
            self.stdout.write("\n")
            self.stdout.flush()

    def inputs(self, stdin: Iterable[str]) -> Iterator[Text | Command]:
        """Lines → messages and commands: one line each, except pastes (bracketed, or /paste
        … `.`), which keep their blank lines."""
        lines = iter(stdin)
        for raw in lines:
            line = raw.rstrip("\r\n")
            if PASTE_START in line:
                yield Text(self._bracketed(line, lines))
            elif line.strip() == "/paste":
                if not self.echo:
                    self.write(texts.CONSOLE_PASTE)
                yield Text(self._until_end(lines))
            elif line.startswith("/"):
                yield Command(line)
            elif line.strip():
                yield Text(line)

    @staticmethod
    def _bracketed(first: str, lines: Iterator[str]) -> str:
        text = first.split(PASTE_START, 1)[1]
        while PASTE_END not in text:
            more = next(lines, None)
            if more is None:
                break
            text += "\n" + more.rstrip("\r\n")
        before, _, after = text.partition(PASTE_END)
        return (before + after).strip("\n")

    @staticmethod
    def _until_end(lines: Iterator[str]) -> str:
        collected = []
        for raw in lines:
            line = raw.rstrip("\r\n")
            if line.strip() in END_OF_PASTE:
                break
            collected.append(line)
        return "\n".join(collected).strip("\n")

    # --- messages -------------------------------------------------------------------------

    def say(self, text: str) -> None:
        if not text.strip():
            return
        try:
            msg = clean_message(PLATFORM, message_id=f"console-{uuid.uuid4().hex[:16]}", chat=self.chat,
                                sender=self.user, sender_name=self.name, text=text, sent_at=self.clock(),
                                chat_name=self.chat)
        except RejectedMessage as exc:
            self.write(texts.CONSOLE_NOT_SENT.format(reason=exc))
            return
        self.names.saw(msg)
        try:
            replies = self.app.feed(msg)
        except MessageNotRecorded as exc:
            self.write(texts.CONSOLE_NOT_SENT.format(reason=exc))
            return
        self.deliver(replies)
        self._announce_held()

    def deliver(self, outs: list[OutgoingText]) -> None:
        for out in outs:
            now = self.clock()
            if self._shown_clock is not None and now != self._shown_clock:
                self.write(texts.CONSOLE_CLOCK.format(time=self._time_text(now)))
            self._shown_clock = now
            body = out.text.replace("\n", "\n     ")
            self.write(texts.CONSOLE_BOT.format(where=self.names.where(out), text=body))
            picture = save_image(out, self.image_dir, now)
            if picture is not None:
                self.write(texts.CONSOLE_PICTURE.format(path=picture))
            if out.is_group:
                self._last_group_send = now
            self.app.report(out, SendResult.sent())

    def _announce_held(self) -> None:
        with self.app.ctx.sessions() as session:
            if not self.app.outbox.pending_count(session):
                return
        interval = self.app.ctx.settings.group_min_interval
        last = self._last_group_send
        if last is not None and self.clock() - last < interval:
            seconds = math.ceil((interval - (self.clock() - last)).total_seconds())
            self.write(texts.CONSOLE_HELD.format(seconds=seconds))
        else:
            self.write(texts.CONSOLE_HELD_LATER)

    # --- time -----------------------------------------------------------------------------

    def advance(self, target: datetime) -> None:
        """Let time pass to `target`: every scheduled post and summary on the way runs at its
        time, and held messages go out when the rate limit lets them."""
        now = self.clock()
        if target <= now:
            self.write(texts.CONSOLE_BACKWARDS.format(time=self._time_text(now)))
            return
        for moment in self._moments(now, target):
            self.clock.set(moment)
            self._run_jobs(moment)
        self.clock.set(target)
        self._run_jobs(target)

    def _moments(self, now: datetime, target: datetime) -> list[datetime]:
        """When something may happen in (now, target): scheduled posts, evening summaries, and
        the moment held group messages may go."""
        settings = self.app.ctx.settings
        moments = set(self._summary_times(now, target))
        with self.app.ctx.sessions() as session:
            for campaign in campaigns_opened_by(session, target):
                moments |= {due.at for due in broadcasts.schedule_of(campaign, settings) if now < due.at < target}
            if self.app.outbox.pending_count(session) and self._last_group_send is not None:
                release = self._last_group_send + settings.group_min_interval
                if now < release < target:
                    moments.add(release)
        return sorted(moments)

    def _summary_times(self, now: datetime, target: datetime) -> Iterator[datetime]:
        tz = self.app.ctx.tz
        at = time.fromisoformat(self.app.ctx.settings.evening_summary_at)
        day: date = now.astimezone(tz).date()
        while day <= target.astimezone(tz).date():
            moment = datetime.combine(day, at, tzinfo=tz)
            if now < moment <= target:
                yield moment
            day += timedelta(days=1)

    def _run_jobs(self, moment: datetime) -> None:
        ctx = self.app.ctx
        with ctx.sessions.begin() as session:
            broadcasts.run_due_posts(ctx, session, self.app.outbox, moment)
        if moment in set(self._summary_times(moment - timedelta(seconds=1), moment)):
            with ctx.sessions.begin() as session:
                summaries.run_evening_summaries(ctx, session, self.app.outbox)
        self.deliver(self.app.flush())

    # --- commands -------------------------------------------------------------------------

    def control(self, line: str) -> bool:
        """A /command; False to quit."""
        word, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if word == "/quit":
            return False
        if word == "/as" and rest:
            user, _, name = rest.partition(" ")
            self.user = user
            self.name = name.strip() or self.names.name(user)
        elif word == "/group" and rest:
            self._enter_group(rest)
        elif word == "/private":
            self.chat = None
        elif word == "/who":
            self.who()
        elif word == "/time" and rest:
            try:
                target = parse_when(rest, self.clock(), self.app.ctx.tz)
            except ValueError:
                self.write(texts.CONSOLE_BAD_TIME.format(text=rest))
            else:
                self.advance(target)
        elif word == "/time":
            self.write(texts.CONSOLE_START.format(time=self._time_text(self.clock())))
        else:
            self.write(texts.CONSOLE_HELP)
        return True

    def _enter_group(self, name: str) -> None:
        with self.app.ctx.sessions() as session:
            named = groups_named(session, name)
            group = named[0] if len(named) == 1 else None
            if group is None:
                known = [p for person in leaders_and_admins(session) for p in person.groups]
                self.write(texts.CONSOLE_UNKNOWN_GROUP.format(name=name, groups="、".join(known) or "-"))
                return
            self.chat = group.chat_id

    def who(self) -> None:
        """The leaders (with their groups), the admins, and the members of the current group."""
        with self.app.ctx.sessions() as session:
            for person in leaders_and_admins(session):
                if person.role == "leader":
                    self.write(texts.CONSOLE_WHO_LEADER.format(name=person.name, id=person.user_id,
                                                               groups="、".join(person.groups) or "-"))
                else:
                    self.write(texts.CONSOLE_WHO_ADMIN.format(name=person.name, id=person.user_id))
            if self.chat is not None:
                members = group_members(session, self.chat)
                group = self.names.name(self.chat)
                if members:
                    self.write(texts.CONSOLE_WHO_MEMBERS.format(group=group, names="、".join(
                        texts.CONSOLE_WHO_PERSON.format(name=m.name, id=m.user_id) for m in members)))
                else:
                    self.write(texts.CONSOLE_WHO_NOBODY.format(group=group))
        self.write(texts.CONSOLE_WHO_HINT)

    # --- output ---------------------------------------------------------------------------

    def write(self, line: str) -> None:
        self.stdout.write(line + "\n")

    def _prompt(self) -> None:
        where = self.names.name(self.chat) if self.chat else texts.CONSOLE_PRIVATE
        self.stdout.write(f"{self.name}@{where} {self._time_text(self.clock())}> ")
        self.stdout.flush()

    def _time_text(self, moment: datetime) -> str:
        local = moment.astimezone(self.app.ctx.tz)
        return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")

    def _first_group(self) -> str | None:
        with self.app.ctx.sessions() as session:
            group = first_bound_group(session)
            return group.chat_id if group else None


def run_console(app: App, stdin: TextIO, stdout: TextIO, group: str | None, user: str,
                clock: SettableClock | None = None, name: str | None = None, image_dir: Path = IMAGE_DIR) -> None:
    """The console on `app`; its clock must be a SettableClock (the sandbox's). Pictures the
    bot sends (the evening summary's) are saved in `image_dir`."""
    clock = clock or app.ctx.clock
    interactive = stdin.isatty() and stdout.isatty()
    Console(app, clock, stdout, group=group, user=user, name=name, image_dir=image_dir).run(
        stdin, bracketed_paste=interactive, echo=not stdin.isatty())
