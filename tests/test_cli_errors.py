"""Every command against every class of mistake: one line on stderr, a non-zero exit, no
traceback, and nothing created or destroyed by accident (issue 15.3, red-team D8, X5, U5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import demo_setup_text

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/nowhere"

# Every command that reads what a set-up put into a database.
READERS = {
    "export-orders": ["export", "orders"],
    "export-pickup": ["export", "pickup"],
    "export-procurement": ["export", "procurement"],
    "export-statements": ["export", "statements"],
    "replay": ["replay", "{chat}"],
    "rebuild": ["rebuild"],
    "console": ["console"],  # with --db: the database given (without, it is a sandbox of its own)
}


def one_line_error(result, *fragments: str) -> str:
    """The result failed with exactly one error line holding each fragment, and no traceback."""
    output = result.output if hasattr(result, "output") else result.stdout + result.stderr
    assert result.exit_code if hasattr(result, "exit_code") else result.returncode, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], output
    return errors[0]


@pytest.fixture
def chat(tmp_path) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"id": "m1", "time": "2026-11-25T09:05:00+08:00", "chat": "阳光小区3期团购群",
                                "from": "wxid_wang", "name": "王姐", "text": "我的订单"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


@pytest.fixture
def setup_file(tmp_path) -> Path:
    path = tmp_path / "setup.toml"
    path.write_text(demo_setup_text(), encoding="utf-8")
    return path


@pytest.fixture
def loaded_db(tmp_path, setup_file) -> tuple[str, Path]:
    path = tmp_path / "loaded.db"
    assert invoke("load", str(setup_file), "--db", f"sqlite:///{path}").exit_code == 0
    return f"sqlite:///{path}", path


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def reader(name: str, chat: Path, *extra: str) -> list[str]:
    return [a.format(chat=chat) for a in READERS[name]] + list(extra)


# --- databases that are not there, not reachable, not set up ---------------------------------

@pytest.mark.parametrize("command", READERS)
def test_a_missing_sqlite_file_is_not_created(command, chat, tmp_path):
    missing = tmp_path / "missing.db"
    result = invoke(*reader(command, chat, "--db", f"sqlite:///{missing}"), input="/quit\n")
    one_line_error(result, f"database sqlite:///{missing} does not exist", "jielong load SETUP.toml")
    assert not missing.exists()


@pytest.mark.parametrize("command", READERS)
def test_forgetting_db_creates_no_jielong_db(command, chat, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIELONG_DB", raising=False)
    args = reader(command, chat)
    if command == "console":
        args += ["--db", "sqlite:///jielong.db"]  # the console without --db is a sandbox of its own
    one_line_error(invoke(*args, input="/quit\n"), "sqlite:///jielong.db does not exist")
    assert not (tmp_path / "jielong.db").exists()


@pytest.mark.parametrize("command", READERS)
def test_a_database_without_a_set_up_is_refused(command, chat, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert invoke("db", "upgrade", "--db", url).exit_code == 0
    one_line_error(invoke(*reader(command, chat, "--db", url), input="/quit\n"), "holds no set-up")


@pytest.mark.postgres
@pytest.mark.parametrize("command", ["export-orders", "rebuild", "replay"])
def test_a_postgres_database_without_a_set_up_is_refused(command, chat, pg_url):
    one_line_error(invoke(*reader(command, chat, "--db", pg_url)), "holds no set-up")


@pytest.mark.parametrize("command", READERS)
def test_a_file_that_is_not_a_database(command, chat, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database at all\n" * 100, encoding="utf-8")
    one_line_error(invoke(*reader(command, chat, "--db", f"sqlite:///{notes}"), input="/quit\n"),
                   "file is not a database")
    assert notes.read_text(encoding="utf-8").startswith("not a database")


@pytest.mark.parametrize("command", [*READERS, "load", "db-upgrade"])
def test_an_unreachable_postgres(command, chat, setup_file):
    args = {"load": ["load", str(setup_file)], "db-upgrade": ["db", "upgrade"]}.get(command) or reader(command, chat)
    one_line_error(invoke(*args, "--db", UNREACHABLE_PG, input="/quit\n"),
                   "database postgresql+psycopg://postgres@127.0.0.1:1/nowhere:", "Connection refused")


def test_a_password_in_the_url_is_never_shown(chat):
    result = invoke("export", "orders", "--db", "postgresql://postgres:s3cret@127.0.0.1:1/nowhere")
    assert "s3cret" not in result.output
    one_line_error(result, "postgres:***@127.0.0.1:1")


@pytest.mark.parametrize("command", ["export-orders", "rebuild", "console", "load", "db-upgrade"])
def test_postgres_without_the_postgres_extra(command, chat, setup_file):
    """A real process in which the PostgreSQL driver cannot be imported."""
    args = {"load": ["load", str(setup_file)], "db-upgrade": ["db", "upgrade"]}.get(command) or reader(command, chat)
    code = "import sys; sys.modules['psycopg'] = None; from bot.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code, *args, "--db", "postgresql://u@127.0.0.1/x"],
                            input="/quit\n", capture_output=True, text=True, cwd=ROOT, timeout=120)
    one_line_error(result, "PostgreSQL needs the postgres extra", "jielong[postgres]")


# --- export options ------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "fragments"), [
    (["orders", "--campaign", "fruit-1152"], ["unknown campaign 'fruit-1152' — did you mean fruit-1125?"]),
    (["pickup", "--campaign", "zzz"], ["unknown campaign 'zzz' (known: fruit-1125)"]),
    (["orders", "--leader", "wxid_lijei"], ["unknown leader 'wxid_lijei' — did you mean wxid_lijie"]),
    (["statements", "--leader", "nobody"], ["unknown leader 'nobody'"]),
    (["statements", "--campaign", "no-such-campaign"], ["no-such-campaign"]),
    (["orders", "--from", "0001-01-01"], ["--from: 0001-01-01 is outside 1970-01-01…2999-12-31"]),
    (["pickup", "--from", "0001-01-01"], ["--from: 0001-01-01 is outside"]),
    (["statements", "--to", "9999-12-31"], ["--to: 9999-12-31 is outside"]),
    (["statements", "--from", "9999-12-31"], ["--from: 9999-12-31 is outside"]),
    (["orders", "--from", "2026-13-01"], ["--from: '2026-13-01' is not a date like 2026-11-01"]),
    (["orders", "--from", "2026-02-30"], ["is not a date"]),
    (["orders", "--from", "2026-12-01", "--to", "2026-11-01"], ["the span is empty"]),
    (["orders", "--out", "/nonexistent/folder/x.csv"], ["the folder /nonexistent/folder does not exist"]),
    (["orders", "--out", "/dev/full"], ["cannot write /dev/full: No space left on device"]),
    (["orders", "--out", "/proc/version"], ["/proc/version: exists and is not a jielong export"]),
    (["orders", "--out", "/tmp"], ["/tmp: is a folder"]),
], ids=lambda x: " ".join(x) if isinstance(x, list) and x and x[0] in ("orders", "pickup", "statements") else "")
def test_export_mistakes(loaded_db, args, fragments):
    if args[-1] == "/dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    url, _path = loaded_db
    one_line_error(invoke("export", *args, "--db", url), *fragments)


def test_export_refuses_to_overwrite_the_database(loaded_db):
    url, path = loaded_db
    before = path.read_bytes()
    one_line_error(invoke("export", "orders", "--db", url, "--out", str(path)), "is the database itself")
    assert path.read_bytes() == before
    assert invoke("export", "orders", "--db", url).exit_code == 0  # still a database


def test_export_refuses_a_file_it_did_not_write_and_replaces_its_own(loaded_db, tmp_path):
    url, _ = loaded_db
    report = tmp_path / "report.csv"
    report.write_text("月报,手写的\n", encoding="utf-8")
    one_line_error(invoke("export", "orders", "--db", url, "--out", str(report)), "is not a jielong export")
    assert report.read_text(encoding="utf-8") == "月报,手写的\n"
    ours = tmp_path / "orders.csv"
    for headers in ("en", "zh", "en"):  # an export in either language may be replaced by the next
        assert invoke("export", "orders", "--db", url, "--out", str(ours), "--headers", headers).exit_code == 0
    xlsx = tmp_path / "orders.xlsx"
    for _ in range(2):
        assert invoke("export", "orders", "--db", url, "--out", str(xlsx)).exit_code == 0
    os.chmod(ours, 0o640)
    assert invoke("export", "pickup", "--db", url, "--out", str(ours)).exit_code == 0
    assert oct(ours.stat().st_mode & 0o777) == oct(0o640)  # the old file's permissions are kept
    assert not list(tmp_path.glob(".*.part"))


def test_a_failed_export_leaves_the_old_file_intact(loaded_db, tmp_path, monkeypatch):
    url, _ = loaded_db
    out = tmp_path / "orders.csv"
    assert invoke("export", "orders", "--db", url, "--out", str(out)).exit_code == 0
    before = out.read_bytes()

    def half_then_fail(session, kind, file, *args, **kwargs):
        file.write("\ufeffcampaign,half a row")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bot.cli.data.export", half_then_fail)
    one_line_error(invoke("export", "orders", "--db", url, "--out", str(out)), "No space left on device")
    assert out.read_bytes() == before
    assert not list(tmp_path.glob(".*.part"))


def test_out_dash_is_stdout(loaded_db, tmp_path, monkeypatch):
    url, _ = loaded_db
    monkeypatch.chdir(tmp_path)
    result = invoke("export", "procurement", "--db", url, "--out", "-")
    assert result.exit_code == 0 and result.stdout.startswith("\ufeffcampaign,sku")
    assert not (tmp_path / "-").exists()


def test_an_unexpected_error_is_one_line_and_names_verbose(loaded_db, monkeypatch):
    url, _ = loaded_db

    def broken(*args, **kwargs):
        raise RuntimeError("something nobody expected\nsecond line")

    monkeypatch.setattr("bot.cli.data.check_filter", broken)
    line = one_line_error(invoke("export", "orders", "--db", url), "unexpected RuntimeError: something nobody expected")
    assert "run with -v" in line and "second line" not in line


# --- set-up files ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fragment"), [
    ("[platform]\ncomission_rate = 0.1\n", "platform.comission_rate: unknown key — did you mean commission_rate?"),
    ("x = = 1", "not valid TOML"),
    ('[settings]\ngroup_min_interval = 30\n', 'settings.group_min_interval: must be a duration like "30s"'),
], ids=["typo", "not-toml", "setting"])
def test_load_mistakes(tmp_path, text, fragment):
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    db = tmp_path / "x.db"
    one_line_error(invoke("load", str(bad), "--db", f"sqlite:///{db}"), f"{bad}: {fragment}")
    assert not db.exists()  # a bad file is refused before the database is touched


def test_load_tells_a_moved_group(tmp_path, setup_file):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert invoke("load", str(setup_file), "--db", url).exit_code == 0
    moved = tmp_path / "moved.toml"
    moved.write_text(demo_setup_text().replace('groups = ["阳光小区3期团购群"]\n', "").replace(
        'groups = ["翠苑二区邻里群"]', 'groups = ["翠苑二区邻里群", "阳光小区3期团购群"]'), encoding="utf-8")
    result = invoke("load", str(moved), "--db", url)
    assert result.exit_code == 0
    assert "note: group '阳光小区3期团购群' moved from leader wxid_lijie to wxid_laozhou" in result.stderr
