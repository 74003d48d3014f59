"""A damaged library is said in one line by every command, `library info` never calls it
healthy, ingest repairs what it can, and `adcut library check [--repair]` finds and fixes the
rest. Every library here is a real one (generated footage, real encoders), damaged on disk."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from adcut.core.errors import LibraryError
from tests.library.helpers import integrity, one_line_error, run, source_ids, sql

BRIEF = "Spark running shoes: light, fast, bright colours. Buy now."


def page_of(lib: Path, table: str) -> tuple[int, int]:
    """(byte offset, size) of the root page of `table` in the catalog file."""
    con = sqlite3.connect(lib / "catalog.sqlite")
    try:
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()
    assert not (lib / "catalog.sqlite-wal").exists()  # every page is in the main file
    return (root - 1) * size, size


def garble_text(lib: Path, table: str, text: str) -> None:
    """Overwrite the bytes of `text` inside `table`'s own page (not its indexes) with bytes
    that are not UTF-8, as a bad sector or a half-copied file would."""
    db = lib / "catalog.sqlite"
    start, size = page_of(lib, table)
    data = bytearray(db.read_bytes())
    at = data.find(text.encode(), start, start + size)
    assert at >= 0, f"{text!r} is not in the {table} page"
    data[at:at + len(text)] = b"\xa5" * len(text)
    db.write_bytes(bytes(data))


def break_page_headers(lib: Path, tables: list[str]) -> None:
    """Overwrite the b-tree header at the start of each table's page: SQLite reports the
    database as malformed when it reads them."""
    db = lib / "catalog.sqlite"
    data = bytearray(db.read_bytes())
    for table in tables:
        start, _ = page_of(lib, table)
        data[start:start + 12] = b"\xa5" * 12
    db.write_bytes(bytes(data))


def plan(lib: Path, tmp_path: Path):
    return run("edit", "--library", lib, "--brief", BRIEF, "--plan-only", tmp_path / "plan.json")


# -- the catalog -----------------------------------------------------------------------------

@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("damage", ["text that is not text", "broken page headers"])
def test_a_damaged_catalog_is_one_line_in_every_command(library, built_library, tmp_path,
                                                        damage):
    _, sources = built_library
    if damage == "text that is not text":
        clip = f"{source_ids(library)['b']}-0001"
        garble_text(library, "sources", str(sources["a"]))
        garble_text(library, "clips", clip)
    else:
        break_page_headers(library, ["sources", "clips"])
    damaged = f"the catalog of {library} is damaged"
    check = f"adcut library check {library}"

    for args in (("ingest", *sources.values(), "--library", library, "--asr", "none"),
                 ("library", "ls", library)):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        one_line_error(result, damaged, check)
    result = plan(library, tmp_path)
    assert result.exit_code == 2
    one_line_error(result, damaged, check)
    assert not (tmp_path / "plan.json").exists()

    info = run("library", "info", library)
    assert info.exit_code == 1 and "internal error" not in info.stderr
    assert "catalog.sqlite: damaged" in info.stdout and check in info.stdout
    assert json.loads(run("library", "info", library, "--json").stdout)["healthy"] is False

    result = run("library", "check", library)
    assert result.exit_code == 1
    assert "catalog.sqlite: damaged" in result.stdout and "move the library aside" in result.stdout
    repair = run("library", "check", "--repair", library)
    assert repair.exit_code == 1 and "move the library aside" in repair.stdout


@pytest.mark.hostile("library")
def test_info_reports_damage_only_the_full_sqlite_check_sees(library):
    # A clip id changed in its row but not in the index over it: no read fails, only
    # integrity_check (which compares indexes with their tables) notices.
    clip = f"{source_ids(library)['b']}-0002"
    db = library / "catalog.sqlite"
    start, size = page_of(library, "clips")
    data = bytearray(db.read_bytes())
    at = data.find(clip.encode(), start, start + size)
    assert at >= 0
    data[at + len(clip) - 1] = ord("9")
    db.write_bytes(bytes(data))
    assert integrity(library) != "ok"

    info = run("library", "info", library)
    assert info.exit_code == 1
    assert "missing from index" in info.stdout and f"adcut library check {library}" in info.stdout
    # The tables are whole: rebuilding the SQL indexes from them is a repair.
    repair = run("library", "check", "--repair", library)
    assert repair.exit_code == 0 and "reindexed" in repair.stdout
    assert integrity(library) == "ok"


# -- arrays and thumbnails -------------------------------------------------------------------

@pytest.mark.hostile("library")
@pytest.mark.parametrize("kind, damage", [("clips", "deleted"), ("texts", "truncated"),
                                          ("clips", "reshaped")])
def test_a_broken_array_is_one_line_and_ingest_repairs_it(library, built_library, tmp_path,
                                                          kind, damage):
    _, sources = built_library
    array = library / "emb" / f"{source_ids(library)['a']}.{kind}.npy"
    recorded = np.load(array).shape
    if damage == "deleted":
        array.unlink()
    elif damage == "truncated":
        array.write_bytes(array.read_bytes()[:200])
    else:
        np.save(array, np.ones((recorded[0] + 1, 7), np.float16))

    result = plan(library, tmp_path)
    assert result.exit_code == 2
    one_line_error(result, str(array), f"adcut library check --repair {library}")
    assert not (tmp_path / "plan.json").exists()
    info = run("library", "info", library)
    assert info.exit_code == 1 and array.name in info.stdout

    # The file is unchanged, but its array is not: ingest notices and ingests it again.
    result = run("ingest", *sources.values(), "--library", library, "--asr", "none", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {Path(f["path"]).stem: f["status"] for f in report["files"]} == {
        "a": "repaired", "b": "unchanged"}
    assert np.load(array).shape == recorded
    assert run("library", "check", library).exit_code == 0
    assert plan(library, tmp_path).exit_code == 0


@pytest.mark.hostile("library")
def test_deleted_thumbnails_are_seen_and_made_again(library, built_library):
    _, sources = built_library
    sid = source_ids(library)["b"]
    thumbs = sorted((library / "thumbs").glob(f"{sid}-*.jpg"))
    thumbs[1].unlink()
    info = run("library", "info", library)
    assert info.exit_code == 1 and "1 of 3 thumbnails missing" in info.stdout
    result = run("ingest", *sources.values(), "--library", library, "--asr", "none")
    assert result.exit_code == 0
    assert f"repaired {sources['b']}: 1 of 3 thumbnails were missing" in result.stdout
    assert all(t.exists() for t in thumbs)
    assert run("library", "info", library).exit_code == 0


# -- indexes ---------------------------------------------------------------------------------

@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("damage", ["truncated", "garbled header", "side file gone"])
def test_a_damaged_index_is_a_library_error_and_ingest_rebuilds_it(library, built_library,
                                                                   damage):
    from adcut.planner.retrieve import TextRetriever

    _, sources = built_library
    index = library / "index" / "texts.faiss"
    if damage == "truncated":
        index.write_bytes(index.read_bytes()[:-100])
    elif damage == "garbled header":
        data = bytearray(index.read_bytes())
        data[4:12] = b"\xff" * 8
        index.write_bytes(bytes(data))
    else:
        index.with_suffix(".json").unlink()

    with pytest.raises(LibraryError, match=f"adcut library check --repair {library}"):
        TextRetriever(library)
    info = run("library", "info", library)
    assert info.exit_code == 1 and "index/texts" in info.stdout

    result = run("ingest", *sources.values(), "--library", library, "--asr", "none", "--json")
    assert result.exit_code == 0, result.output
    rebuilt = {i["name"]: i["rebuilt"] for i in json.loads(result.stdout)["indexes"]}
    assert rebuilt["texts"] and not rebuilt["clips"]
    assert run("library", "check", library).exit_code == 0
    retriever = TextRetriever(library)
    assert retriever(["a yellow wall"], k=5)


# -- library check ---------------------------------------------------------------------------

def test_check_says_a_healthy_library_is_healthy(library):
    result = run("library", "check", library)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1].startswith(f"{library}: healthy")
    report = json.loads(run("library", "check", library, "--json").stdout)
    assert report["healthy"] and report["problems"] == []
    assert report["checked"] == {"arrays": 6, "indexes": 2, "thumbnails": 5, "sources": 2}


@pytest.mark.hostile("message")
def test_check_refuses_what_is_not_a_library(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("library", "check", tmp_path / "empty")
    assert result.exit_code == 2
    one_line_error(result, "not an adcut library")
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "catalog.sqlite").write_text("not a database " * 200)
    for args in (("library", "check", tmp_path / "fake"),
                 ("library", "check", "--repair", tmp_path / "fake")):
        result = run(*args)
        assert result.exit_code == 2
        one_line_error(result, "not an adcut catalog")
    assert sorted(p.name for p in (tmp_path / "fake").iterdir()) == ["catalog.sqlite"]


@pytest.mark.hostile("library")
def test_check_finds_each_problem_and_repair_fixes_what_can_be_derived(library):
    ids = source_ids(library)
    (library / "emb" / f"{ids['a']}.clips.npy").unlink()
    frames = library / "emb" / f"{ids['b']}.frames.npy"
    data = bytearray(frames.read_bytes())
    data[-64:] = b"\xff" * 64  # NaNs in the last row: the header still looks right
    frames.write_bytes(bytes(data))
    (library / "thumbs" / f"{ids['a']}-0000.jpg").unlink()
    (library / "index" / "clips.faiss").write_bytes(b"IxM2 nonsense")
    (library / "emb" / "f0123456789abcde.clips.npy").write_bytes(b"left by a kill")
    (library / "thumbs" / ".x.jpg.999.tmp").write_bytes(b"")

    result = run("library", "check", library)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    expected = [f"emb/{ids['a']}.clips.npy: missing", f"emb/{ids['b']}.frames.npy: damaged",
                "index/clips.faiss: unreadable", "1 of 2 thumbnails missing",
                "emb/f0123456789abcde.clips.npy: not in the catalog", "thumbs/.x.jpg.999.tmp"]
    for part in expected:
        assert sum(part in line for line in lines) == 1, (part, lines)
    assert lines[-1].startswith(f"{library}: 6 problems")
    assert f"adcut library check --repair {library}" in lines[-1]
    # info's cheap checks see what headers and listings show (not the values inside an array)
    info = run("library", "info", library)
    assert info.exit_code == 1 and "frames.npy" not in info.stdout
    assert "clips.npy: missing" in info.stdout and "index/clips.faiss" in info.stdout

    repair = run("library", "check", "--repair", library)
    assert repair.exit_code == 0, repair.stdout
    assert "rebuilt   index/clips.faiss" in repair.stdout
    assert "removed   emb/f0123456789abcde.clips.npy" in repair.stdout
    assert sum(line.startswith("ingested  ") for line in repair.stdout.splitlines()) == 2
    assert repair.stdout.splitlines()[-1].startswith(f"{library}: repaired")
    assert run("library", "check", library).exit_code == 0
    assert integrity(library) == "ok"


@pytest.mark.hostile("library")
def test_repair_says_what_it_cannot_rebuild(library, built_library, tmp_path):
    # Point source a at a copy of its file that the test may delete, and b at one it changes.
    _, sources = built_library
    ids = source_ids(library)
    moved = {}
    for stem in ("a", "b"):
        moved[stem] = tmp_path / f"{stem}.mp4"
        shutil.copy2(sources[stem], moved[stem])
        sql(library, "UPDATE sources SET path = ? WHERE id = ?", (str(moved[stem]), ids[stem]))
    (library / "emb" / f"{ids['a']}.texts.npy").unlink()
    moved["a"].unlink()
    with open(moved["b"], "ab") as fh:
        fh.write(b"\0")
    sql(library, "UPDATE embeddings SET encoder_version = 'older-weights' "
                 "WHERE source_id = ? AND kind = 'frames'", (ids["b"],))

    result = run("library", "check", library)
    assert result.exit_code == 1
    assert f"source    {moved['a']}: gone" in result.stdout
    assert f"source    {moved['b']}: changed since ingest" in result.stdout
    assert "frames embeddings: made by 2 encoders" in result.stdout

    repair = run("library", "check", "--repair", library)
    assert repair.exit_code == 1
    assert f"its source {moved['a']} is gone, so it cannot be made again" in repair.stdout
    assert repair.stdout.splitlines()[-1].startswith(f"{library}: 4 problems left")
    assert integrity(library) == "ok"
