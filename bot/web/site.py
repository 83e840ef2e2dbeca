"""What every page needs: the database, the platform's zone and clock, the templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.handlers.common import money
from storage.formatting import plain_number

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
# Pages run no script and load nothing from elsewhere; the charts are SVG files of this site.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class Site:
    sessions: sessionmaker[Session]
    tz: ZoneInfo
    clock: Callable[[], datetime]
    login: bool = False  # pages show a log-out button
    chart_problem: str | None = None  # why there are no charts (no CJK font), or None
    env: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(money=_money, number=_number, when=self.when, day=self.day, rate=_rate)

    def now(self) -> datetime:
        return self.clock().astimezone(self.tz)

    def when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if moment else "—"

    def day(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%m-%d %H:%M") if moment else "—"

    def render(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        html = self.env.get_template(name).render(request=request, path=request.url.path, login=self.login,
                                                  chart_problem=self.chart_problem,
                                                  query=dict(request.query_params), **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _money(value) -> str:
    return money(value)


def _number(value) -> str:
    return plain_number(value)


def _rate(value: Decimal | None) -> str:
    """A commission rate as people say it (12%); a row summing several rates has none."""
    return "" if value is None else plain_number(Decimal(value) * 100) + "%"
