"""`adcut voices`, an unknown --voice, and a brief in a language no voice speaks."""

from __future__ import annotations

import json

import pytest

from adcut.cli.edit import missing_voice_warning
from adcut.core.errors import BadInputError
from adcut.voice.tts import check_voice, list_voices
from tests import synth
from tests.in_process import run


def test_voices_lists_the_bundled_voice_first_and_says_what_works_offline():
    result = run("voices", "--json")
    assert result.exit_code == 0, result.output
    voices = json.loads(result.stdout)
    first = voices[0]
    assert (first["engine"], first["name"], first["language"]) == ("hibari", "heart", "en-US")
    assert first["installed"] and first["bundled"]
    assert {v["engine"] for v in voices} == {"hibari", "piper"}
    assert all(set(v) >= {"engine", "name", "language", "installed", "bundled"} for v in voices)
    text = run("voices")
    assert text.exit_code == 0 and "heart" in text.stdout and "yes (bundled)" in text.stdout
    assert "languages spoken offline: en" in text.stdout


def test_an_unknown_voice_names_the_known_ones():
    with pytest.raises(BadInputError) as err:
        check_voice("hibari", "nobody")
    offline = [v.name for v in list_voices() if v.installed and v.engine == "hibari"]
    assert "heart" in offline and "heart" in err.value.hint and "adcut voices" in err.value.hint
    result = run("edit", "--library", "nowhere", "--brief", "a shoe", "--voice", "nobody")
    assert result.exit_code == 2 and "heart" in result.stderr


def test_a_language_without_a_voice_is_said_before_any_work(tmp_path):
    assert missing_voice_warning("en-US") is None
    assert "Chinese (zh-CN)" in missing_voice_warning("zh-CN")
    footage, lib = tmp_path / "footage", tmp_path / "lib"
    footage.mkdir()
    for name, colour in (("a.mp4", "red"), ("b.mp4", "blue")):
        synth.color_shots(footage / name, [colour], [2.0], size=(160, 90), audio="none")
    assert run("ingest", footage, "--library", lib, "--asr", "none", "--ocr", "none").exit_code == 0
    brief = tmp_path / "zh.yaml"
    brief.write_text("product: 闪电跑鞋\nbrand: 闪电\nselling_points: [轻盈, 快速]\n"
                     "duration_s: 6\n", encoding="utf-8")
    plan_path = tmp_path / "plan.json"
    result = run("edit", "--library", lib, "--brief", brief, "--plan-only", plan_path, "--json")
    assert result.exit_code == 0, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("warning") and "Chinese" in first and "no voice-over" in first
    assert json.loads(result.stdout)[0]["warnings"] == [first.split(None, 1)[1]]
    # The plan says it has no voice, so QC does not look for one.
    assert json.loads(plan_path.read_text())["voice"]["engine"] == "none"


def test_the_default_voice_is_hibaris_own_and_known_without_importing_it():
    import subprocess
    import sys

    from hibari.voices import DEFAULT, VOICES

    from adcut.voice.tts import DEFAULT_HIBARI_VOICE, languages_spoken

    assert DEFAULT_HIBARI_VOICE == DEFAULT and VOICES[DEFAULT].get("bundled")
    assert languages_spoken("hibari") == {"en"}
    # An edit whose lines are all cached never imports hibari (0.1 s) nor scipy (0.26 s).
    code = ("import sys; from adcut.voice.tts import HibariEngine, languages_spoken; "
            "e = HibariEngine(); languages_spoken('hibari'); "
            "from adcut.planner.assignment import linear_sum_assignment; "
            "print(e.voice, 'hibari' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [DEFAULT, "False", "False"]
