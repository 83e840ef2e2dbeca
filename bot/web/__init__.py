"""`jielong web`: a read-only dashboard for the platform (Starlette, Jinja2 templates,
matplotlib charts drawn on the server). `create_app` builds the ASGI app; bot.cli.web serves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot import charts
from bot.web import chart_views, pages
from bot.web.auth import COOKIE, LoginRequired, cookie_value, safe_next, token_matches
from bot.web.site import STATIC, Site
from storage.lookup import platform

log = logging.getLogger(__name__)


def create_app(sessions: sessionmaker[Session], *, token: str | None = None,
               clock: Callable[[], datetime] | None = None) -> Starlette:
    """The dashboard over this database. With a token, every page asks for it first."""
    with sessions() as session:
        tz = ZoneInfo(platform(session).timezone)
    site = Site(sessions, tz, clock or (lambda: datetime.now(tz)), login=token is not None)
    try:
        charts.find_cjk_font()
        site.chart_problem = None
    except charts.ChartFontMissing as exc:
        log.error("the dashboard shows no charts: %s", exc)
        site.chart_problem = str(exc)

    def page(view):
        return partial(view, site)

    routes = [
        Route("/", page(pages.today), name="today"),
        Route("/campaigns", page(pages.campaigns), name="campaigns"),
        Route("/campaigns/{campaign_id:str}", page(pages.campaign), name="campaign"),
        Route("/procurement", page(pages.procurement), name="procurement"),
        Route("/statements", page(pages.statement_page), name="statements"),
        Route("/review", page(pages.review), name="review"),
        Route("/late", page(pages.late), name="late"),
        Route("/unpaid", page(pages.unpaid), name="unpaid"),
        Route("/sends", page(pages.sends), name="sends"),
        Route("/charts/day/{day:str}/products.svg", page(chart_views.products_chart)),
        Route("/charts/day/{day:str}/groups.svg", page(chart_views.groups_chart)),
        Route("/charts/campaign/{campaign_id:str}/products.svg", page(chart_views.products_chart)),
        Route("/charts/campaign/{campaign_id:str}/groups.svg", page(chart_views.groups_chart)),
        Route("/charts/campaign/{campaign_id:str}/hours.svg", page(chart_views.hours_chart)),
        Route("/login", partial(_login, site, token), methods=["GET", "POST"]),
        Route("/logout", _logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(LoginRequired, token=token)] if token is not None else []
    return Starlette(routes=routes, middleware=middleware, exception_handlers={
        HTTPException: partial(_http_error, site),
        SQLAlchemyError: partial(_database_error, site),
        charts.ChartFontMissing: _no_font,
    })


async def _login(site: Site, token: str | None, request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if token is None:
        return RedirectResponse(target, status_code=303)
    if request.method == "GET":
        return site.render(request, "login.html", target=target, failed=False)
    form = await request.form()
    given = str(form.get("token") or "")
    if not token_matches(token, given):
        log.warning("dashboard login failed from %s", request.client.host if request.client else "?")
        return site.render(request, "login.html", status=401, target=safe_next(str(form.get("next") or "")),
                           failed=True)
    response = RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)
    response.set_cookie(COOKIE, cookie_value(token), httponly=True, samesite="strict", path="/")
    return response


async def _logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _http_error(site: Site, request: Request, exc: HTTPException) -> Response:
    if request.url.path.startswith("/charts/"):
        return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")
    message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else "没有这个页面"
    return site.render(request, "error.html", status=exc.status_code, message=message)


def _database_error(site: Site, request: Request, exc: SQLAlchemyError) -> Response:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    log.error("dashboard %s: database error: %s", request.url.path, detail)
    return site.render(request, "error.html", status=503, message="数据库暂时连不上：" + detail)


def _no_font(request: Request, exc: Exception) -> Response:
    return Response(str(exc), status_code=503, media_type="text/plain")
