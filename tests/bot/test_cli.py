"""The command line contracts: parse, load, replay (text and --json), rebuild, export, demo."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from tests.conftest import demo_setup_text

CATALOG = "sku,name,price,unit,aliases,stock\nXG01,麒麟西瓜,15,个,西瓜,\nJD01,土鸡蛋,28,盒,鸡蛋,\n"


def run(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_parse_prints_the_contract(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(CATALOG, encoding="utf-8")
    result = run("parse", "--catalog", str(tmp_path / "c.csv"), input="#接龙\n团\n1. 2栋301 李姐 西瓜1个 鸭蛋1盒\n")
    data = json.loads(result.output)
    assert data["is_chain"] and data["title"] == "团"
    assert data["products"][0] == {"sku": "XG01", "name": "麒麟西瓜", "price": 15, "unit": "个"}
    entry = data["entries"][0]
    assert {k: entry[k] for k in ("seq", "member", "address", "cancel", "author")} == {
        "seq": 1, "member": "李姐", "address": "2栋301", "cancel": False, "author": None}
    assert entry["items"][0] | {"score": 0} == {"text": "西瓜1个", "sku": "XG01", "name": "麒麟西瓜", "qty": 1,
                                                "unit": "个", "score": 0}
    assert entry["unmatched"][0]["text"] == "鸭蛋1盒" and entry["unmatched"][0]["reason"]


def test_parse_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("sku,name\nA,b\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["parse", "--catalog", str(tmp_path / "bad.csv")], input="x")
    assert result.exit_code == 2 and "line 1" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["parse"], input=b"\xff\xfe\x00")
    assert result.exit_code == 2 and "not UTF-8" in result.output


def write_setup(tmp_path: Path) -> Path:
    path = tmp_path / "setup.toml"
    path.write_text(demo_setup_text(), encoding="utf-8")
    return path


def test_load_is_idempotent_and_errors_name_the_key(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    setup = write_setup(tmp_path)
    assert run("load", str(setup), "--db", db).exit_code == 0
    assert run("load", str(setup), "--db", db).exit_code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[leaders]]\nid = "x"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["load", str(bad), "--db", db])
    assert result.exit_code == 1 and "leaders[0].name" in result.output


CHAT = [
    {"id": "m1", "time": "2026-11-25T09:05:00+08:00", "chat": "阳光小区3期团购群", "from": "wxid_wang", "name": "王姐",
     "text": "#接龙\n周三水果团\n1. 3栋502 王姐 西瓜2个 鸭蛋1盒"},
    "this line is not JSON",
    {"id": "m2", "time": "2026-11-25T09:10:00+08:00", "chat": "阳光小区3期团购群", "from": "wxid_zhang", "name": "张叔",
     "text": "#接龙\n周三水果团\n1. 3栋502 王姐 西瓜2个 鸭蛋1盒\n2. 张叔 鸡蛋1盒"},
    {"id": "m3", "time": "2026-11-25T14:00:00+08:00", "chat": None, "from": "wxid_lijie", "name": "李姐", "text": "汇总"},
]


def write_chat(tmp_path: Path) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in CHAT) + "\n",
                    encoding="utf-8")
    return path


def test_replay_json_and_bad_lines(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    run("load", str(write_setup(tmp_path)), "--db", db)
    result = CliRunner().invoke(main, ["replay", str(write_chat(tmp_path)), "--db", db, "--json"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"to": "阳光小区3期团购群", "mentions": ["wxid_wang"]}.items() <= lines[0].items()
    assert "鸭蛋1盒" in lines[0]["text"]
    totals = next(x for x in lines if x["to"] == "wxid_lijie")
    assert "麒麟西瓜：2个，30元" in totals["text"] and "土鸡蛋：1盒，28元" in totals["text"]
    assert ":2: skipped: not JSON" in result.stderr


def test_rebuild_equals_live_and_export(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    run("load", str(write_setup(tmp_path)), "--db", db)
    run("replay", str(write_chat(tmp_path)), "--db", db)

    def orders_csv() -> list[dict]:
        out = tmp_path / "orders.csv"
        run("export", "orders", "--db", db, "--out", str(out))
        raw = out.read_text(encoding="utf-8")
        assert raw.startswith("\ufeff")
        return [{k: v for k, v in row.items() if k != "last_changed"}
                for row in csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))]

    live = orders_csv()
    assert [(r["member"], r["sku"], r["qty"], r["status"]) for r in live] == [
        ("王姐", "XG01", "2", "ok"), ("王姐", "", "1", "unmatched"), ("张叔", "JD01", "1", "ok")]
    assert run("rebuild", "--db", db).exit_code == 0
    assert orders_csv() == live


def test_demo_runs_and_writes_the_exports(tmp_path: Path) -> None:
    result = run("demo", "--out", str(tmp_path / "out"))
    assert "🤖" in result.output and "已截单" in result.output and "到货啦" in result.output
    # two campaigns side by side in the one group, each closing on its own
    assert "【周三肉菜团】已截单" in result.output and "【周三水果团】已截单" in result.output
    for kind in ("orders", "pickup", "procurement", "statements"):
        assert (tmp_path / "out" / f"{kind}.csv").read_text(encoding="utf-8").startswith("\ufeff")


def test_replay_names_people_instead_of_ids(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    run("load", str(write_setup(tmp_path)), "--db", db)
    result = CliRunner().invoke(main, ["replay", str(write_chat(tmp_path)), "--db", db])
    assert "[私聊 李姐] 【周三水果团】汇总" in result.stdout
    assert "wxid_lijie]" not in result.stdout
    assert "[阳光小区3期团购群] @王姐" in result.stdout


def test_export_xlsx_with_chinese_headers(tmp_path: Path) -> None:
    import openpyxl

    db = f"sqlite:///{tmp_path / 'x.db'}"
    run("load", str(write_setup(tmp_path)), "--db", db)
    run("replay", str(write_chat(tmp_path)), "--db", db)
    out = tmp_path / "orders.xlsx"
    result = run("export", "orders", "--db", db, "--out", str(out), "--headers", "zh")
    assert result.exit_code == 0 and "3 rows" in result.stderr
    sheet = openpyxl.load_workbook(out)["orders"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["活动", "群", "团长", "团员微信号", "团员"] and "数量" in header and "下单时间" in header
    assert sheet.max_row == 4
    csv_out = tmp_path / "orders.csv"
    assert run("export", "orders", "--db", db, "--out", str(csv_out), "--format", "csv", "--headers", "zh").exit_code == 0
    assert csv_out.read_text(encoding="utf-8").startswith("\ufeff活动,群,团长,团员微信号,团员,地址")
    to_stdout = CliRunner().invoke(main, ["export", "pickup", "--db", db, "--format", "xlsx"])
    assert to_stdout.exit_code == 0 and to_stdout.stdout_bytes.startswith(b"PK\x03\x04")


def test_every_export_header_has_a_chinese_label() -> None:
    from bot import texts
    from storage.exports import all_columns

    assert all_columns() <= set(texts.EXPORT_HEADERS)
    assert len(set(texts.EXPORT_HEADERS.values())) == len(texts.EXPORT_HEADERS)


def test_progress_bars_draw_only_on_a_terminal() -> None:
    from rich.console import Console

    from bot.cli.progress import progress_bar

    screen = io.StringIO()
    with progress_bar("rebuild", 3000, console=Console(file=screen, force_terminal=True, width=80)) as tick:
        assert tick is not None
        tick(1000)
        tick(3000)
    assert "rebuild" in screen.getvalue()
    quiet = io.StringIO()
    with progress_bar("rebuild", 3000, console=Console(file=quiet, force_terminal=False)) as tick:
        assert tick is None
    assert quiet.getvalue() == ""


def test_rebuild_and_export_print_no_bar_when_not_on_a_terminal(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    run("load", str(write_setup(tmp_path)), "--db", db)
    run("replay", str(write_chat(tmp_path)), "--db", db)
    rebuilt = run("rebuild", "--db", db)
    assert rebuilt.stderr == "rebuilt from 3 messages\n"
    exported = run("export", "orders", "--db", db, "--out", str(tmp_path / "o.csv"))
    assert exported.stderr == "3 rows\n"
