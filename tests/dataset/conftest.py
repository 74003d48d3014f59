"""A corpus of synthesised finished ads, made once per test session and shared by the synth
tests (which check it against its truth) and the builder tests (which build from it)."""

from __future__ import annotations

import json

import pytest

from tests.in_process import run

SEED = 8  # with this seed the second ad is the one in ten made without music


@pytest.fixture(scope="session")
def synth_cache_dir(tmp_path_factory):
    """The cache the sample library is ingested into once (about 15 s on 2 cores)."""
    return tmp_path_factory.mktemp("synth-cache")


@pytest.fixture(scope="module")
def cache(synth_cache_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADCUT_CACHE_DIR", str(synth_cache_dir))
        yield synth_cache_dir


@pytest.fixture(scope="session")
def corpus(synth_cache_dir, tmp_path_factory):
    """Two small ads (the second without music): (folder, synth's JSON report)."""
    out = tmp_path_factory.mktemp("synth") / "corpus"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADCUT_CACHE_DIR", str(synth_cache_dir))
        result = run("dataset", "synth", "-o", out, "--ads", 2, "--small", "--seed", SEED, "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)
