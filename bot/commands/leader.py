"""Leader commands (private chat): totals, details, posts, pickup, corrections, commission."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from bot import broadcasts, texts
from bot.commands.registry import Call, command, specs
from bot.events import OutgoingText
from bot.handlers.common import items_text, money
from bot.handlers.member_query import member_help
from parsers import ChainParser, ProductMatcher
from storage.corrections import apply_shortage, mark_picked_up
from storage.formatting import plain_number
from storage.lookup import (
    bind_group,
    catalog_of,
    current_campaign,
    find_campaign,
    running_campaigns,
)
from storage.models import Campaign, Chain, EntryRow, EventKind, Group
from storage.orders import cancel_entry, update_entry
from storage.reports import (
    entries_needing_review,
    leader_entries,
    leader_statement,
    member_orders,
    month_span,
    product_totals,
    unpicked,
)


@command("帮助", role="member", usage="帮助", help="看能用的指令", aliases=("help", "菜单", "?"))
def help_command(call: Call) -> str:
    allowed = {"member"} | ({"leader"} if call.leader else set()) | ({"admin"} if call.is_admin else set())
    commands = [texts.HELP_LINE.format(usage=s.usage, help=s.help) for s in specs() if s.role in allowed]
    if call.leader or call.is_admin:
        return "\n".join([texts.HELP_HEADER, *commands])
    running = running_campaigns(call.session, call.at)
    campaign = running[0] if len(running) == 1 else None  # which group a member means is not known here
    return "\n".join([member_help(call.session, campaign, call.at, call.ctx.tz), texts.MEMBER_HELP_PRIVATE, *commands])


def _campaign(call: Call) -> Campaign | None:
    return current_campaign(call.session, [g.id for g in call.groups], call.at)


def _group_names(call: Call) -> str:
    return "、".join(g.name for g in call.groups)


@command("汇总", role="leader", usage="汇总", help="本团各商品的总数和金额", needs_campaign=True)
def totals_command(call: Call) -> str:
    campaign = call.campaign
    ids = [g.id for g in call.groups]
    totals = [t for t in product_totals(call.session, campaign.id, ids) if t.qty > 0]
    if not totals:
        return texts.TOTALS_HEADER.format(title=campaign.title, groups=_group_names(call)) + "\n" + texts.EMPTY
    rows = member_orders(call.session, campaign.id, ids)
    lines = [texts.TOTALS_HEADER.format(title=campaign.title, groups=_group_names(call))]
    lines += [texts.TOTALS_LINE.format(name=t.name, qty=plain_number(t.qty), unit=t.unit, amount=money(t.amount)) for t in totals]
    lines.append(texts.TOTALS_FOOTER.format(orders=len(rows), amount=money(sum((t.amount for t in totals), Decimal(0)))))
    review = entries_needing_review(call.session, campaign.id, ids)
    if review:
        lines.append(texts.TOTALS_REVIEW.format(count=len(review)))
    return "\n".join(lines)


@command("明细", role="leader", usage="明细", help="每个人订了什么", needs_campaign=True)
def details_command(call: Call) -> str:
    campaign = call.campaign
    ids = [g.id for g in call.groups]
    rows = member_orders(call.session, campaign.id, ids)
    lines = [texts.DETAILS_HEADER.format(title=campaign.title)]
    lines += [texts.DETAILS_LINE.format(
        seq="、".join(map(str, r.seqs)), member=r.member, address=f"（{r.address}）" if r.address else "",
        items=items_text(r.items), amount=money(r.amount), picked=texts.MY_ORDER_PICKED if r.picked_up else "")
        for r in rows]
    if not rows:
        lines.append(texts.EMPTY)
    review = entries_needing_review(call.session, campaign.id, ids)
    if review:
        lines.append(texts.DETAILS_REVIEW_HEADER)
        lines += [texts.DETAILS_REVIEW_LINE.format(
            member=r.member, text=r.text, reason=r.reason or texts.REVIEW_REASONS.get(r.status, r.status))
            for r in review[:30]]
    return "\n".join(lines)


def _posts(call: Call, kind: str, campaign: Campaign) -> int:
    count = 0
    for group in call.groups:
        if broadcasts.run_post(call.ctx, call.session, call.outbox, campaign, group, kind):
            count += 1
    return count


@command("开团", role="leader", usage="开团 [活动名]", help="现在把活动发到群里", max_args=1)
def open_command(call: Call) -> str:
    campaign = find_campaign(call.session, call.args[0]) if call.args else _campaign(call)
    if campaign is None:
        return texts.CAMPAIGN_NOT_FOUND.format(name=call.args[0]) if call.args else texts.NO_CAMPAIGN
    return texts.POSTED.format(count=_posts(call, "open", campaign))


@command("截单", role="leader", usage="截单", help="现在截单，并把最终名单发到群里", max_args=0, needs_campaign=True)
def close_command(call: Call) -> str:
    campaign = call.campaign
    return texts.CLOSED.format(count=_posts(call, "close", campaign))


@command("到货", role="leader", usage="到货", help="发到货自提通知，@每个人", max_args=0, needs_campaign=True)
def arrived_command(call: Call) -> str:
    campaign = call.campaign
    return texts.ARRIVED.format(count=_posts(call, "pickup", campaign))


# --- entries by number -------------------------------------------------------------------------


def _entries(call: Call, campaign: Campaign, groups: list[Group]) -> list[EntryRow]:
    return leader_entries(call.session, campaign.id, [g.id for g in groups])


def _split_group(call: Call) -> tuple[list[Group], list[str]]:
    """An optional group name before the arguments: "改单 阳光3期 5 西瓜2个"."""
    if call.args and not call.args[0].isdigit():
        named = [g for g in call.groups if g.name == call.args[0] or g.chat_id == call.args[0]]
        if named:
            return named, call.args[1:]
    return call.groups, call.args


def _one_entry(call: Call, usage: str) -> tuple[EntryRow | None, str | None, list[str]]:
    campaign = call.campaign
    groups, args = _split_group(call)
    if not args or not args[0].isdigit():
        return None, texts.USAGE.format(usage=usage), []
    seq = int(args[0])
    found = [e for e in _entries(call, campaign, groups) if e.seq == seq]
    if not found:
        return None, texts.ENTRY_NOT_FOUND.format(seq=seq), []
    if len({call.session.get(Chain, e.chain_id).group_id for e in found}) > 1:
        return None, texts.ENTRY_AMBIGUOUS.format(seq=seq, usage=usage), []
    return found[-1], None, args[1:]


@command("核销", role="leader", usage="核销 序号… 或 核销 昵称", help="标记已取货", min_args=1, needs_campaign=True)
def pickup_command(call: Call) -> str:
    campaign = call.campaign
    groups, args = _split_group(call)
    entries = _entries(call, campaign, groups)
    chosen, names, missing = [], [], []
    for arg in args:
        hits = [e for e in entries if (arg.isdigit() and e.seq == int(arg)) or e.member == arg or e.author_name == arg]
        if hits:
            chosen += [e.id for e in hits]
            names.append(hits[0].member or hits[0].author_name or arg)
        else:
            missing.append(arg)
    mark_picked_up(call.session, chosen, call.at)
    reply = texts.PICKED.format(names="、".join(names)) if names else ""
    if missing:
        reply = (reply + "\n" if reply else "") + texts.PICK_NOT_FOUND.format(what="、".join(missing))
    return reply


@command("未取", role="leader", usage="未取", help="还没取货的人", max_args=0, needs_campaign=True)
def unpicked_command(call: Call) -> str:
    campaign = call.campaign
    rows = unpicked(call.session, campaign.id, [g.id for g in call.groups])
    if not rows:
        return texts.UNPICKED_NONE
    lines = [texts.UNPICKED_HEADER.format(count=len(rows))]
    lines += [f"{'、'.join(map(str, r.seqs))}. {r.member}：{items_text(r.items)}" for r in rows]
    return "\n".join(lines)


@command("改单", role="leader", usage="改单 序号 新内容", help="替团员改一行（留底）", min_args=2, needs_campaign=True)
def edit_command(call: Call) -> str:
    entry, error, rest = _one_entry(call, "改单 序号 新内容")
    if entry is None:
        return error
    if not rest:
        return texts.USAGE.format(usage="改单 序号 新内容")
    content = call.rest.split(str(entry.seq), 1)[-1].strip()
    campaign = call.campaign
    parsed = ChainParser(catalog_of(call.session, campaign)).parse(f"#接龙\n{entry.seq}. {content}", native=False)
    new = parsed.entries[0] if parsed.entries else None
    if new is None:
        return texts.USAGE.format(usage="改单 序号 新内容")
    update_entry(call.session, entry, new, actor_id=call.msg.sender, message_id=None, at=call.at, kind=EventKind.LEADER_EDIT)
    return texts.EDITED.format(seq=entry.seq, text=content)


@command("删单", role="leader", usage="删单 序号", help="删掉一行（留底）", min_args=1, max_args=2,
         needs_campaign=True)
def delete_command(call: Call) -> str:
    entry, error, _rest = _one_entry(call, "删单 序号")
    if entry is None:
        return error
    cancel_entry(call.session, entry, actor_id=call.msg.sender, message_id=None, at=call.at, kind=EventKind.LEADER_DELETE)
    return texts.DELETED.format(seq=entry.seq, text=entry.raw)


@command("缺货", role="leader", usage="缺货 商品 数量", help="到货不够：从最后下单的扣，并通知他们", min_args=2, max_args=2,
         needs_campaign=True)
def shortage_command(call: Call) -> list[OutgoingText] | str:
    campaign = call.campaign
    try:
        qty = Decimal(call.args[1].rstrip("个斤串份箱盒袋包瓶件"))
    except InvalidOperation:
        return texts.USAGE.format(usage="缺货 商品 数量")
    catalog = catalog_of(call.session, campaign)
    match = ProductMatcher(catalog).match(call.args[0])
    if match.product is None:
        return texts.PRODUCT_NOT_FOUND.format(name=call.args[0])
    product = match.product
    cuts = apply_shortage(call.session, campaign.id, [g.id for g in call.groups], product.sku, qty, call.at,
                          call.leader.id)
    if not cuts:
        return texts.SHORTAGE_NONE.format(product=product.name)
    chats = {g.id: g.chat_id for g in call.groups}
    out = [OutgoingText(chats[c.group_id], f"@{c.member} " + texts.SHORTAGE_NOTICE.format(
        product=product.name, qty=plain_number(c.qty_cut), unit=product.unit, refund=money(c.refund)), (c.member_id,))
        for c in cuts]
    summary = "、".join(f"{c.member}{plain_number(c.qty_cut)}{product.unit}" for c in cuts)
    out.append(OutgoingText(call.msg.sender, texts.SHORTAGE_DONE.format(
        product=product.name, qty=plain_number(qty), unit=product.unit, cuts=summary), is_group=False))
    return out


def month_bounds(text: str | None, now: datetime, tz) -> tuple[datetime, datetime, str] | None:
    local = now.astimezone(tz)
    year, month = local.year, local.month
    if text:
        digits = text.replace("月", "").replace("年", "-").replace("/", "-")
        try:
            if "-" in digits:
                year, month = (int(x) for x in digits.split("-", 1))
            else:
                month = int(digits)
        except ValueError:
            return None
        if not 1 <= month <= 12:
            return None
    start, end = month_span(year, month, tz)
    return start, end, f"{month}月"


@command("佣金", role="leader", usage="佣金 [月份，如 11 或 2026-11]", help="这个月（或某月）的佣金", max_args=1)
def commission_command(call: Call) -> str:
    bounds = month_bounds(call.args[0] if call.args else None, call.at, call.ctx.tz)
    if bounds is None:
        return texts.USAGE.format(usage="佣金 [月份，如 11 或 2026-11]")
    start, end, label = bounds
    s = leader_statement(call.session, call.leader.id, start, end)
    adjust = texts.COMMISSION_ADJUST.format(amount=money(-s.adjustments)) if s.adjustments else ""
    return texts.COMMISSION.format(month=label, orders=s.orders, gmv=money(s.gmv), rate=f"{plain_number(s.commission_rate * 100)}%",
                                   commission=money(s.commission), adjust=adjust)


@command("绑定", role="leader", usage="绑定 群名", help="把一个群交给我统计", min_args=1)
def bind_command(call: Call) -> list[OutgoingText]:
    name = call.rest.strip()
    group = bind_group(call.session, name, name, call.leader.id, call.at)
    call.outbox.enqueue(call.session, OutgoingText(group.chat_id, texts.GREETING), kind="greeting",
                        dedupe_key=f"greet:{group.id}")
    return [OutgoingText(call.msg.sender, texts.BOUND.format(group=group.name), is_group=False)]
