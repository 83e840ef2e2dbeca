"""`jielong run` start-up mistakes are one line and a non-zero exit, checked before anything
runs; `--version` and `--log-level`."""

from __future__ import annotations

import socket
import sys

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.e2e.gateway_helpers import free_port

TOKEN = "a-long-enough-secret-123"


QUIET = {name: None for name in ("JIELONG_TRANSPORT", "JIELONG_LISTEN", "JIELONG_SEND_URL", "JIELONG_VENDOR",
                                  "JIELONG_DB", "JIELONG_HTTP_TOKEN", "JIELONG_GEWE_TOKEN")}


def run(*args: str, env: dict[str, str | None] | None = None):
    return CliRunner().invoke(main, list(args), env={**QUIET, **(env or {})})


def one_line_error(result, *words: str) -> None:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, result.output
    for word in words:
        assert word in error[0], result.output


def http(*extra: str, token: str | None = TOKEN, db: str = "sqlite://", **env):
    return run("run", "--transport", "http", "--db", db, *extra,
               env={"JIELONG_HTTP_TOKEN": token, **env})


@pytest.mark.parametrize(("args", "token", "words"), [
    (("--send-url", "http://127.0.0.1:9/send"), None, ("JIELONG_HTTP_TOKEN is not set",)),
    (("--send-url", "http://127.0.0.1:9/send"), "short", ("at least 16",)),
    (("--send-url", "http://127.0.0.1:9/send"), "with spaces in the secret", ("without spaces",)),
    (("--listen", "8080", "--send-url", "http://127.0.0.1:9/send"), TOKEN, ("--listen", "HOST:PORT")),
    (("--listen", "127.0.0.1:99999", "--send-url", "http://127.0.0.1:9/send"), TOKEN, ("--listen",)),
    (("--listen", "127.0.0.1:http", "--send-url", "http://127.0.0.1:9/send"), TOKEN, ("--listen",)),
    ((), TOKEN, ("--send-url is required",)),
    (("--send-url", "ftp://example/x"), TOKEN, ("--send-url", "http(s) URL")),
    (("--send-url", "127.0.0.1:9"), TOKEN, ("--send-url",)),
    (("--vendor", "gewe", "--send-url", "http://127.0.0.1:9/v2/api"), TOKEN, ("JIELONG_GEWE_TOKEN is not set",)),
])
def test_http_settings_mistakes(args, token, words) -> None:
    one_line_error(http(*args, token=token), *words)


def test_an_unknown_vendor_is_refused_by_name() -> None:
    result = http("--vendor", "nope", "--send-url", "http://127.0.0.1:9/send")
    assert result.exit_code == 2 and "'nope' is not one of" in result.output


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        one_line_error(http("--listen", f"127.0.0.1:{port}", "--send-url", "http://127.0.0.1:9/send"),
                       "cannot listen on", str(port))


def test_the_listening_socket_is_tcp_so_answers_go_out_without_delay() -> None:
    from bot.transports.http import bind

    sock = bind("127.0.0.1", 0)
    try:
        # asyncio sets TCP_NODELAY on accepted connections only for sockets that say TCP;
        # without it each answer on a kept-alive connection waited ~40 ms (bench_http.py).
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_an_unreachable_database_is_one_line() -> None:
    result = http("--listen", f"127.0.0.1:{free_port()}", "--send-url", "http://127.0.0.1:9/send",
                  db="postgresql+psycopg://nobody@127.0.0.1:1/none")
    one_line_error(result, "database")


def test_a_missing_extra_is_one_line(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    one_line_error(http("--send-url", "http://127.0.0.1:9/send"), "pip install 'jielong[http]'")


def test_the_token_never_reaches_the_output() -> None:
    result = http("--listen", "nonsense", "--send-url", "http://127.0.0.1:9/send")
    assert TOKEN not in result.output


@pytest.mark.parametrize(("env", "words"), [
    ({"WECHATY_PUPPET_SERVICE_TOKEN": None, "WECHATY_PUPPET_SERVICE_ENDPOINT": "127.0.0.1:1"}, ("TOKEN is not set",)),
    ({"WECHATY_PUPPET_SERVICE_TOKEN": "t0ken-123", "WECHATY_PUPPET_SERVICE_ENDPOINT": None}, ("ENDPOINT is not set",)),
    ({"WECHATY_PUPPET_SERVICE_TOKEN": "t0ken-123", "WECHATY_PUPPET_SERVICE_ENDPOINT": "nowhere"}, ("not host:port",)),
])
def test_wechaty_settings_mistakes(env, words) -> None:
    one_line_error(run("run", "--db", "sqlite://", env=env), *words)


def test_wechaty_gateway_unreachable_is_one_line() -> None:
    env = {"WECHATY_PUPPET_SERVICE_TOKEN": "t0ken-123", "WECHATY_PUPPET_SERVICE_ENDPOINT": f"127.0.0.1:{free_port()}"}
    one_line_error(run("run", "--db", "sqlite://", env=env), "cannot reach the gateway")


def test_the_http_settings_can_come_from_the_environment() -> None:
    result = run("run", "--db", "sqlite://", env={"JIELONG_TRANSPORT": "http", "JIELONG_HTTP_TOKEN": TOKEN,
                                                 "JIELONG_LISTEN": "nonsense", "JIELONG_SEND_URL": "http://x/"})
    one_line_error(result, "--listen 'nonsense'")
    assert "JIELONG_SEND_URL" in run("run", "--help").output


def test_a_missing_wechaty_extra_is_one_line(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "wechaty_puppet.schemas.puppet", None)
    with socket.socket() as gateway:
        gateway.bind(("127.0.0.1", 0))
        gateway.listen(1)
        env = {"WECHATY_PUPPET_SERVICE_TOKEN": "t0ken-123",
               "WECHATY_PUPPET_SERVICE_ENDPOINT": f"127.0.0.1:{gateway.getsockname()[1]}"}
        one_line_error(run("run", "--db", "sqlite://", env=env), "pip install 'jielong[wechaty]'")


def test_version_and_log_level() -> None:
    from importlib.metadata import version

    assert run("--version").output.strip() == f"jielong {version('jielong')}"
    assert run("--log-level", "loud", "who").exit_code == 2
    assert run("--log-level", "WARNING", "who", "--help").exit_code == 0
    assert "--log-level" in run("--help").output and "-v, --verbose" in run("--help").output
