"""Ctrl-C at any moment of a render stops it: exit 130, nothing left behind.

The render runs as a real `adcut render` process and gets a real SIGINT. The voice model's
load is the dangerous moment: a native module initialising can clear a pending
KeyboardInterrupt (onnx's ml_dtypes did, for 0.6 s, when the voice still imported onnx), and
the render then finished with exit 0; the voice also runs on a thread beside the reframing.
One case waits for onnxruntime's extension to appear in the process's memory map before it
sends the signal, one for typer's import (adcut still importing its command line); the others
send it at fixed times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import synth
from tests.render.procs import interrupt, wait_until_mapped

ADCUT = [sys.executable, "-m", "adcut"]


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sigint")
    synth.color_shots(root / "a.mp4", ["red"], [2.0], size=(320, 180), audio="none")
    synth.color_shots(root / "b.mp4", ["blue"], [2.0], size=(320, 180), audio="none")
    plan = {"shots": [
        {"source": "a.mp4", "in_s": 0, "out_s": 2, "line": "Meet the new Spark shoe."},
        {"source": "b.mp4", "in_s": 0, "out_s": 2, "line": "Light and fast on every road."},
    ]}
    (root / "plan.json").write_text(json.dumps(plan))
    return root


@pytest.mark.hostile("signal")
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
@pytest.mark.parametrize("when", ["imports", "voice-model-load", 0.5, 1.0, 1.5])
def test_ctrl_c_at_any_moment_of_a_render_stops_it(plan_folder, tmp_path, when):
    folder = tmp_path / "work"
    folder.mkdir()
    for name in ("plan.json", "a.mp4", "b.mp4"):
        os.link(plan_folder / name, folder / name)
    before = sorted(os.listdir(folder))
    # A fresh cache: the voice lines are synthesised, as on a first render.
    env = {**os.environ, "ADCUT_CACHE_DIR": str(tmp_path / "cache")}
    # -X importtime: Python reports each import on stderr as it completes
    python = [sys.executable, "-X", "importtime"] if when == "imports" else [sys.executable]
    proc = subprocess.Popen([*python, "-m", "adcut", "render", "plan.json", "-o", "out.mp4"],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    if when == "imports":  # typer is in; adcut's command line is still being imported
        assert any(line.rstrip().endswith(" typer.main") for line in proc.stderr), "no typer"
    elif when == "voice-model-load":
        assert wait_until_mapped(proc, "onnxruntime_pybind11_state"), "the voice model never loaded"
    else:
        time.sleep(when)
    err = interrupt(proc)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1].startswith("interrupted"), err[-2000:]
    assert "Traceback" not in err
    assert sorted(os.listdir(folder)) == before  # no MP4, no companion, no temporary file
