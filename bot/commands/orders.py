"""Leader commands on single orders (private chat): 核销, 已付, 改单, 删单, 未取, 未付, 归团.

An order is named by its number (stable: given when first seen, shown in 明细 and in the
group's lists), or for 核销/已付 by the member's name or room. A word that names more than
one order (two members called 王姐, number 5 in two groups, a member called "5") changes
nothing: the leader gets the candidates and writes it more precisely (U4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import texts
from bot.campaigns import CampaignNames
from bot.commands.arguments import Word, Words
from bot.commands.leader import campaign_groups_of, numbers_text
from bot.commands.registry import ANY, EACH, Call, command
from bot.handlers.chain import tell_members
from bot.handlers.common import chain_text, items_text, message_of, money
from bot.handlers.held import release_chain
from parsers import ChainParser
from parsers.normalize import fold_key
from storage.chains import held_chains
from storage.corrections import mark_paid, mark_picked_up
from storage.lookup import campaigns_for_group, catalog_of
from storage.models import Campaign, EntryRow, EventKind, Group
from storage.orders import ProblemKind, cancel_entry, update_entry
from storage.reports import leader_entries, order_lines, unpicked


@dataclass
class Order:
    """An order a leader's words may name: the entry, its campaign and its group."""

    entry: EntryRow
    campaign: Campaign
    group: Group

    @property
    def owner(self) -> tuple[str, int, str]:
        return self.campaign.id, self.group.id, self.entry.author_id


class Ambiguous(Exception):
    def __init__(self, word: str, orders: list[Order]):
        super().__init__(word)
        self.word, self.orders = word, orders


def _take_groups(call: Call, words: Words, needed: int) -> list[Group]:
    """An optional group name before the other arguments ("改单 阳光小区3期团购群 3 …"), taken
    only when the arguments the command needs still follow it."""
    for group in sorted(call.groups, key=lambda g: -len(g.name)):
        if any(words.take_text(name, leave=needed) for name in dict.fromkeys((group.name, group.chat_id))):
            return [group]
    return call.groups


def _orders(call: Call, groups: list[Group]) -> list[Order]:
    by_id = {g.id: g for g in groups}
    found = []
    for campaign in call.campaigns:
        ids = [g.id for g in campaign_groups_of(call, campaign) if g.id in by_id]
        if ids:
            found += [Order(entry, campaign, by_id[group_id])
                      for entry, group_id in leader_entries(call.session, campaign.id, ids)]
    return found


def _named(word: str, orders: list[Order], by_name: bool) -> list[Order]:
    """The orders a word names: by number, or (核销, 已付) by nickname, display name or room.
    Several orders of one member named by their name are that member's: all of them."""
    key = fold_key(word)
    numbered = [o for o in orders if word.isdigit() and o.entry.order_no == int(word)]
    named = [o for o in orders if by_name and key and key in {
        fold_key(o.entry.member or ""), fold_key(o.entry.author_name or ""), fold_key(o.entry.address or "")}]
    hits = list({id(o): o for o in (*numbered, *named)}.values())
    if len(hits) <= 1 or (not numbered and len({o.owner for o in hits}) == 1):
        return hits
    raise Ambiguous(word, hits)


def _ambiguous_reply(call: Call, command_name: str, problems: list[Ambiguous]) -> str:
    lines = []
    for problem in problems:
        orders = problem.orders
        campaigns = len({o.campaign.id for o in orders}) > 1
        groups = len({o.group.id for o in orders}) > 1
        items = _items_by_entry(call, orders)
        lines.append(texts.AMBIGUOUS_ORDER.format(what=problem.word, count=len(orders)))
        lines += [texts.CANDIDATE_LINE.format(
            where=_where(o, campaigns, groups), number=o.entry.order_no, member=o.entry.member or o.entry.author_name,
            address=f"（{o.entry.address}）" if o.entry.address else "", items=items.get(o.entry.id, "")) for o in orders]
    first = problems[0].orders[0]
    example = " ".join(x for x in (command_name, _where(first, len(call.campaigns) > 1, len(call.groups) > 1).strip(),
                                   str(first.entry.order_no)) if x)
    lines.append(texts.AMBIGUOUS_HINT.format(example=example))
    return "\n".join(lines)


def _where(order: Order, campaigns: bool, groups: bool) -> str:
    parts = ([order.campaign.title] if campaigns else []) + ([order.group.name] if groups else [])
    return " ".join(parts) + " " if parts else ""


def _items_by_entry(call: Call, orders: list[Order]) -> dict[int, str]:
    out: dict[int, str] = {}
    for campaign_id in {o.campaign.id for o in orders}:
        campaign = next(o.campaign for o in orders if o.campaign.id == campaign_id)
        for line in order_lines(call.session, campaign.id, sorted({o.group.id for o in orders})):
            out[line.entry_id] = items_text(line.items)
    return out


def _mark(call: Call, command_name: str, mark: Callable[[list[int]], int], done: str) -> str:
    """核销 / 已付: each word names orders; all are marked, or (one word is ambiguous) none."""
    groups = _take_groups(call, call.words, 1)
    orders = _orders(call, groups)
    chosen: list[Order] = []
    missing, ambiguous = [], []
    for word in call.words.left():
        try:
            hits = _named(word.text, orders, by_name=True)
        except Ambiguous as problem:
            ambiguous.append(problem)
            continue
        if hits:
            chosen += [o for o in hits if o not in chosen]
        else:
            missing.append(word.text)
    if ambiguous:
        return _ambiguous_reply(call, command_name, ambiguous)
    mark([o.entry.id for o in chosen])
    reply = done.format(names="、".join(f"{o.entry.order_no}号{o.entry.member or o.entry.author_name}" for o in chosen)) \
        if chosen else ""
    if missing:
        reply = (reply + "\n" if reply else "") + texts.PICK_NOT_FOUND.format(what="、".join(missing))
    return reply


@command("核销", role="leader", usage="核销 [团名] [群名] 订单号/昵称/房号…", help="标记已取货", min_args=1, campaign=ANY)
def pickup_command(call: Call) -> str:
    return _mark(call, "核销", lambda ids: mark_picked_up(call.session, ids, call.at), texts.PICKED)


@command("已付", role="leader", usage="已付 [团名] [群名] 订单号/昵称/房号…", help="标记已收款", min_args=1,
         campaign=ANY)
def paid_command(call: Call) -> str:
    return _mark(call, "已付", lambda ids: mark_paid(call.session, ids, call.at), texts.PAID_MARKED)


def _one_order(call: Call, command_name: str, usage: str, needed: int) -> tuple[Order | None, str | None, Word | None]:
    """The order an edit or deletion names by its number (after an optional group name)."""
    groups = _take_groups(call, call.words, needed)
    if len(call.words) < needed or not call.words.peek().text.isdigit():
        return None, texts.USAGE.format(usage=usage), None
    number = call.words.take()
    try:
        hits = _named(number.text, _orders(call, groups), by_name=False)
    except Ambiguous as problem:
        return None, _ambiguous_reply(call, command_name, [problem]), None
    if not hits:
        return None, texts.ENTRY_NOT_FOUND.format(seq=number.text), None
    return hits[0], None, number


EDIT_USAGE = "改单 [团名] [群名] 订单号 新内容"


@command("改单", role="leader", usage=EDIT_USAGE, help="替团员改一单（留底）", min_args=2, campaign=ANY)
def edit_command(call: Call) -> str:
    order, error, number = _one_order(call, "改单", EDIT_USAGE, 2)
    if order is None:
        return error
    content = call.words.rest_after(number)
    if not content:
        return texts.USAGE.format(usage=EDIT_USAGE)
    entry = order.entry
    parsed = ChainParser(catalog_of(call.session, order.campaign)).parse(f"#接龙\n{entry.seq}. {content}", native=False)
    if not parsed.entries:
        return texts.USAGE.format(usage=EDIT_USAGE)
    outcome = update_entry(call.session, entry, parsed.entries[0], actor_id=call.msg.sender, message_id=None,
                           at=call.at, kind=EventKind.LEADER_EDIT)
    tell_members(call.ctx, call.session, call.outbox, order.group, order.campaign,
                 [p for p in outcome.problems if p.kind == ProblemKind.PROMOTED])
    return texts.EDITED.format(seq=entry.order_no, text=content)


DELETE_USAGE = "删单 [团名] [群名] 订单号"


@command("删单", role="leader", usage=DELETE_USAGE, help="删掉一单（留底）", min_args=1, max_args=2, campaign=ANY)
def delete_command(call: Call) -> str:
    order, error, _number = _one_order(call, "删单", DELETE_USAGE, 1)
    if order is None:
        return error
    if len(call.words):
        return texts.USAGE.format(usage=DELETE_USAGE)
    promoted = cancel_entry(call.session, order.entry, actor_id=call.msg.sender, message_id=None, at=call.at,
                            kind=EventKind.LEADER_DELETE)
    tell_members(call.ctx, call.session, call.outbox, order.group, order.campaign, promoted)
    return texts.DELETED.format(seq=order.entry.order_no, text=order.entry.raw)


@command("未取", role="leader", usage="未取 [团名]", help="还没取货的人", max_args=0, campaign=EACH)
def unpicked_command(call: Call) -> str:
    sections = []
    for campaign in call.campaigns:
        rows = unpicked(call.session, campaign.id, [g.id for g in campaign_groups_of(call, campaign)])
        if not rows:
            sections.append(texts.UNPICKED_NONE.format(title=campaign.title))
            continue
        lines = [texts.UNPICKED_HEADER.format(title=campaign.title, count=len(rows))]
        lines += [texts.UNPICKED_LINE.format(numbers=numbers_text(r.numbers), member=r.member, items=items_text(r.items))
                  for r in rows]
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


@command("未付", role="leader", usage="未付 [团名]", help="还没付钱的订单和金额", max_args=0, campaign=EACH)
def unpaid_command(call: Call) -> str:
    sections = []
    for campaign in call.campaigns:
        lines = [line for line in order_lines(call.session, campaign.id, [g.id for g in campaign_groups_of(call, campaign)])
                 if not line.paid and line.amount > 0]
        if not lines:
            sections.append(texts.UNPAID_NONE.format(title=campaign.title))
            continue
        total = sum(line.amount for line in lines)
        out = [texts.UNPAID_HEADER.format(title=campaign.title, count=len(lines), amount=money(total))]
        out += [texts.UNPAID_LINE.format(number=line.number, member=line.member, items=items_text(line.items),
                                         amount=money(line.amount)) for line in lines]
        sections.append("\n".join(out))
    return "\n\n".join(sections)


@command("归团", role="leader", usage="归团 [接龙标题] 团名", help="分不清是哪个团的接龙，告诉我算哪个团", min_args=1)
def assign_command(call: Call) -> str:
    held = held_chains(call.session, [g.id for g in call.groups])
    if not held:
        return texts.NOTHING_HELD
    words = call.words.left()
    title_words = call.words.rest[:words[-1].start].strip()
    if title_words:
        key = fold_key(title_words)
        held = [c for c in held if key and (key in c.chain_key[2:] or key in fold_key(c.title))]
        if not held:
            return texts.NOTHING_HELD
    if len(held) > 1:
        titles = "、".join(f"“{c.title}”" for c in held)
        return texts.HELD_WHICH.format(titles=titles, example=f"{held[0].title} {words[-1].text}")
    chain = held[0]
    group = next(g for g in call.groups if g.id == chain.group_id)
    campaign = CampaignNames(campaigns_for_group(call.session, group.id, call.at)).named(words[-1].text)
    if campaign is None:
        return texts.CAMPAIGN_NOT_FOUND.format(name=words[-1].text)
    parser = ChainParser(catalog_of(call.session, campaign))

    def parse(row):
        text, native = chain_text(message_of(row))
        return parser.parse(text, native=native)

    release_chain(call.ctx, call.session, call.outbox, group, campaign, chain.chain_key[2:], parse)
    return texts.ASSIGNED.format(title=chain.title or texts.NO_TITLE, campaign=campaign.title)
