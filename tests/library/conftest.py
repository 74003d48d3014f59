"""A small real library (two generated files, real encoders) built once per session, and
per-test copies of it to damage."""

from __future__ import annotations

import shutil

import pytest

from tests import synth
from tests.library.helpers import run, sql


@pytest.fixture(scope="session")
def built_library(tmp_path_factory):
    """(library, {stem: source path}): footage files of 2 and 3 shots, ingested."""
    root = tmp_path_factory.mktemp("built")
    src = root / "footage"
    src.mkdir()
    synth.color_shots(src / "a.mp4", ["yellow", "purple"], [1.0, 1.0], size=(320, 180),
                      audio="none")
    synth.color_shots(src / "b.mp4", ["red", "blue", "lime"], [1.0, 1.0, 1.0],
                      size=(320, 180), audio="none")
    lib = root / "lib"
    result = run("ingest", src, "--library", lib, "--asr", "none")
    assert result.exit_code == 0, result.output
    clips = sql(lib, "SELECT s.path, COUNT(*) FROM clips c JOIN sources s ON s.id = c.source_id "
                     "GROUP BY s.path ORDER BY s.path")
    assert [n for _, n in clips] == [2, 3]  # the tests count on these shots
    return lib, {"a": src / "a.mp4", "b": src / "b.mp4"}


@pytest.fixture
def library(built_library, tmp_path):
    """A fresh copy of the built library, free to damage (its sources are shared: read only)."""
    lib, _ = built_library
    copy = tmp_path / "lib"
    shutil.copytree(lib, copy)
    return copy
