"""`jielong web` over real HTTP (uvicorn, httpx): who may look, what a mistake answers, and a
platform too large for one page."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.web import create_app
from storage.db import open_db
from tests.bot.test_summaries import add_groups
from tests.conftest import PG_ADMIN_URL, at
from tests.web.conftest import DEMO_DAY, jielong_web, serve

TOKEN = "a-long-enough-dashboard-token"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "web", *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def sqlite_demo(tmp_path):
    from bot.demo import run_demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(url, tmp_path / "demo-out", lambda _line: None)
    return url


def test_any_address_but_loopback_needs_a_token(sqlite_demo) -> None:
    error = one_line_error(cli("--db", sqlite_demo, "--host", "0.0.0.0", env={"JIELONG_WEB_TOKEN": ""}))
    assert "set JIELONG_WEB_TOKEN" in error and "0.0.0.0" in error
    error = one_line_error(cli("--db", sqlite_demo, "--host", "0.0.0.0", env={"JIELONG_WEB_TOKEN": "short"}))
    assert "at least 16 characters" in error


def test_a_taken_port_is_one_line(sqlite_demo) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        error = one_line_error(cli("--db", sqlite_demo, "--port", str(port), env={"JIELONG_WEB_TOKEN": ""}))
    assert f"cannot listen on 127.0.0.1:{port}" in error


def test_loopback_asks_no_login(sqlite_demo) -> None:
    with jielong_web(sqlite_demo, env={"JIELONG_WEB_TOKEN": ""}) as (url, _process), httpx.Client(base_url=url) as client:
        page = client.get("/campaigns")
        assert page.status_code == 200 and "周三水果团" in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store" and "server" not in page.headers
        assert client.get("/login?next=/sends").headers["location"] == "/sends"  # nothing to log in to
        assert "退出" not in page.text


def test_with_a_token_every_page_asks_for_it_and_the_token_is_never_logged(sqlite_demo) -> None:
    with jielong_web(sqlite_demo, "--host", "0.0.0.0", env={"JIELONG_WEB_TOKEN": TOKEN}) as (url, process):
        local = url.replace("0.0.0.0", "127.0.0.1")
        with httpx.Client(base_url=local) as client:
            first = client.get("/campaigns/fruit-1125?x=1")
            assert first.status_code == 303
            assert first.headers["location"] == "/login?next=%2Fcampaigns%2Ffruit-1125%3Fx%3D1"
            assert client.get("/charts/campaign/fruit-1125/hours.svg").status_code == 401
            assert client.get("/static/style.css").status_code == 200
            assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 303
            assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
            assert client.post("/login", data={"token": "nope", "next": "/"}).status_code == 401
            logged_in = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"})
            assert logged_in.status_code == 303 and logged_in.headers["location"] == "/"
            cookie = logged_in.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
            page = client.get("/campaigns/fruit-1125")
            assert page.status_code == 200 and "退出" in page.text
            assert client.get("/charts/campaign/fruit-1125/hours.svg").headers["content-type"] == "image/svg+xml"
            assert client.post("/logout").headers["location"] == "/login"
            client.cookies.clear()
            assert client.get("/").status_code == 303
        process.terminate()
        _out, log = process.communicate(timeout=10)
    assert "login with $JIELONG_WEB_TOKEN" in first_line(log, url) and TOKEN not in log
    assert "dashboard login failed" in log and 'GET /campaigns/fruit-1125 HTTP/1.1" 200' in log


def first_line(log: str, url: str) -> str:
    return f"dashboard on {url}/ (login with $JIELONG_WEB_TOKEN)" + log


def test_mistakes_answer_4xx_with_a_reason(demo_sessions) -> None:
    with serve(create_app(demo_sessions, clock=lambda: DEMO_DAY)) as url, httpx.Client(base_url=url) as client:
        for path, status, message in [
            ("/campaigns/nope", 404, "没有活动“nope”"), ("/charts/campaign/nope/hours.svg", 404, "没有活动“nope”"),
            ("/?day=2026-02-30", 400, "日期“2026-02-30”不对"), ("/charts/day/abc/groups.svg", 400, "日期“abc”不对"),
            ("/statements?month=1999-01", 400, "月份“1999-01”不对"), ("/late?page=-1", 400, "页码“-1”不对"),
            ("/unpaid?page=99999999999", 400, "不对"), ("/procurement?campaign=x", 404, "没有活动“x”"),
            ("/nowhere", 404, "没有这个页面"),
        ]:
            answer = client.get(path)
            assert (answer.status_code, message in answer.text) == (status, True), path
        assert client.post("/campaigns").status_code == 405  # read-only: nothing takes a POST
        assert client.get("/review?page=7").status_code == 200  # past the end: an empty page


def test_a_lost_database_is_a_503_page_not_a_traceback(pg_url) -> None:
    sessions = open_db(pg_url)
    from storage.setup import apply_setup, load_setup_text
    from tests.conftest import demo_setup_text

    with sessions.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text()))
    with serve(create_app(sessions, clock=lambda: DEMO_DAY)) as url, httpx.Client(base_url=url) as client:
        assert client.get("/campaigns").status_code == 200
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{pg_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
        answer = client.get("/campaigns")
        assert answer.status_code == 503 and "数据库暂时连不上" in answer.text
    sessions.kw["bind"].dispose()


def test_an_empty_platform_has_every_page(loaded_db) -> None:
    with serve(create_app(loaded_db, clock=lambda: DEMO_DAY)) as url, httpx.Client(base_url=url) as client:
        for path in ("/", "/campaigns", "/campaigns/fruit-1125", "/procurement", "/statements", "/review", "/late",
                     "/unpaid", "/sends", "/charts/day/2026-11-25/products.svg",
                     "/charts/campaign/fruit-1125/hours.svg"):
            assert client.get(path).status_code == 200, path


@pytest.fixture
def loaded_db(tmp_path):
    from storage.setup import apply_setup, load_setup_text
    from tests.conftest import demo_setup_text

    sessions = open_db(f"sqlite:///{tmp_path / 'empty.db'}")
    with sessions.begin() as session:
        apply_setup(session, load_setup_text(demo_setup_text()))
    yield sessions
    sessions.kw["bind"].dispose()


def test_ten_thousand_groups_come_a_page_at_a_time(loaded_db) -> None:
    add_groups(loaded_db, 10_000, at(25, 10))
    with serve(create_app(loaded_db, clock=lambda: DEMO_DAY)) as url, httpx.Client(base_url=url, timeout=60) as client:
        today = client.get("/")
        assert today.status_code == 200
        # 9,996 groups sold (four groups' only line is unmatched): 20 on the page, the rest on request.
        assert len(re.findall(r"幸福里\d+号群", today.text)) == 20 and "全部 9996 个群" in today.text
        every = client.get("/?all=1&page=200")
        assert every.status_code == 200 and "第 200 / 200 页" in every.text
        assert len(re.findall(r"幸福里\d+号群", every.text)) == 46 and "幸福里0号群" in every.text
        campaign = client.get("/campaigns/fruit-1125?all=1&page=2")
        assert "第 2 / 200 页" in campaign.text and "幸福里9949号群" in campaign.text
        assert client.get("/charts/campaign/fruit-1125/groups.svg").status_code == 200
        assert client.get("/unpaid?page=2").text.count("<tr>") == 50 + 1  # a page of rows and the header


def test_without_a_cjk_font_the_pages_say_so_and_show_their_tables(demo_sessions, monkeypatch) -> None:
    monkeypatch.setenv("JIELONG_CJK_FONT", "/nonexistent/font.ttc")
    with serve(create_app(demo_sessions, clock=lambda: DEMO_DAY)) as url, httpx.Client(base_url=url) as client:
        page = client.get("/campaigns/fruit-1125")
        assert page.status_code == 200 and "图表画不出来" in page.text and "JIELONG_CJK_FONT" in page.text
        assert "<img" not in page.text and "麒麟西瓜" in page.text
        chart = client.get("/charts/campaign/fruit-1125/hours.svg")
        assert chart.status_code == 503 and "/nonexistent/font.ttc" in chart.text
