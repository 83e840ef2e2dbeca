"""The console as a sandbox: a simulated clock that runs the scheduler's posts and summaries
as time passes, pasted chains kept whole, /who, held messages announced, names for ids."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot import texts
from bot.cli import main
from bot.transports.console import (
    PASTE_END,
    PASTE_START,
    Console,
    parse_when,
    run_console,
    sandbox_start,
)
from storage.models import MessageLog
from tests.conftest import GROUP, TZ, at

CHAIN_1 = ["#接龙", "周三水果团", "", "1. 3栋502 王姐 西瓜2个 鸭蛋1盒"]
CHAIN_2 = CHAIN_1 + ["2. 5栋1201 张叔 砂糖橘1箱"]


def paste(lines: list[str]) -> list[str]:
    return ["/paste", *lines, "."]


def console(app, clock, script: list[str], **kw) -> str:
    out = io.StringIO()
    run_console(app, io.StringIO("\n".join(script) + "\n"), out, group=kw.pop("group", GROUP),
                user=kw.pop("user", "wxid_x"), clock=clock, **kw)
    return out.getvalue()


def in_order(text: str, *parts: str) -> None:
    """Each part appears, after the one before it."""
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{part!r} not found after position {position}:\n{text[position:position + 2000]}"
        position = found + len(part)


def test_a_day_on_the_simulated_clock(app, clock) -> None:
    """The sandbox transcript: the campaign post at the start, orders, held replies announced
    and released, then the reminder, the evening summary, the close and the pickup notice
    each at its own time as /time moves the clock."""
    clock.set(at(25, 9))
    shown = console(app, clock, [
        "/as wxid_wang 王姐", *paste(CHAIN_1),
        "/as wxid_zhang 张叔", *paste(CHAIN_2),
        "/time +1m",
        "/time 21:45",
        "/private", "/as wxid_lijie", "汇总",
        "/time 2026-11-26T16:30",
        "/quit",
    ])
    in_order(
        shown,
        texts.CONSOLE_START.format(time="2026-11-25 09:00"),
        "  🤖 [阳光小区3期团购群] #接龙\n     周三水果团",  # the campaign post, due at the start
        "王姐@阳光小区3期团购群 2026-11-25 09:00> #接龙",
        texts.CONSOLE_HELD.format(seconds=30),  # the post went out at 09:00: replies wait 30 s
        "/time +1m",
        "⏰ 2026-11-25 09:00:30",
        "[阳光小区3期团购群] @王姐 没认出“鸭蛋1盒”",
        "⏰ 2026-11-25 21:00",
        "[阳光小区3期团购群] " + texts.REMINDER.format(lead="1小时", deadline="22:00", orders=2),
        "⏰ 2026-11-25 21:30",
        "[私聊 李姐] 今日小结（11月25日）",
        "李姐@私聊 2026-11-25 21:45> 汇总",
        "[私聊 李姐] 【周三水果团】汇总（阳光小区3期团购群）\n     麒麟西瓜：2个，30元",
        "⏰ 2026-11-25 22:00",
        "[阳光小区3期团购群] 【周三水果团】已截单",
        "⏰ 2026-11-26 16:00",
        "[阳光小区3期团购群] 【周三水果团】到货啦！",
        "李姐@私聊 2026-11-26 16:30> /quit",
    )
    assert "wxid_lijie]" not in shown and "已过截单时间" not in shown
    assert shown.count("还有1小时截单") == 2  # one per group, once
    assert clock() == at(26, 16, 30)


@pytest.mark.parametrize("how", ["/paste", "bracketed"])
def test_a_pasted_chain_keeps_its_blank_lines(app, clock, how) -> None:
    clock.set(at(25, 10))
    if how == "/paste":
        script = ["/as wxid_zhang 张叔", *paste(CHAIN_2), "/quit"]
    else:
        script = ["/as wxid_zhang 张叔", PASTE_START + CHAIN_2[0], *CHAIN_2[1:-1], CHAIN_2[-1] + PASTE_END, "/quit"]
    console(app, clock, script)
    with app.ctx.sessions() as session:
        texts_logged = session.scalars(select(MessageLog.text).where(MessageLog.platform == "console")).all()
    assert texts_logged == ["\n".join(CHAIN_2)]


def test_single_lines_are_messages_and_blank_lines_are_ignored(app, clock) -> None:
    clock.set(at(25, 10))
    console(app, clock, ["/private", "/as wxid_lijie", "", "汇总", "", "明细", "/quit"])
    with app.ctx.sessions() as session:
        assert session.scalars(select(MessageLog.text).order_by(MessageLog.id)).all() == ["汇总", "明细"]


def test_who_lists_leaders_admins_and_the_members_seen(app, clock) -> None:
    clock.set(at(25, 10))
    shown = console(app, clock, ["/who", "/as wxid_wang 王姐", *paste(CHAIN_1), "/who", "/quit"])
    first, second = shown.split("/who\n")[1], shown.split("/who\n")[2]
    assert texts.CONSOLE_WHO_LEADER.format(name="李姐", id="wxid_lijie", groups=GROUP) in first
    assert texts.CONSOLE_WHO_LEADER.format(name="老周", id="wxid_laozhou", groups="翠苑二区邻里群") in first
    assert texts.CONSOLE_WHO_ADMIN.format(name="wxid_admin", id="wxid_admin") in first
    assert texts.CONSOLE_WHO_NOBODY.format(group=GROUP) in first
    assert texts.CONSOLE_WHO_MEMBERS.format(group=GROUP, names="王姐（wxid_wang）") in second


def test_as_without_a_name_takes_the_known_one(app, clock) -> None:
    clock.set(at(25, 10))
    shown = console(app, clock, ["/as wxid_lijie", "/quit"])
    assert "李姐@阳光小区3期团购群 2026-11-25 10:00> /quit" in shown


def test_time_cannot_go_back_and_bad_times_are_explained(app, clock) -> None:
    clock.set(at(25, 10))
    shown = console(app, clock, ["/time 2026-11-24T10:00", "/time soon", "/time +2x", "/quit"])
    assert texts.CONSOLE_BACKWARDS.format(time="2026-11-25 10:00") in shown
    assert texts.CONSOLE_BAD_TIME.format(text="soon") in shown and texts.CONSOLE_BAD_TIME.format(text="+2x") in shown
    assert clock() == at(25, 10)


def test_an_unknown_group_is_named(app, clock) -> None:
    clock.set(at(25, 10))
    shown = console(app, clock, ["/group 不存在的群", "/quit"])
    assert "没有叫“不存在的群”的群" in shown and GROUP in shown


NOW = at(25, 10, 15)


@pytest.mark.parametrize(("text", "expected"), [
    ("+2h", NOW + timedelta(hours=2)),
    ("+30s", NOW + timedelta(seconds=30)),
    ("+1h30m", NOW + timedelta(hours=1, minutes=30)),
    ("+1d", NOW + timedelta(days=1)),
    ("21:30", at(25, 21, 30)),
    ("9:00", at(26, 9)),  # already past today: tomorrow's
    ("10:15", at(26, 10, 15)),  # now is not "later"
    ("2026-11-26T16:00", at(26, 16)),
    ("2026-11-26 16:00", at(26, 16)),
    ("2026-11-26T16:00:00+00:00", datetime(2026, 11, 26, 16, tzinfo=UTC)),
])
def test_parse_when(text, expected) -> None:
    assert parse_when(text, NOW, TZ) == expected


@pytest.mark.parametrize("text", ["soon", "+", "+2x", "25:00", "2026-13-01", "-1h"])
def test_parse_when_refuses(text) -> None:
    with pytest.raises(ValueError):
        parse_when(text, NOW, TZ)


@pytest.mark.parametrize(("now", "expected"), [
    (at(25, 10), at(25, 10)),  # a campaign is running: now
    (at(24, 12), at(25, 9)),  # before it opens: its opening
    (datetime(2026, 12, 20, 12, tzinfo=TZ), at(25, 9)),  # after it: the last one's opening
])
def test_the_sandbox_starts_inside_a_campaign(app, now, expected) -> None:
    assert sandbox_start(app, now) == expected


def test_the_console_command_is_a_sandbox_on_the_example_set_up(tmp_path) -> None:
    script = "\n".join(["/as wxid_wang 王姐", *paste(CHAIN_1), "/time +5m", "/quit"]) + "\n"
    result = CliRunner().invoke(main, ["console"], input=script)
    assert result.exit_code == 0, result.output
    in_order(result.stdout, "沙盒时间 2026-11-25 09:00", "[阳光小区3期团购群] #接龙", "@王姐 没认出“鸭蛋1盒”")
    assert "已过截单时间" not in result.stdout


def test_the_console_command_starts_at_the_given_time_on_a_given_database(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    from tests.conftest import demo_setup_text

    setup = tmp_path / "setup.toml"
    setup.write_text(demo_setup_text(), encoding="utf-8")
    result = CliRunner().invoke(main, ["console", "--db", db, "--setup", str(setup), "--at", "2026-11-25T21:59",
                                       "--as", "wxid_lijie"], input="/time +2m\n/quit\n")
    assert result.exit_code == 0, result.output
    in_order(result.stdout, "沙盒时间 2026-11-25 21:59", "⏰ 2026-11-25 22:00", "已截单")
    assert "what you type is stored there" in result.stderr
    again = CliRunner().invoke(main, ["console", "--db", db, "--at", "yesterday"], input="/quit\n")
    assert again.exit_code == 1 and "--at: 'yesterday' is not a time" in again.output


def test_console_object_reads_inputs() -> None:
    """Input splitting on its own: commands, single lines, /paste … ., bracketed pastes."""
    lines = ["/who", "  ", "汇总", "/paste", "a", "", "b", "/send", PASTE_START + "x", "", "y" + PASTE_END, "/quit"]
    items = list(Console.inputs(_Bare(), iter(lines)))
    assert [(type(i).__name__, getattr(i, "text", getattr(i, "line", None))) for i in items] == [
        ("Command", "/who"), ("Text", "汇总"), ("Text", "a\n\nb"), ("Text", "x\n\ny"), ("Command", "/quit")]


class _Bare:
    """Enough of a Console for `inputs` (it only writes the /paste hint)."""

    echo = True
    _bracketed = staticmethod(Console._bracketed)
    _until_end = staticmethod(Console._until_end)

    def write(self, line: str) -> None:
        pass


def test_starting_in_an_unknown_group_says_so_and_stays_in_the_first(app, clock) -> None:
    clock.set(at(25, 10))
    shown = console(app, clock, ["/quit"], group="阳光小区")
    assert shown.startswith("没有叫“阳光小区”的群") and f"wxid_x@{GROUP} 2026-11-25 10:00> /quit" in shown
