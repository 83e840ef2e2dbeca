"""The log replays to the same orders, always (hypothesis): one process fed a whole conversation,
a process restarted cold at any message (new App, chain cache cleared), and `jielong rebuild`
of the first database hold identical orders, numbers, items, rates, marks and adjustments.

Conversations mix two campaigns in one group (and a chain that fits both, put to the leader),
members appending to the latest copy or to an older one at the same time, editing and
cancelling their lines, free text, and the leader's 核销, 已付, 删单, 改单, 缺货 and 归团.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from importlib import resources

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App, rebuild
from bot.context import AppContext, SettableClock, Settings
from bot.events import IncomingMessage, SendResult
from storage import chains
from storage.db import open_db
from storage.models import Adjustment, Chain, EntryRow, Group, OrderItem
from storage.setup import apply_setup, load_setup_text
from tests.conftest import GROUP, at, demo_setup_text

SETUP = demo_setup_text() + "\n" + resources.files("bot.demo").joinpath("meat.toml").read_text(encoding="utf-8")
HEADS = ["#接龙\n周三水果团\n\n", "#接龙\n周三肉菜团\n\n", "#接龙\n周末团购\n\n"]
PRODUCTS = [["西瓜", "阳光玫瑰", "砂糖橘"], ["五花肉", "排骨", "青菜"], ["西瓜", "五花肉", "一份"]]
MEMBERS = [("wxid_wang", "王姐", "3栋502"), ("wxid_zhang", "张叔", "5栋1201"), ("wxid_liu", "刘姐", "6栋302"),
           ("wxid_chen", "小陈", "2栋101"), ("wxid_zhao", "赵哥", "9栋803")]
LEADER = "wxid_lijie"

op = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 2), st.integers(0, 4), st.integers(0, 2), st.integers(1, 3),
              st.integers(0, 2)),  # chain, member, product, qty, how many versions back it was copied from
    st.tuples(st.just("edit"), st.integers(0, 2), st.integers(0, 4), st.integers(1, 3)),
    st.tuples(st.just("cancel"), st.integers(0, 2), st.integers(0, 4)),
    st.tuples(st.just("command"), st.sampled_from(["核销", "已付", "删单", "改单", "缺货", "归团"]), st.integers(0, 1),
              st.integers(1, 5)),
    st.tuples(st.just("free"), st.integers(0, 4), st.integers(0, 1)),
)


@dataclass
class Message:
    chat: str | None
    sender: str
    name: str
    text: str


def conversation(ops: list[tuple]) -> list[Message]:
    versions: list[list[list[tuple[str, str]]]] = [[[]] for _ in HEADS]  # chain → versions → (author, line)
    out: list[Message] = []
    for kind, *args in ops:
        if kind == "append":
            c, m, p, qty, back = args
            lines = list(versions[c][max(0, len(versions[c]) - 1 - back)])
            member = MEMBERS[m]
            lines.append((member[0], f"{member[2]} {member[1]} {PRODUCTS[c][p]}{qty}"))
            versions[c].append(lines)
            out.append(Message(GROUP, member[0], member[1], _text(c, lines)))
        elif kind in ("edit", "cancel"):
            c, m = args[0], args[1]
            lines = list(versions[c][-1])
            mine = [i for i, (author, line) in enumerate(lines) if author == MEMBERS[m][0] and "取消" not in line]
            if not mine:
                continue
            author, line = lines[mine[-1]]
            lines[mine[-1]] = (author, line[:-1] + str(args[2]) if kind == "edit" else line + " 取消")
            versions[c].append(lines)
            out.append(Message(GROUP, author, MEMBERS[m][1], _text(c, lines)))
        elif kind == "command":
            word, campaign, number = args
            name = ("水果", "肉菜")[campaign]
            text = {"归团": f"归团 {name}", "缺货": f"缺货 {name} {PRODUCTS[campaign][0]} 1",
                    "改单": f"改单 {name} {number} {MEMBERS[0][2]} 王姐 {PRODUCTS[campaign][1]}2"}.get(
                word, f"{word} {name} {number}")
            out.append(Message(None, LEADER, "李姐", text))
        else:
            m, c = args
            out.append(Message(GROUP, MEMBERS[m][0], MEMBERS[m][1], f"+1 {PRODUCTS[c][0]}"))
    return out


def _text(chain: int, lines: list[tuple[str, str]]) -> str:
    return HEADS[chain] + "\n".join(f"{i}. {line}" for i, (_author, line) in enumerate(lines, start=1))


def fresh(path) -> tuple[App, SettableClock]:
    sessions = open_db(f"sqlite:///{path}")
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(SETUP), at=at(20, 0))
    clock = SettableClock(at(25, 9))
    return App(AppContext(sessions, clock, Settings())), clock


def feed(app: App, clock: SettableClock, messages: list[Message], start: int = 0) -> None:
    for n, msg in enumerate(messages[start:], start=start):
        when = at(25, 9) + timedelta(minutes=7 * n)
        clock.set(when)
        for out in app.feed(IncomingMessage("fake", f"m{n}", msg.chat, msg.sender, msg.name, msg.text, when, msg.chat)):
            app.report(out, SendResult.sent())


def orders(app: App) -> dict[str, list[tuple]]:
    with app.ctx.sessions() as session:
        entries = session.execute(
            select(Group.name, Chain.campaign_id, Chain.kind, EntryRow.author_id, EntryRow.raw, EntryRow.status,
                   EntryRow.missing, EntryRow.seq, EntryRow.order_no, EntryRow.paid, EntryRow.paid_at,
                   EntryRow.picked_up_at, EntryRow.first_seen)
            .join(Chain, Chain.id == EntryRow.chain_id).join(Group, Group.id == Chain.group_id)
            .order_by(EntryRow.id)).all()
        items = session.execute(
            select(OrderItem.campaign_id, OrderItem.member_id, OrderItem.sku, OrderItem.text, OrderItem.qty,
                   OrderItem.unit_price, OrderItem.amount, OrderItem.commission_rate, OrderItem.status)
            .order_by(OrderItem.id)).all()
        adjustments = session.execute(select(Adjustment.leader_id, Adjustment.amount, Adjustment.at)
                                      .order_by(Adjustment.id)).all()
        held = session.execute(select(Chain.chain_key).where(Chain.kind == "held")).all()
    return {"entries": [tuple(map(str, r)) for r in entries], "items": [tuple(map(str, r)) for r in items],
            "adjustments": [tuple(map(str, r)) for r in adjustments], "held": sorted(map(str, held))}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=24), cut=st.floats(0, 1))
def test_one_process_a_cold_restart_and_a_rebuild_give_the_same_orders(tmp_path_factory, ops, cut):
    messages = conversation(ops)
    restart_at = int(cut * len(messages))
    folder = tmp_path_factory.mktemp("replay")

    one, clock = fresh(folder / "one.db")
    feed(one, clock, messages)
    expected = orders(one)

    first, clock = fresh(folder / "restarted.db")
    feed(first, clock, messages[:restart_at])
    chains._chains.clear()  # a new process: nothing of the chains in memory
    again = App(AppContext(first.ctx.sessions, clock, Settings()))
    feed(again, clock, messages, start=restart_at)
    assert orders(again) == expected

    rebuild(one.ctx)
    assert orders(one) == expected
    for app in (one, first):
        app.ctx.sessions.kw["bind"].dispose()


def test_the_generator_makes_real_conversations():
    ops = [("append", 0, 0, 0, 2, 0), ("append", 0, 1, 1, 1, 0), ("append", 0, 2, 2, 1, 1),
           ("edit", 0, 0, 3), ("cancel", 0, 1), ("command", "核销", 0, 1), ("free", 3, 1)]
    texts = [m.text for m in conversation(ops)]
    assert texts[2] == "#接龙\n周三水果团\n\n1. 3栋502 王姐 西瓜2\n2. 6栋302 刘姐 砂糖橘1"  # copied the older version
    assert texts[3].endswith("1. 3栋502 王姐 西瓜3\n2. 6栋302 刘姐 砂糖橘1")
    assert texts[4:] == ["核销 水果 1", "+1 五花肉"]  # 张叔 had no line in the latest copy to cancel
