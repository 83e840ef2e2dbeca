"""Writing an export to a file without ever destroying something else.

An export replaces only a file that is itself a previous export (or empty): never the
database, never a report somebody wrote by hand (D8). It is written to a temporary file
beside the target and renamed over it once complete, so a failed export leaves the old file
as it was. Special files (/dev/stdout, a pipe) are written directly.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from storage.exports.cells import BOM
from storage.exports.xlsx import CREATOR


class OutputError(ValueError):
    """An output file that must not or cannot be written; the message says why."""


def check_output(path: Path, headers: set[str], database: Path | None = None) -> None:
    """Refuse a target that is the database, a directory, in a missing folder, or an existing
    file that no export wrote. `headers`: every header cell an export may have written."""
    if not path.parent.is_dir():
        raise OutputError(f"{path}: the folder {path.parent} does not exist")
    if not path.exists():
        return
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name")
    if database is not None and database.exists() and os.path.samefile(path, database):
        raise OutputError(f"{path}: is the database itself; give another file name")
    if not stat.S_ISREG(path.stat().st_mode):
        return  # a device or a pipe: written as it is
    if not is_previous_export(path, headers):
        raise OutputError(f"{path}: exists and is not a jielong export; refusing to overwrite it "
                          "(remove it or choose another --out)")


def is_previous_export(path: Path, headers: set[str]) -> bool:
    """An empty file, a CSV whose first line is the BOM and export headers, or an xlsx this
    program wrote."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if not head:
        return True
    if head.startswith(b"PK\x03\x04"):
        return _our_workbook(path)
    if not head.startswith(BOM.encode()):
        return False
    first = head[len(BOM.encode()):].split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    cells = next(csv.reader(io.StringIO(first)), [])
    return bool(cells) and set(cells) <= headers


def _our_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            core = ElementTree.fromstring(archive.read("docProps/core.xml"))
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError):
        return False
    creator = core.find("{http://purl.org/dc/elements/1.1/}creator")
    return creator is not None and creator.text == CREATOR


@contextmanager
def replacing(path: Path, binary: bool) -> Iterator[IO]:
    """A file to write the export into; on success it becomes `path` (atomically), on any
    error `path` is left untouched and the partial file removed."""
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        with _open(path, binary) as out:
            yield out
        return
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with _open(fd, binary) as out:
            yield out
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def _open(target, binary: bool) -> IO:
    if binary:
        return open(target, "wb")
    return open(target, "w", encoding="utf-8", newline="")


def _mode_for(path: Path) -> int:
    """The old file's permissions, else what a new file gets under the umask (mkstemp's 0600
    would make a report unreadable to the group that reads it)."""
    if path.exists():
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
