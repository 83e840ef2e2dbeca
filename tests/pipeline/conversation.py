"""A platform evening for pipeline tests, generated (deterministic per seed), and a snapshot
of what the pipeline produced, to compare two runs.

The generator is the adversarial review's (its appendix): three groups of two leaders;
members append lines, pairs copy the same version at once and then one posts the merge,
authors edit and cancel their own lines, free text, 我的订单, leaders' private 汇总/明细/未取,
chatter; it runs past the deadline. Functions here run in child processes too (spawn), so
they take and return plain values.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.events import IncomingMessage
from storage.models import Chain, EntryEvent, EntryRow, Group, MessageLog, OrderItem
from storage.models import Outbox as OutboxRow

TZ = ZoneInfo("Asia/Shanghai")
GROUPS = {"阳光小区3期团购群": "wxid_lijie", "阳光二群": "wxid_lijie", "翠苑二区邻里群": "wxid_laozhou"}
NAMES = ["王姐", "李哥", "张叔", "刘阿姨", "小陈", "赵哥", "Amy", "孙阿姨", "钱多多", "周周", "老马", "阿芳"]
ITEMS = [("西瓜", "个"), ("麒麟西瓜", "个"), ("阳光玫瑰", "串"), ("葡萄", "串"), ("砂糖橘", "箱"), ("鸡蛋", "盒"),
         ("猪肉馅", "斤"), ("大米", "袋")]
HEADER = "#接龙\n周三水果团\n例 3栋502 王姐 西瓜1个\n\n"


def setup_text(stock: int | None = 30) -> str:
    """The demo set-up, with a second group under 李姐 and a stock of 30 on 阳光玫瑰 (None: no
    limit — then which member gets the last units cannot depend on the order in which
    different groups' messages are applied)."""
    text = resources.files("bot.demo").joinpath("setup.toml").read_text(encoding="utf-8")
    text = text.replace('groups = ["阳光小区3期团购群"]', 'groups = ["阳光小区3期团购群", "阳光二群"]')
    return text.replace("stock = 3\n", f"stock = {stock}\n" if stock is not None else "")


def generate(steps: int, seed: int, start: datetime | None = None) -> list[IncomingMessage]:
    rng = random.Random(seed)
    t = start or datetime(2026, 11, 25, 9, 5, tzinfo=TZ)
    state: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUPS}
    out: list[IncomingMessage] = []
    no = 0

    def emit(chat: str | None, sender: str, name: str, text: str) -> None:
        nonlocal t
        t += timedelta(seconds=rng.randint(1, 40))
        out.append(IncomingMessage("gen", f"m{len(out) + 1}", chat, sender, name, text, t, chat))

    def body(lines: list[tuple[str, str]]) -> str:
        return HEADER + "\n".join(f"{i}. {line}" for i, (_author, line) in enumerate(lines, 1))

    for step in range(steps):
        group = rng.choice(list(GROUPS))
        lines = state[group]
        r = rng.random()
        if r < 0.6 or not lines:
            no += 1
            who, name = f"wxid_m{no}", f"{rng.choice(NAMES)}{no}"
            item, unit = rng.choice(ITEMS)
            line = f"{rng.randint(1, 30)}栋{rng.randint(101, 2802)} {name} {item}{rng.randint(1, 3)}{unit}"
            if rng.random() < 0.15 and lines:  # two members copy the same version, then one posts the merge
                no += 1
                who2, name2 = f"wxid_m{no}", f"{rng.choice(NAMES)}{no}"
                line2 = f"{rng.randint(1, 30)}栋{rng.randint(101, 2802)} {name2} 西瓜1个"
                emit(group, who, name, body([*lines, (who, line)]))
                emit(group, who2, name2, body([*lines, (who2, line2)]))
                lines.extend([(who, line), (who2, line2)])
                emit(group, who, name, body(lines))
            else:
                lines.append((who, line))
                emit(group, who, name, body(lines))
        elif r < 0.7:  # the author edits the quantity
            i = rng.randrange(len(lines))
            who, line = lines[i]
            new = re.sub(r"(\d)(个|串|箱|盒|斤|袋)$", lambda m: f"{int(m.group(1)) % 3 + 1}{m.group(2)}", line)
            if new != line:
                lines[i] = (who, new)
                emit(group, who, line.split()[1], body(lines))
        elif r < 0.75:  # the author cancels
            i = rng.randrange(len(lines))
            who, line = lines[i]
            if "取消" not in line:
                lines[i] = (who, line + " 取消")
                emit(group, who, line.split()[1], body(lines))
        elif r < 0.8:
            emit(group, f"wxid_free{step}", f"路人{step}", "+1 西瓜")
        elif r < 0.85:
            who, line = rng.choice(lines)
            emit(group, who, line.split()[1], "我的订单")
        elif r < 0.9:
            emit(None, GROUPS[group], "团长", rng.choice(["汇总", "明细", "未取"]))
        else:
            emit(group, "wxid_chat", "闲聊", rng.choice(["今天几点截单？", "西瓜甜吗", "好的", "[强]"]))
    return out


def snapshot(sessions: sessionmaker[Session]) -> dict[str, list]:
    """What the pipeline produced, without row ids or write times: entries, items, history,
    each message's state, and what the bot queued to say."""
    with sessions() as session:
        entries = session.execute(
            select(Group.name, EntryRow.entry_key, EntryRow.author_id, EntryRow.seq, EntryRow.raw, EntryRow.status,
                   EntryRow.missing, EntryRow.picked_up_at.is_not(None))
            .join(Chain, Chain.id == EntryRow.chain_id).join(Group, Group.id == Chain.group_id)).all()
        items = session.execute(
            select(EntryRow.entry_key, OrderItem.sku, OrderItem.text, OrderItem.qty, OrderItem.status,
                   OrderItem.member_id, OrderItem.amount)
            .join(EntryRow, EntryRow.id == OrderItem.entry_id)).all()
        events = session.execute(
            select(EntryRow.entry_key, EntryEvent.kind, EntryEvent.actor_id, MessageLog.message_id)
            .join(EntryRow, EntryRow.id == EntryEvent.entry_id)
            .join(MessageLog, MessageLog.id == EntryEvent.message_id, isouter=True)).all()
        states = session.execute(select(MessageLog.message_id, MessageLog.state)).all()
        said = session.execute(select(OutboxRow.to, OutboxRow.kind, OutboxRow.dedupe_key, OutboxRow.text)).all()
    return {name: sorted(tuple(str(v) for v in row) for row in rows)
            for name, rows in (("entries", entries), ("items", items), ("events", events), ("states", states),
                               ("said", said))}


def per_conversation(snap: dict) -> dict:
    """What must not depend on how different conversations' messages interleave: everything
    but the text of answers to private commands (an answer counts the orders as they are when
    the command is applied)."""
    return {**snap, "said": [row if row[1] != "command" else row[:2] for row in snap["said"]]}


def count(sessions: sessionmaker[Session], model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def delivered(app, out: list) -> list:
    """What a transport does with what the app hands it: send it and report it sent (an
    unreported claim would expire and be sent again)."""
    from bot.events import SendResult

    for message in out:
        app.report(message, SendResult.sent())
    return out
