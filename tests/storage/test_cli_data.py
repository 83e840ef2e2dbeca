"""`jielong load`, `jielong export`, `jielong db upgrade`: contracts and one-line errors."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from bot.cli import main
from storage.db import open_db
from tests.storage.helpers import SETUP, Feed, at, line


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def setup_file(tmp_path):
    path = tmp_path / "setup.toml"
    path.write_text(SETUP, encoding="utf-8")
    return path


def test_db_upgrade_then_load_then_export(db_url, setup_file, tmp_path):
    assert run("db", "upgrade", "--db", db_url).exit_code == 0
    assert run("load", str(setup_file), "--db", db_url).exit_code == 0
    assert run("load", str(setup_file), "--db", db_url).exit_code == 0  # idempotent
    sessions = open_db(db_url)
    Feed(sessions).chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at(10))
    sessions.kw["bind"].dispose()
    out = tmp_path / "orders.csv"
    result = run("export", "orders", "--db", db_url, "--campaign", "fruit-1124", "--from", "2026-11-24",
                 "--to", "2026-11-25", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["member_id"], r["qty"], r["amount"]) for r in rows] == [("wxid_wang", "2", "30")]
    stdout = run("export", "statements", "--db", db_url, "--leader", "wxid_li")
    assert stdout.exit_code == 0
    assert stdout.stdout.startswith("\ufeffleader_id,leader,from,to")


def test_export_to_stdout_with_the_environment_database(monkeypatch, tmp_path, setup_file):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("JIELONG_DB", url)
    assert run("load", str(setup_file)).exit_code == 0
    result = run("export", "procurement")
    assert result.exit_code == 0
    assert result.stdout_bytes.decode() == "\ufeffcampaign,sku,product,unit,qty,amount,groups\r\n"


@pytest.mark.parametrize(("args", "message"), [
    (("export", "orders", "--from", "2026-13-01"), "is not a date like 2026-11-01"),
    (("export", "nonsense"), "'nonsense' is not one of 'orders'"),
    (("export", "orders", "--db", "sqlite:////nonexistent/dir/x.db"), "database sqlite:////nonexistent/dir/x.db does not exist"),
    (("db", "upgrade", "--db", "postgresql://postgres@127.0.0.1:1/x"), "database postgresql+psycopg://"),
    (("load", "/nonexistent/setup.toml"), "cannot read /nonexistent/setup.toml"),
], ids=["bad-date", "bad-kind", "unopenable-sqlite", "unreachable-postgres", "missing-file"])
def test_errors_are_one_line_without_traceback(tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("JIELONG_DB", f"sqlite:///{tmp_path / 'x.db'}")
    result = run(*args)
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output
    assert len([x for x in result.output.splitlines() if x.startswith("Error")]) == 1


def test_a_bad_setup_names_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[campaigns]]\nid = "c"\ntitle = "t"\nopens = 2026-11-24T09:00:00\n', encoding="utf-8")
    result = run("load", str(bad), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code != 0
    assert "campaigns[0].deadline: missing" in result.output and "Traceback" not in result.output


def test_statements_with_chinese_headers_and_an_inclusive_to(db_url, setup_file):
    assert run("load", str(setup_file), "--db", db_url).exit_code == 0
    sessions = open_db(db_url)
    Feed(sessions).chain("wxid_wang", [line(1, "王姐", ("XG01", 2))], at(10))  # on the 24th
    sessions.kw["bind"].dispose()
    result = run("export", "statements", "--db", db_url, "--from", "2026-11-24", "--to", "2026-11-24", "--headers", "zh")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    assert rows[0] == ["团长微信号", "团长", "起", "止", "订单数", "销售额", "退款及缺货调整", "实际销售额", "佣金比例",
                       "佣金", "应付佣金"]
    assert rows[1:] == [["wxid_li", "李姐", "2026-11-24", "2026-11-24", "1", "30", "0", "30", "0.12", "3.6", "3.6"],
                        ["wxid_zhou", "老周", "2026-11-24", "2026-11-24", "0", "0", "0", "0", "0.1", "0", "0"],
                        ["合计", "", "2026-11-24", "2026-11-24", "1", "30", "0", "30", "", "3.6", "3.6"]]
    orders = run("export", "orders", "--db", db_url, "--to", "2026-11-24", "--headers", "zh")
    header, *lines = list(csv.reader(io.StringIO(orders.stdout.removeprefix("\ufeff"))))
    assert header[:3] == ["活动", "群", "团长"] and len(lines) == 1  # the 24th itself is included
    assert dict(zip(header, lines[0], strict=True))["订单号"] == "1"
    assert len(run("export", "orders", "--db", db_url, "--to", "2026-11-23").stdout.splitlines()) == 1  # the header
    assert "is outside" in run("export", "orders", "--db", db_url, "--to", "9999-12-31").output
