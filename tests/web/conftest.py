"""The dashboard served for real: uvicorn on 127.0.0.1 (in a thread, or `jielong web` in a
child process), the demo's day as data, and Debian's chromium driven by selenium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from bot.demo import run_demo
from bot.web import create_app
from storage.db import open_db
from tests.conftest import at, fresh_pg_database

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DEMO_DAY = at(25, 21, 30)  # the demo's campaign day, evening


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve an ASGI app on a free port of 127.0.0.1 in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def jielong_web(db_url: str, *args: str, env: dict | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`jielong web --port 0` in a child process; yields its base URL (read from its first line)."""
    command = [sys.executable, "-c", "from bot.cli import main; main()", "web", "--db", db_url, "--port", "0", *args]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                               env={**os.environ, **(env or {})})
    try:
        line = process.stderr.readline()
        if "dashboard on " not in line:
            process.wait(timeout=10)
            raise AssertionError(f"jielong web did not start: {line}{process.stderr.read()}")
        yield line.split("dashboard on ", 1)[1].split("/ ", 1)[0], process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_db(request, tmp_path_factory, pg_reason) -> Iterator[str]:
    """A database holding the demo's day (orders, review, late, waitlist, shortage, pickup),
    on SQLite and on PostgreSQL; made once per test module (the dashboard only reads it)."""
    folder = tmp_path_factory.mktemp("demo")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'demo.db'}"
        run_demo(url, folder / "demo-out", lambda _line: None)
        yield url
        return
    with fresh_pg_database(pg_reason) as url:
        run_demo(url, folder / "demo-out", lambda _line: None)
        yield url


@pytest.fixture(scope="module")
def demo_sessions(demo_db):
    sessions = open_db(demo_db)
    yield sessions
    sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def site(demo_sessions) -> Iterator[str]:
    """The dashboard over the demo's database, its clock on the demo's evening."""
    with serve(create_app(demo_sessions, clock=lambda: DEMO_DAY)) as url:
        yield url


def browser_problem() -> str | None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if not missing:
        return None
    return (f"no browser for the dashboard's tests ({', '.join(missing)} missing): "
            "scripts/install_system_packages.sh installs Debian's chromium and chromium-driver as root")


def browser_can_be_installed() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


@pytest.fixture(scope="session")
def browser():
    """Headless chromium through chromedriver, reading the browser's console log."""
    problem = browser_problem()
    if problem:
        if os.environ.get("CI") and browser_can_be_installed():
            pytest.fail(problem + " (CI as root with apt: it should have been installed)")
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="jielong-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1800", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
