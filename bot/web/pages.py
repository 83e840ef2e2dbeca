"""The dashboard's pages: each reads through `storage.dashboard` / `storage.reports` in one
read-only session and renders a template. Nothing here writes to the database."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot.web.params import (
    campaign_param,
    day_param,
    day_span,
    month_param,
    paging,
)
from bot.web.site import Site
from storage import dashboard
from storage.dashboard import Scope
from storage.models import Campaign
from storage.reports import month_span, statement_periods, statements, sum_statements

TOP_ROWS = 20  # rows of the by-group and by-product tables before “all of them” is asked for


def today(site: Site, request: Request) -> Response:
    day = day_param(request, site.now().date())
    start, end = day_span(day, site.tz)
    scope = Scope(start=start, end=end)
    show_all = request.query_params.get("all") == "1"
    page = paging(request)
    with site.sessions() as session:
        figures = dashboard.totals(session, scope)
        groups = dashboard.sales_by_group(session, scope, page.size if show_all else TOP_ROWS,
                                          page.offset if show_all else 0)
        products = dashboard.sales_by_product(session, scope, None if show_all else TOP_ROWS)
        campaigns = dashboard.campaign_summaries(session, ids=dashboard.campaign_ids_between(session, start, end),
                                                 by_gmv=True).rows
    return site.render(request, "today.html", day=day, previous=day.fromordinal(day.toordinal() - 1),
                       next=day.fromordinal(day.toordinal() + 1), is_today=day == site.now().date(),
                       totals=figures, groups=groups, products=products, campaigns=campaigns, show_all=show_all,
                       paging=page, top_rows=TOP_ROWS)


def campaigns(site: Site, request: Request) -> Response:
    page = paging(request)
    with site.sessions() as session:
        listed = dashboard.campaign_summaries(session, page.size, page.offset)
    return site.render(request, "campaigns.html", campaigns=listed, paging=page, now=site.now())


def campaign(site: Site, request: Request) -> Response:
    campaign_id = request.path_params["campaign_id"]
    show_all = request.query_params.get("all") == "1"
    page = paging(request)
    with site.sessions() as session:
        found = session.get(Campaign, campaign_id)
        if found is None:
            raise HTTPException(404, f"没有活动“{campaign_id}”")
        scope = Scope(campaign_id)
        figures = dashboard.totals(session, scope)
        groups = dashboard.sales_by_group(session, scope, page.size if show_all else TOP_ROWS,
                                          page.offset if show_all else 0)
        products = dashboard.procurement(session, campaign_id)
        counts = dashboard.queue_counts(session, [campaign_id])
        info = _campaign_info(found)
    return site.render(request, "campaign.html", campaign=info, totals=figures, groups=groups, products=products,
                       counts=counts, show_all=show_all, paging=page, top_rows=TOP_ROWS, now=site.now())


def _campaign_info(campaign: Campaign) -> dict:
    return {"id": campaign.id, "title": campaign.title, "opens": campaign.opens, "deadline": campaign.deadline,
            "pickup": campaign.pickup, "pickup_place": campaign.pickup_place, "closed_at": campaign.closed_at}


def procurement(site: Site, request: Request) -> Response:
    campaign_id = campaign_param(request)
    with site.sessions() as session:
        choices = _campaign_choices(session)
        if campaign_id is None and choices:
            campaign_id = choices[0][0]
        if campaign_id is not None and session.get(Campaign, campaign_id) is None:
            raise HTTPException(404, f"没有活动“{campaign_id}”")
        rows = dashboard.procurement(session, campaign_id) if campaign_id else []
    return site.render(request, "procurement.html", rows=rows, choices=choices, campaign_id=campaign_id)


def _campaign_choices(session) -> list[tuple[str, str]]:
    return dashboard.campaign_titles(session)


def statement_page(site: Site, request: Request) -> Response:
    chosen = month_param(request)
    with site.sessions() as session:
        months = [(start.astimezone(site.tz).year, start.astimezone(site.tz).month)
                  for start, _ in statement_periods(session, site.tz)]
        if chosen is None:
            now = site.now()
            chosen = months[-1] if months and (now.year, now.month) not in months else (now.year, now.month)
        start, end = month_span(*chosen, site.tz)
        rows = statements(session, start, end)
    totals = sum_statements(rows, "", "", start, end) if rows else None
    return site.render(request, "statements.html", rows=rows, month=chosen, months=list(reversed(months)),
                       totals=totals, start=start, end=end)


def _queue(site: Site, request: Request, template: str, **lists) -> Response:
    """A work queue page: rows of one or more lists, filtered by campaign, a page at a time."""
    campaign_id = campaign_param(request)
    page = paging(request)
    with site.sessions() as session:
        choices = _campaign_choices(session)
        pages = {name: query(session, campaign_id, page.size, page.offset) for name, query in lists.items()}
    most = max((p.total for p in pages.values()), default=0)
    return site.render(request, template, choices=choices, campaign_id=campaign_id, paging=page,
                       last_page=page.pages(most), **pages)


def review(site: Site, request: Request) -> Response:
    return _queue(site, request, "review.html", items=dashboard.review_items, edits=dashboard.others_edits,
                  missing=dashboard.missing_lines)


def late(site: Site, request: Request) -> Response:
    return _queue(site, request, "late.html", items=dashboard.late_and_waitlisted)


def unpaid(site: Site, request: Request) -> Response:
    return _queue(site, request, "unpaid.html", orders=dashboard.unpaid_orders)


def sends(site: Site, request: Request) -> Response:
    page = paging(request)
    with site.sessions() as session:
        messages = dashboard.unsent_messages(session, page.size, page.offset)
    return site.render(request, "sends.html", messages=messages, paging=page, last_page=page.pages(messages.total),
                       now=site.now())

