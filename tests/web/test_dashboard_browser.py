"""The dashboard in a real headless browser (Debian's chromium, selenium): every page loads with
its charts and without a console error, and the numbers it shows are the exports' numbers for
the same database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from storage.exports import ExportFilter, export
from tests.conftest import at
from tests.web.conftest import jielong_web

pytestmark = pytest.mark.browser
TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
PAGES = ["/", "/?day=2026-11-24", "/?day=2026-11-25&all=1", "/campaigns", "/campaigns/fruit-1125",
         "/campaigns/fruit-1125?all=1", "/procurement", "/procurement?campaign=fruit-1125", "/statements",
         "/statements?month=2026-11", "/review", "/review?campaign=fruit-1125", "/late", "/unpaid",
         "/unpaid?campaign=fruit-1125&page=1", "/sends"]


def load(browser, url: str) -> None:
    browser.get(url)
    browser.get_log("browser")  # (read below, after the page's images loaded)


def console_errors(browser) -> list[dict]:
    return [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]


def images(browser) -> list[tuple[str, bool]]:
    return browser.execute_script(
        "return Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0])")


def table(browser, table_id: str) -> list[list[str]]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
        ".filter(r => !r.classList.contains('empty'))"
        ".map(r => Array.from(r.cells).map(c => c.textContent.trim()))", table_id)


def text_of(browser, element_id: str) -> str:
    return browser.execute_script("return document.getElementById(arguments[0]).textContent.trim()", element_id)


def exported(sessions, kind: str, flt: ExportFilter | None = None) -> list[dict]:
    out = io.StringIO()
    with sessions() as session:
        export(session, kind, out, flt or ExportFilter(), TZ)
    return list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))


def wait_for_url(browser, prefix: str) -> None:
    """Until a click's navigation has landed (a click does not wait for the next page)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda b: b.current_url.startswith(prefix))


def number(text: str) -> Decimal:
    """A cell as a number: “3箱” → 3, “12%” → 12."""
    digits = "".join(c for c in text if c.isdigit() or c in ".-")
    return D(digits)


def test_every_page_loads_with_its_charts_and_no_console_error(browser, site) -> None:
    for path in PAGES:
        browser.get(site + path)
        assert browser.title.endswith("接龙看板"), path
        assert browser.find_element("tag name", "h1").text, path
        assert "出错了" not in browser.title, path
        loaded = images(browser)
        assert all(ok for _, ok in loaded), (path, loaded)
        assert console_errors(browser) == [], path
    browser.get(site + "/campaigns/fruit-1125")
    charts = [src.rsplit("/", 1)[1] for src, _ in images(browser)]
    assert charts == ["hours.svg", "products.svg", "groups.svg"]


def test_mistakes_are_pages_that_say_what_is_wrong(browser, site) -> None:
    for path, message in [("/campaigns/nope", "没有活动“nope”"), ("/?day=11-25", "日期“11-25”不对"),
                          ("/statements?month=2026-13", "月份“2026-13”不对"), ("/review?page=0", "页码“0”不对"),
                          ("/no-such-page", "没有这个页面")]:
        browser.get(site + path)
        assert message in text_of(browser, "error"), path
        # The browser logs the page's own 4xx; nothing else may go wrong on an error page.
        assert [e for e in console_errors(browser) if "the server responded with a status of 4" not in e["message"]] == []


def test_campaign_page_matches_the_exports(browser, site, demo_sessions) -> None:
    browser.get(site + "/campaigns/fruit-1125")
    orders = [r for r in exported(demo_sessions, "orders", ExportFilter("fruit-1125")) if r["status"] == "ok"]
    assert number(text_of(browser, "gmv")) == sum(D(r["amount"]) for r in orders) == D(255)
    distinct_orders = {(r["group"], r["member_id"], r["entry_seq"]) for r in orders}
    assert int(text_of(browser, "orders")) == len(distinct_orders)
    assert int(text_of(browser, "members")) == len({(r["group"], r["member_id"]) for r in orders})
    by_group: Counter = Counter()
    for r in orders:
        by_group[r["group"]] += D(r["amount"])
    assert {row[0]: number(row[3]) for row in table(browser, "campaign-groups")} == dict(by_group)
    procurement = {r["sku"]: (D(r["qty"]), D(r["amount"]))
                   for r in exported(demo_sessions, "procurement", ExportFilter("fruit-1125"))}
    shown = {row[1]: (number(row[2]), number(row[4])) for row in table(browser, "campaign-products")}
    assert {sku: v for sku, v in shown.items() if v[0]} == procurement
    assert console_errors(browser) == []


def test_procurement_page_matches_the_procurement_export(browser, site, demo_sessions) -> None:
    browser.get(site + "/procurement?campaign=fruit-1125")
    shown = {row[0]: (row[1], number(row[2]), row[3], number(row[6]), int(row[5]))
             for row in table(browser, "procurement")}
    expected = {r["sku"]: (r["product"], D(r["qty"]), r["unit"], D(r["amount"]), int(r["groups"]))
                for r in exported(demo_sessions, "procurement", ExportFilter("fruit-1125"))}
    assert {sku: v for sku, v in shown.items() if v[1]} == expected
    assert shown["CM01"][1] == 0  # on the catalog, nobody ordered it: listed with zero


def test_statements_page_matches_the_statements_export(browser, site, demo_sessions) -> None:
    browser.get(site + "/statements?month=2026-11")
    shown = {row[1]: (int(row[2]), number(row[3]), number(row[4]), number(row[5]), number(row[6]) / 100,
                      number(row[7]), number(row[8])) for row in table(browser, "statements")}
    flt = ExportFilter(start=at(1, 0).replace(day=1), end=at(1, 0).replace(month=12, day=1))
    expected = {r["leader_id"]: (int(r["orders"]), D(r["gross"]), D(r["adjustments"]), D(r["net"]),
                                 D(r["commission_rate"]), D(r["commission"]), D(r["payable"]))
                for r in exported(demo_sessions, "statements", flt) if r["leader_id"] != "total"}
    assert shown == expected
    lijie = shown["wxid_lijie"]
    assert lijie[2] == D(-30) and lijie[1] + lijie[2] == lijie[3]  # 砂糖橘 short: 30 back


def test_day_page_matches_the_orders_export(browser, site, demo_sessions) -> None:
    browser.get(site + "/?day=2026-11-25")
    day = ExportFilter(start=at(25, 0), end=at(26, 0))
    orders = [r for r in exported(demo_sessions, "orders", day) if r["status"] == "ok"]
    assert number(text_of(browser, "gmv")) == sum(D(r["amount"]) for r in orders)
    by_sku: Counter = Counter()
    for r in orders:
        by_sku[r["sku"]] += D(r["qty"])
    shown = {}
    for sku, qty in browser.execute_script(
            "return Array.from(document.querySelectorAll('#day-products tbody tr[data-sku]'))"
            ".map(r => [r.dataset.sku, r.cells[2].textContent])"):
        shown[sku] = number(qty)
    assert shown == dict(by_sku)
    browser.get(site + "/?day=2026-11-26")
    assert text_of(browser, "orders") == "0" and console_errors(browser) == []


def test_queues_match_the_orders_export(browser, site, demo_sessions) -> None:
    rows = exported(demo_sessions, "orders", ExportFilter("fruit-1125"))
    statuses = Counter(r["status"] for r in rows)
    browser.get(site + "/late?campaign=fruit-1125")
    assert int(text_of(browser, "items-total")) == statuses["late"] + statuses["waitlist"] == len(table(browser, "late-items"))
    browser.get(site + "/review?campaign=fruit-1125")
    assert int(text_of(browser, "items-total")) == statuses["unmatched"] + statuses["review"]
    assert any("鸭蛋" in cell for row in table(browser, "review-items") for cell in row)
    browser.get(site + "/unpaid?campaign=fruit-1125")
    pickup = exported(demo_sessions, "pickup", ExportFilter("fruit-1125"))
    unpaid = table(browser, "unpaid-orders")
    assert {row[3] for row in unpaid} == {r["member"] for r in pickup} - {"刘姐"}  # 刘姐 wrote 已付
    assert console_errors(browser) == []


def test_login_with_the_token_in_the_browser(browser, demo_db) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    token = "s3cret-token-for-the-dashboard"
    with jielong_web(demo_db, env={"JIELONG_WEB_TOKEN": token}) as (url, _process):
        browser.get(url + "/campaigns/fruit-1125")
        assert browser.current_url.startswith(url + "/login")
        field = browser.find_element("name", "token")
        field.send_keys("wrong-token-wrong-token")
        field.submit()
        WebDriverWait(browser, 10).until(lambda b: b.find_elements("id", "login-failed"))
        assert "口令不对" in text_of(browser, "login-failed")
        browser.get_log("browser")  # the 401 of the wrong token
        browser.find_element("name", "token").send_keys(token)
        browser.find_element("css selector", "form.login button").click()
        wait_for_url(browser, url + "/campaigns/")
        assert browser.current_url == url + "/campaigns/fruit-1125"
        [cookie] = browser.get_cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and token not in cookie["value"]
        assert all(ok for _, ok in images(browser)) and console_errors(browser) == []
        browser.find_element("css selector", "form.logout button").click()
        wait_for_url(browser, url + "/login")
        assert browser.get_cookies() == []
        browser.get(url + "/statements")
        assert browser.current_url.startswith(url + "/login")
        browser.delete_all_cookies()
