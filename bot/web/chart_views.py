"""The dashboard's charts as SVG, drawn on the server (bot.charts): sales by product and by
group for a day or a campaign, and a campaign's orders per hour."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot import charts, texts
from bot.handlers.common import money
from bot.web.params import day_span, parse_day
from bot.web.site import Site
from storage import dashboard
from storage.dashboard import Page, ProductSales, Scope
from storage.formatting import plain_number
from storage.models import Campaign

BARS = 12
SVG_HEADERS = {"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"}


def _svg(figure) -> Response:
    return Response(charts.svg(figure), media_type="image/svg+xml", headers=SVG_HEADERS)


def _scope(site: Site, request: Request) -> Scope:
    if "day" in request.path_params:
        start, end = day_span(parse_day(request.path_params["day"]), site.tz)
        return Scope(start=start, end=end)
    campaign_id = request.path_params["campaign_id"]
    with site.sessions() as session:
        if session.get(Campaign, campaign_id) is None:
            raise HTTPException(404, f"没有活动“{campaign_id}”")
    return Scope(campaign_id)


def _amount(value) -> str:
    return texts.PICTURE_AMOUNT.format(amount=money(value))


def _product_bars(products: Page[ProductSales], gmv) -> list[charts.Bar]:
    rows = [(p.name, p.gmv, texts.PICTURE_PRODUCT_AMOUNT.format(qty=plain_number(p.qty), unit=p.unit,
                                                                amount=money(p.gmv))) for p in products.rows]
    return charts.top_bars(rows, gmv, products.total, BARS, texts.PICTURE_OTHERS, _amount)


def products_chart(site: Site, request: Request) -> Response:
    scope = _scope(site, request)
    with site.sessions() as session:
        products = dashboard.sales_by_product(session, scope, BARS)
        gmv = dashboard.totals(session, scope).gmv
    return _svg(charts.bar_chart("", _product_bars(products, gmv), texts.EMPTY))


def groups_chart(site: Site, request: Request) -> Response:
    scope = _scope(site, request)
    with site.sessions() as session:
        groups = dashboard.sales_by_group(session, scope, BARS)
        gmv = dashboard.totals(session, scope).gmv
    bars = charts.top_bars([(g.group, g.gmv, _amount(g.gmv)) for g in groups.rows], gmv, groups.total, BARS,
                           texts.PICTURE_OTHERS, _amount)
    return _svg(charts.bar_chart("", bars, texts.EMPTY))


def hours_chart(site: Site, request: Request) -> Response:
    campaign_id = request.path_params["campaign_id"]
    with site.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise HTTPException(404, f"没有活动“{campaign_id}”")
        hours = dashboard.orders_per_hour(session, campaign)
    return _svg(charts.hourly_chart("", hours, site.tz, texts.EMPTY))
