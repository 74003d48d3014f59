"""Ingest meets the machine's own faults (tests/faults.py: a real read-only mount, a real
tmpfs that fills up): one line, exit 2, nothing half-written, and the same command completes
once the fault is gone."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from adcut.core.files import write_atomic
from tests import faults, synth
from tests.library.helpers import integrity, one_line_error, run


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with the hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def more_footage(tmp_path_factory):
    d = tmp_path_factory.mktemp("more")
    synth.color_shots(d / "small.mp4", ["red"], [1.0], size=(320, 180), audio="none")
    # Grain makes the thumbnails and arrays of this one a few tens of KiB.
    synth.color_shots(d / "big.mp4", ["red", "blue", "lime", "yellow"], [1.0] * 4,
                      size=(320, 180), audio="none", texture=True)
    return d


@pytest.mark.hostile("traceback")
def test_ingest_into_a_read_only_library_is_one_line_and_reading_still_works(library,
                                                                             more_footage):
    before = snapshot(library)
    with faults.readonly(library):
        result = run("ingest", more_footage / "small.mp4", "--library", library,
                     "--asr", "none")
        assert result.exit_code == 2
        one_line_error(result, f"cannot write to the library {library}", "read-only")
        # Readers need no write access, even to the catalog's shared-memory file.
        info = run("library", "info", library, "--json")
        assert info.exit_code == 0, info.output
        assert json.loads(info.stdout)["footage_files"] == 2
        assert run("library", "check", library).exit_code == 0
    assert snapshot(library) == before


@pytest.mark.hostile("traceback")
def test_a_new_library_in_a_read_only_folder_is_one_line(more_footage, tmp_path):
    (tmp_path / "ro").mkdir()
    with faults.readonly(tmp_path / "ro"):
        result = run("ingest", more_footage / "small.mp4", "--library", tmp_path / "ro" / "lib",
                     "--asr", "none")
        assert result.exit_code == 2
        one_line_error(result, f"cannot write to the library {tmp_path / 'ro' / 'lib'}",
                       "read-only")
        assert not (tmp_path / "ro" / "lib").exists()


@pytest.mark.hostile("half-written")
def test_a_full_disk_during_ingest_leaves_nothing_half_written(more_footage, tmp_path):
    with faults.small_disk(tmp_path / "disk", 1024) as disk:
        lib = disk / "lib"
        assert run("ingest", more_footage / "small.mp4", "--library", lib,
                   "--asr", "none").exit_code == 0
        files_before = sorted(p.name for p in (lib / "emb").iterdir()) + \
            sorted(p.name for p in (lib / "thumbs").iterdir())
        # Room for the catalog's shared memory and a thumbnail or two, not a whole file.
        faults.fill(lib, leave_bytes=64 * 1024)

        result = run("ingest", more_footage / "big.mp4", "--library", lib, "--asr", "none")
        assert result.exit_code == 2
        one_line_error(result, f"cannot write to the library {lib}", "no space left",
                       "free some space")
        files_after = sorted(p.name for p in (lib / "emb").iterdir()) + \
            sorted(p.name for p in (lib / "thumbs").iterdir())
        assert files_after == files_before  # no array or thumbnail of big.mp4, no temp file
        assert integrity(lib) == "ok"
        con = sqlite3.connect(lib / "catalog.sqlite")
        assert [Path(p).name for (p,) in con.execute("SELECT path FROM sources")] == ["small.mp4"]
        con.close()

        (lib / ".filler").unlink()
        result = run("ingest", more_footage / "big.mp4", "--library", lib, "--asr", "none")
        assert result.exit_code == 0, result.output
        assert run("library", "check", lib).exit_code == 0


@pytest.mark.hostile("message")
def test_write_atomic_on_a_read_only_folder_raises_the_error_of_the_write(tmp_path):
    with faults.readonly(tmp_path):
        with pytest.raises(OSError) as caught:
            write_atomic(tmp_path / "plan.json", b"{}")
    error = caught.value
    assert error.errno == 30 and error.filename == str(tmp_path / "plan.json")
    assert error.__context__ is None  # not an error of the clean-up on top of it
    assert os.listdir(tmp_path) == []
