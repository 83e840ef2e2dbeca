"""Reading a page's query string: a bad value is a 400 that says which one, never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request

PAGE_SIZE = 50
MAX_PAGE = 1_000_000


def bad(what: str) -> HTTPException:
    return HTTPException(400, what)


def day_param(request: Request, today: date) -> date:
    value = request.query_params.get("day")
    return parse_day(value) if value else today


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad(f"日期“{value}”不对，写成 2026-11-25") from None


def day_span(day: date, tz) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def month_param(request: Request) -> tuple[int, int] | None:
    value = request.query_params.get("month")
    if not value:
        return None
    try:
        year, month = (int(part) for part in value.split("-"))
        date(year, month, 1)
        if year < 2000 or year > 2999:
            raise ValueError
    except ValueError:
        raise bad(f"月份“{value}”不对，写成 2026-11") from None
    return year, month


@dataclass(frozen=True)
class Paging:
    page: int  # from 1
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.size))


def paging(request: Request) -> Paging:
    value = request.query_params.get("page") or "1"
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise bad(f"页码“{value}”不对")
    return Paging(int(value))


def campaign_param(request: Request) -> str | None:
    return request.query_params.get("campaign") or None
