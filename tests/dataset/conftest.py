"""A corpus of synthesised finished ads, made once per test session and shared by the synth
tests (which check it against its truth) and the builder tests (which build from it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.in_process import run

SEED = 8  # with this seed the second ad is the one in ten made without music


def _shared_root(tmp_path_factory, worker_id: str) -> Path:
    """A folder every pytest-xdist worker of this run sees (this process's own otherwise)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id != "master" else base


@pytest.fixture(scope="session")
def synth_cache_dir(tmp_path_factory, worker_id):
    """The cache the sample library is ingested into once per run (about 15 s on 2 cores),
    shared by the workers (adcut's cache takes concurrent readers and atomic writers)."""
    path = _shared_root(tmp_path_factory, worker_id) / "synth-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def cache(synth_cache_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADCUT_CACHE_DIR", str(synth_cache_dir))
        yield synth_cache_dir


@pytest.fixture(scope="session")
def corpus(synth_cache_dir, tmp_path_factory, worker_id):
    """Two small ads (the second without music): (folder, synth's JSON report). Made once per
    run: the first worker to need it makes it while the others wait for the lock."""
    from filelock import FileLock

    root = _shared_root(tmp_path_factory, worker_id)
    out, done = root / "synth-corpus", root / "synth-corpus.json"
    with FileLock(str(root / "synth-corpus.lock")):
        if not done.exists():
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("ADCUT_CACHE_DIR", str(synth_cache_dir))
                result = run("dataset", "synth", "-o", out, "--ads", 2, "--small", "--seed",
                             SEED, "--json")
            assert result.exit_code == 0, result.output
            done.write_text(result.stdout, encoding="utf-8")
    return out, json.loads(done.read_text(encoding="utf-8"))
