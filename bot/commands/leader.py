"""Leader commands (private chat): totals, details, posts, pickup, corrections, commission."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from bot import broadcasts, texts
from bot.campaigns import CampaignNames
from bot.commands.registry import EACH, ONE, Call, command, specs
from bot.events import OutgoingText
from bot.handlers.chain import flag_reason
from bot.handlers.common import clock_text, items_text, money
from bot.handlers.member_query import member_help
from bot.rooms import rooms_text
from parsers import ProductMatcher
from parsers.quantity import UNITS
from storage.corrections import apply_shortage
from storage.formatting import plain_number
from storage.lookup import (
    catalog_of,
    current_campaigns,
    find_campaign,
    groups_running,
    running_campaigns,
)
from storage.models import Campaign, Group
from storage.reports import (
    FLAGGED,
    ReviewLine,
    entries_needing_review,
    leader_statement,
    member_orders,
    month_span,
    product_totals,
)
from storage.rooms import BindOutcome, bind_room


@command("帮助", role="member", usage="帮助", help="看能用的指令", aliases=("help", "菜单", "?"))
def help_command(call: Call) -> str:
    allowed = {"member"} | ({"leader"} if call.leader else set()) | ({"admin"} if call.is_admin else set())
    commands = [texts.HELP_LINE.format(usage=s.usage, help=s.help) for s in specs() if s.role in allowed]
    if call.leader or call.is_admin:
        return "\n".join([texts.HELP_HEADER, *commands])
    running = running_campaigns(call.session, call.at)  # which group a member means is not known here
    return "\n".join([member_help(call.session, running, call.at, call.ctx.tz), texts.MEMBER_HELP_PRIVATE, *commands])


def campaign_groups_of(call: Call, campaign: Campaign) -> list[Group]:
    """The caller's groups this campaign runs in (P4: a leader acts only there)."""
    runs_in = set(groups_running(call.session, campaign, [g.id for g in call.groups]))
    return [g for g in call.groups if g.id in runs_in]


def _group_names(groups: list[Group]) -> str:
    return "、".join(g.name for g in groups)


def _each(call: Call, section) -> str:
    """One section per campaign (汇总, 明细, 未取, 未付 with several running)."""
    return "\n\n".join(section(call, campaign, campaign_groups_of(call, campaign)) for campaign in call.campaigns)


@command("汇总", role="leader", usage="汇总 [团名]", help="本团各商品的总数和金额", max_args=0, campaign=EACH)
def totals_command(call: Call) -> str:
    return _each(call, _totals)


def _totals(call: Call, campaign: Campaign, groups: list[Group]) -> str:
    ids = [g.id for g in groups]
    header = texts.TOTALS_HEADER.format(title=campaign.title, groups=_group_names(groups))
    totals = [t for t in product_totals(call.session, campaign.id, ids) if t.qty > 0]
    lines = [header]
    if totals:
        rows = member_orders(call.session, campaign.id, ids)
        lines += [texts.TOTALS_LINE.format(name=t.name, qty=plain_number(t.qty), unit=t.unit, amount=money(t.amount))
                  for t in totals]
        lines.append(texts.TOTALS_FOOTER.format(orders=len(rows), amount=money(sum((t.amount for t in totals), Decimal(0)))))
    else:
        lines.append(texts.EMPTY)
    review = entries_needing_review(call.session, campaign.id, ids)
    if review:
        lines.append(texts.TOTALS_REVIEW.format(count=len(review)))
    return "\n".join(lines)


@command("明细", role="leader", usage="明细 [团名]", help="每个人订了什么（带订单号）", max_args=0, campaign=EACH)
def details_command(call: Call) -> str:
    return _each(call, _details)


def _details(call: Call, campaign: Campaign, groups: list[Group]) -> str:
    ids = [g.id for g in groups]
    rows = member_orders(call.session, campaign.id, ids)
    lines = [texts.DETAILS_HEADER.format(title=campaign.title)]
    lines += [texts.DETAILS_LINE.format(
        seq=numbers_text(r.numbers), member=r.member, address=f"（{r.address}）" if r.address else "",
        items=items_text(r.items), amount=money(r.amount),
        picked=(texts.MY_ORDER_PICKED if r.picked_up else "") + (texts.PAID_NOTE if r.paid else ""))
        for r in rows]
    if not rows:
        lines.append(texts.EMPTY)
    review = entries_needing_review(call.session, campaign.id, ids)
    if review:
        lines.append(texts.DETAILS_REVIEW_HEADER)
        lines += [texts.DETAILS_REVIEW_LINE.format(
            number=f"{r.number}. " if r.number is not None else "", member=r.member, text=r.text,
            reason=_review_reason(r)) for r in review[:30]]
    return "\n".join(lines)


def _review_reason(line: ReviewLine) -> str:
    if line.status == FLAGGED:
        return flag_reason(line.reason)
    return line.reason or texts.REVIEW_REASONS.get(line.status, line.status)


def numbers_text(numbers: list[int]) -> str:
    return "、".join(map(str, numbers))


def _posts(call: Call, kind: str, campaign: Campaign) -> int:
    """Post into the caller's groups the campaign runs in (never another leader's campaign
    into a group it does not run in: P4)."""
    count = 0
    for group in campaign_groups_of(call, campaign):
        if broadcasts.run_post(call.ctx, call.session, call.outbox, campaign, group, kind):
            count += 1
    return count


@command("开团", role="leader", usage="开团 [团名]", help="现在把活动发到群里", max_args=1)
def open_command(call: Call) -> str:
    """P4: only a campaign that runs in the caller's groups, and only once it has opened."""
    current = current_campaigns(call.session, [g.id for g in call.groups], call.at)
    if call.args:
        campaign = CampaignNames(current).named(call.args[0]) or find_campaign(call.session, call.args[0])
        if campaign is None or not campaign_groups_of(call, campaign):
            return texts.CAMPAIGN_NOT_FOUND.format(name=call.args[0])
    elif len(current) > 1:
        return texts.WHICH_CAMPAIGN.format(count=len(current), titles="、".join(c.title for c in current),
                                           example=f"开团 {current[0].title}")
    elif current:
        campaign = current[0]
    else:
        return texts.NO_CAMPAIGN
    if campaign.opens > call.at:
        return texts.CAMPAIGN_NOT_OPEN.format(title=campaign.title, opens=clock_text(campaign.opens, call.ctx.tz))
    return texts.POSTED.format(count=_posts(call, "open", campaign))


@command("截单", role="leader", usage="截单 [团名]", help="现在截单，并把最终名单发到群里", max_args=0, campaign=ONE)
def close_command(call: Call) -> str:
    return texts.CLOSED.format(count=_posts(call, "close", call.campaign))


@command("到货", role="leader", usage="到货 [团名]", help="发到货自提通知，@每个人", max_args=0, campaign=ONE)
def arrived_command(call: Call) -> str:
    return texts.ARRIVED.format(count=_posts(call, "pickup", call.campaign))


@command("缺货", role="leader", usage="缺货 [团名] 商品 数量", help="到货不够：从最后下单的扣，并通知他们",
         min_args=2, max_args=2, campaign=ONE)
def shortage_command(call: Call) -> list[OutgoingText] | str:
    campaign = call.campaign
    product_word, qty_word = call.words.left()
    try:
        qty = Decimal(qty_word.text.rstrip("".join(u for u in UNITS if len(u) == 1)))
    except InvalidOperation:
        return texts.USAGE.format(usage="缺货 [团名] 商品 数量")
    if not qty.is_finite() or qty <= 0:
        return texts.USAGE.format(usage="缺货 [团名] 商品 数量")
    catalog = catalog_of(call.session, campaign)
    match = ProductMatcher(catalog).match(product_word.text)
    if match.product is None:
        return texts.PRODUCT_NOT_FOUND.format(name=product_word.text)
    product = match.product
    groups = campaign_groups_of(call, campaign)
    cuts = apply_shortage(call.session, campaign.id, [g.id for g in groups], product.sku, qty, call.at,
                          call.leader.id)
    if not cuts:
        return texts.SHORTAGE_NONE.format(product=product.name)
    chats = {g.id: g.chat_id for g in groups}
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
    rates = "、".join(f"{plain_number(rate * 100)}%" for rate in s.rates)
    return texts.COMMISSION.format(month=label, orders=s.orders, gmv=money(s.net), rate=rates,
                                   commission=money(s.commission), adjust=adjust)


@command("绑定", role="leader", usage="绑定 群名或群号", help="把我在的一个群交给我统计", min_args=1)
def bind_command(call: Call) -> list[OutgoingText] | str:
    """P1: only a group the bot sits in, and never one that has a leader (an admin reassigns)."""
    name = call.rest.strip()
    result = bind_room(call.session, name, call.leader.id, call.at)
    if result.outcome is BindOutcome.UNKNOWN:
        return texts.BIND_UNKNOWN.format(name=name)
    if result.outcome is BindOutcome.AMBIGUOUS:
        return texts.BIND_AMBIGUOUS.format(count=len(result.rooms), name=name, rooms=rooms_text(result.rooms))
    group = result.group
    if result.outcome is BindOutcome.TAKEN:
        return texts.BIND_TAKEN.format(group=group.name)
    if result.outcome is BindOutcome.ALREADY_YOURS:
        return texts.BOUND_ALREADY.format(group=group.name)
    call.outbox.enqueue(call.session, OutgoingText(group.chat_id, texts.GREETING), kind="greeting",
                        dedupe_key=f"greet:{group.id}")
    return [OutgoingText(call.msg.sender, texts.BOUND.format(group=group.name), is_group=False)]
