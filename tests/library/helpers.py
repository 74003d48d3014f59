"""Helpers shared by the library tests: the CLI in-process, its one-line errors, catalog
look-ups made with plain sqlite3 (independent of the code under test)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.in_process import run


PROGRESS_BAR = "\u2501"  # the bar of a progress line (rich), which ends on stderr too


def one_line_error(result, *parts: str) -> str:
    """Assert the command said exactly one line on stderr (besides a progress bar) containing
    every part; return it."""
    lines = [line for line in result.stderr.splitlines() if PROGRESS_BAR not in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def source_ids(lib: Path) -> dict[str, str]:
    """{file stem: source id} of a library's footage."""
    con = sqlite3.connect(lib / "catalog.sqlite")
    try:
        return {Path(p).stem: i for i, p in con.execute("SELECT id, path FROM sources")}
    finally:
        con.close()


def integrity(lib: Path) -> str:
    con = sqlite3.connect(lib / "catalog.sqlite")
    try:
        return " ".join(r[0] for r in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()


def sql(lib: Path, statement: str, params=()) -> list[tuple]:
    """Run one statement on a library's catalog with plain sqlite3 (committed)."""
    con = sqlite3.connect(lib / "catalog.sqlite")
    try:
        rows = con.execute(statement, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()
