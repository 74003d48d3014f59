"""Ctrl-C while ingest loads its models stops it: exit 130, and the next run resumes.

The audio encoder's load imports onnx, whose ml_dtypes extension clears a pending
KeyboardInterrupt during its 0.6 s init; a Ctrl-C in that window used to be dropped and the
ingest ran to its end. The signal is sent at exactly that moment (the extension appears in
the process's memory map)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import synth
from tests.render.procs import interrupt, wait_until_mapped


@pytest.mark.hostile("signal")
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
def test_ctrl_c_while_ingest_loads_its_models_stops_it(tmp_path):
    footage = tmp_path / "footage"
    footage.mkdir()
    synth.color_shots(footage / "a.mp4", ["red"], [2.0], size=(320, 180))  # with sound: YAMNet
    lib = tmp_path / "lib"
    # A fresh cache: the audio model is prepared from its package, as on a first ingest.
    env = {**os.environ, "ADCUT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "adcut", "ingest", str(footage), "--library",
                             str(lib), "--asr", "none"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert wait_until_mapped(proc, "_ml_dtypes_ext"), "the audio model never loaded"
    err = interrupt(proc)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1].startswith("interrupted"), err[-2000:]
    assert not list((lib / "emb").glob("*.npy")) if (lib / "emb").exists() else True
