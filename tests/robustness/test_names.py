"""File names of any character and length: handled end to end, or refused with one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adcut.cli import app
from tests import synth

# Characters that break naive shell, filtergraph, concat-list, ASS and SRT handling.
COLOURS = ["red", "blue", "green", "white", "yellow", "gray"]
WEIRD = [
    "it's a \"clip\", v1:2 [final];.mp4",
    "-starts with dash.mp4",
    "广告 素材 🎬.mp4",
    "back\\slash %d $HOME.mp4",
    "tab\there.mp4",
    "new\nline.mp4",
]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.hostile("bug")
def test_weird_names_from_footage_to_finished_ad(tmp_path):
    footage = tmp_path / "foot age's [1]"
    footage.mkdir()
    for name, colour in zip(WEIRD, COLOURS):
        synth.color_shots(footage / name, [colour], [1.5], size=(320, 180), audio="none")
    (footage / "captions.jsonl").write_text("".join(
        json.dumps({"file": n, "text": f"a {c} Spark shoe"}) + "\n"
        for n, c in zip(WEIRD, COLOURS)), encoding="utf-8")
    lib = tmp_path / "lib: v2, 'main'"
    result = cli("ingest", footage, "--library", lib, "--asr", "none")
    assert result.exit_code == 0, result.output
    out_dir = tmp_path / "out, \"final\" 广告"
    out_dir.mkdir()
    out = out_dir / "ad: it's [v1].mp4"
    script = tmp_path / "script.txt"
    script.write_text("".join(f"Spark line {k}\n" for k in range(len(WEIRD))))
    result = cli("edit", "--library", lib, "--brief", "Spark shoe, light and fast", "-o", out,
                 "--duration", "9", "--voice", "none", "--script", script, "--json", "--preview")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)[0]
    assert report["qc_ok"] and out.is_file()
    used = {Path(s["source"]).name for s in json.loads(Path(report["plan"]).read_text())["shots"]}
    assert used == set(WEIRD)  # one shot per script line: every weird name is rendered


@pytest.mark.hostile("message")
def test_an_output_name_too_long_is_one_line(tmp_path):
    result = cli("edit", "--library", tmp_path, "--brief", "Spark shoe",
                 "--plan-only", tmp_path / ("p" * 300 + ".json"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


@pytest.mark.hostile("message")
def test_a_relative_output_in_a_missing_folder_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    result = cli("render", plan, "-o", os.path.join("no", "such", "ad.mp4"))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
