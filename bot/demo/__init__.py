"""`jielong demo`: a day in one community group with two campaigns side by side, offline,
through the real pipeline."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import broadcasts, summaries
from bot.app import App
from bot.context import AppContext, SettableClock, load_settings
from bot.demo.script import EVENTS, FRUIT, GROUP, MEAT
from bot.events import IncomingMessage, OutgoingText, SendResult
from bot.transports.names import NameBook
from bot.transports.pictures import save_image
from storage.db import open_db
from storage.exports import KINDS, ExportFilter, export
from storage.lookup import group_for_chat
from storage.models import Campaign
from storage.setup import apply_setup, load_setup_text

TZ = ZoneInfo("Asia/Shanghai")


def run_demo(db_url: str | None, out_dir: Path, echo: Callable[[str], None]) -> None:
    started = time.perf_counter()
    tmp = None
    if db_url is None:
        tmp = tempfile.TemporaryDirectory(prefix="jielong-demo-")
        db_url = f"sqlite:///{Path(tmp.name) / 'demo.db'}"
    sessions = open_db(db_url)
    demo = resources.files("bot.demo")
    # The example set-up, and a second campaign in the same group (only [[campaigns]] tables).
    setup = demo.joinpath("setup.toml").read_text(encoding="utf-8") + "\n" + \
        demo.joinpath("meat.toml").read_text(encoding="utf-8")
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(setup))
    clock = SettableClock(datetime(2026, 11, 25, 8, 0, tzinfo=TZ))
    with sessions() as session:
        settings = load_settings(session)  # the example set-up's: the defaults a leader would have
    app = App(AppContext(sessions, clock, settings))
    names = NameBook(sessions)
    for _when, _kind, who, name, _text in EVENTS:
        names.learn(who, name)  # the script's cast, so a summary to the admin names them before they speak
    echo(f"jielong demo — {GROUP}，数据库 {db_url}\n")
    for n, (when, kind, who, name, text) in enumerate(EVENTS, start=1):
        now = datetime.fromisoformat(when).replace(tzinfo=TZ)
        clock.set(now)
        _show_event(echo, now, kind, name, text, who)
        if kind in ("group", "private"):
            msg = IncomingMessage("demo", f"demo-{n}", GROUP if kind == "group" else None, who, name, text, now, GROUP if kind == "group" else None)
            names.saw(msg)
            out = app.feed(msg)
        else:
            out = _scheduled(app, kind, who, text)
        _show_bot(app, names, echo, out, out_dir)
        # Whatever the rate limit held back goes out a little later, merged.
        clock.set(now + timedelta(minutes=1))
        _show_bot(app, names, echo, app.flush(), out_dir)
    _export_all(sessions, out_dir, echo)
    echo(f"\n用时 {time.perf_counter() - started:.1f} 秒")
    if tmp is not None:
        sessions.kw["bind"].dispose()
        tmp.cleanup()


def _scheduled(app: App, kind: str, campaign_id: str, what: str) -> list[OutgoingText]:
    with app.ctx.sessions.begin() as session:
        if kind == "post":
            campaign = session.get(Campaign, campaign_id)
            group = group_for_chat(session, GROUP)
            broadcasts.run_post(app.ctx, session, app.outbox, campaign, group, what)
        elif kind == "summary":
            summaries.run_evening_summaries(app.ctx, session, app.outbox)
    return app.flush()


TITLES = {FRUIT: "周三水果团", MEAT: "周三肉菜团"}


def _show_event(echo, now: datetime, kind: str, name: str, text: str, who: str = "") -> None:
    stamp = now.strftime("%m-%d %H:%M")
    if kind == "group":
        body = text if "\n" not in text else "\n    " + text.replace("\n", "\n    ")
        echo(f"{stamp} {name}（群）: {body}")
    elif kind == "private":
        echo(f"{stamp} {name} → 机器人（私聊）: {text}")
    elif kind == "post":
        post = {'open': '开团帖', 'reminder': '截单提醒', 'close': '截单', 'pickup': '到货通知'}[text]
        echo(f"{stamp} ⏰ 定时任务：{TITLES.get(who, who)}{post}")
    else:
        echo(f"{stamp} ⏰ 定时任务：晚间小结")


def _show_bot(app: App, names: NameBook, echo, out: list[OutgoingText], out_dir: Path) -> None:
    for msg in out:
        where = "群" if msg.is_group else names.where(msg)
        body = msg.text.replace("\n", "\n      ")
        echo(f"   🤖 → {where}: {body}")
        picture = save_image(msg, out_dir, app.ctx.now())
        if picture is not None:
            echo(f"      🖼 附图：{picture}")
        app.report(msg, SendResult.sent())


def _export_all(sessions, out_dir: Path, echo) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    echo(f"\n导出 CSV 到 {out_dir}/：")
    with sessions() as session:
        for kind in KINDS:
            path = out_dir / f"{kind}.csv"
            with open(path, "w", encoding="utf-8", newline="") as out:
                rows = export(session, kind, out, ExportFilter(), TZ)
            echo(f"  {path}（{rows} 行）")
