"""`jielong parse [--catalog CATALOG.csv] [FILE]`: one message in, one JSON object out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli import main
from parsers import CatalogError, parse_catalog_csv, parse_message, to_json_dict
from parsers.model import ParsedMessage


def read_utf8(path: str | None, what: str) -> str:
    """Read a UTF-8 file (or stdin for None/'-'); undecodable bytes are a clear usage error."""
    try:
        data = sys.stdin.buffer.read() if path in (None, "-") else Path(path).read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.UsageError(f"{what} is not UTF-8 text (byte {exc.start})") from None


def result_json(parsed: ParsedMessage) -> dict:
    data = {
        "is_chain": parsed.is_chain,
        "title": parsed.title,
        "products": [
            {k: v for k, v in to_json_dict(p).items() if k in ("sku", "name", "price", "unit")}
            for p in parsed.products
        ],
        "entries": [_entry_json(e) for e in parsed.entries],
        "warnings": parsed.warnings,
    }
    if parsed.order is not None:
        data["order"] = [to_json_dict(i) for i in parsed.order]
        data["order_unmatched"] = [to_json_dict(u) for u in parsed.order_unmatched or []]
    return data


def _entry_json(entry) -> dict:
    data = to_json_dict(entry)
    if data.get("time") is None:
        del data["time"]  # only native (type 53) chains carry entry times
    return data


@main.command("parse")
@click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False), help="Catalog CSV.")
@click.argument("file", required=False)
def parse_command(catalog_path: str | None, file: str | None) -> None:
    """Parse one message (FILE, or stdin) and print it as JSON."""
    catalog = None
    if catalog_path:
        try:
            catalog = parse_catalog_csv(read_utf8(catalog_path, "catalog"))
        except CatalogError as exc:
            raise click.UsageError(f"catalog {catalog_path}: {exc}") from None
    text = read_utf8(file, "message")
    click.echo(json.dumps(result_json(parse_message(text, catalog)), ensure_ascii=False, indent=1))
