"""`adcut edit` and `adcut demo`: brief in, finished ad out, with the zero-shot planner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from adcut.cli import join_planner_args as _join_planner_args
from tests import synth
from tests.in_process import run

CAPTIONS = {
    "shoe.mp4": "a red running shoe on a running track",
    "laces.mp4": "a runner tying the laces of a running shoe",
    "run.mp4": "a runner sprinting fast on a city road at sunrise",
    "bottle.mp4": "a blue water bottle on a kitchen table",
    "cat.mp4": "a cat sleeping on a sofa",
    "logo.mp4": "the Spark logo on a white background",
}
COLOURS = ["red", "orange", "yellow", "blue", "gray", "white"]
FOOTAGE_ONLY = "lib-footage-only"  # the library fixture's footage, ingested, and no music


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("edit")
    footage = root / "footage"
    footage.mkdir()
    for (name, caption), colour in zip(CAPTIONS.items(), COLOURS):
        synth.color_shots(footage / name, [colour], [3.0], size=(320, 180), audio="none")
    (footage / "captions.jsonl").write_text("".join(
        json.dumps({"file": n, "text": c}) + "\n" for n, c in CAPTIONS.items()))
    music = root / "music"
    music.mkdir()
    synth.tone(music / "bed.wav", freq_hz=330, duration_s=60, amplitude=0.2)
    lib = root / "lib"
    assert run("ingest", footage, "--library", lib, "--asr", "none").exit_code == 0
    # the same library before its music is added (test_library_without_music_...)
    shutil.copytree(lib, root / FOOTAGE_ONLY)
    assert run("ingest", music, "--music", "--library", lib).exit_code == 0
    brief = root / "brief.yaml"
    brief.write_text(
        "product: Spark running shoe\nbrand: Spark\nselling_points:\n  - light running shoe\n"
        "  - fast on every road\ndescription: for runners who love speed\nduration_s: 12\n"
        "tone: energetic\ncall_to_action: Get yours today\n")
    return root, lib, brief


def test_edit_makes_a_finished_ad_from_a_brief(library, tmp_path):
    root, lib, brief = library
    out = tmp_path / "ad.mp4"
    # a preview render: the full-size render of an edit, its loudness and caption checks, are
    # test_demo_makes_an_ad_that_passes_quality_checks's (the same run_edit path)
    result = run("edit", "--library", lib, "--brief", brief, "-o", out, "--explain", "--json",
                 "--preview")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)[0]
    assert out.exists() and report["qc_ok"]
    plan = json.loads(Path(report["plan"]).read_text())
    chosen = {Path(s["source"]).name for s in plan["shots"]}
    assert "cat.mp4" not in chosen and {"shoe.mp4", "run.mp4"} <= chosen
    assert all(s["line"] for s in plan["shots"]) and plan["music"]["source"].endswith("bed.wav")
    assert plan["planner"] == "zero-shot"
    # each 16:9 shot's crop for the 9:16 ad, chosen from the frames ingest kept
    assert all(s["reframe"]["center_x"] is not None for s in plan["shots"])
    assert "candidate clips" in result.stderr and "cat.mp4" not in result.stderr.split("yes")[0]


def test_plan_only_and_seed_are_reproducible(library, tmp_path):
    _, lib, brief = library
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for p in (a, b):
        assert run("edit", "--library", lib, "--brief", brief, "--plan-only", p, "--seed", "7").exit_code == 0
    assert a.read_text() == b.read_text()
    assert not list(tmp_path.glob("*.mp4"))
    assert run("render", a, "-o", tmp_path / "from_plan.mp4", "--preview").exit_code == 0


def test_variants_share_at_most_half_their_shots(library, tmp_path):
    _, lib, brief = library
    plan = tmp_path / "v.json"
    result = run("edit", "--library", lib, "--brief", brief, "--plan-only", plan, "--variants", "2",
                 "--duration", "8")
    assert result.exit_code == 0, result.output
    shots = [[s["clip_id"] for s in json.loads((tmp_path / f"v-{k}.json").read_text())["shots"]]
             for k in (1, 2)]
    assert len(set(shots[0]) & set(shots[1])) <= len(shots[0]) // 2


@pytest.mark.parametrize("args, needle", [
    (["--library", "{tmp}/nolib", "--brief", "x"], "is not an adcut library"),
    (["--library", "{lib}", "--brief", "{tmp}/missing.yaml"], "brief file"),
    (["--library", "{lib}", "--brief", "{tmp}/noproduct.yaml"], "names no product"),
    (["--library", "{lib}", "--brief", "Spark shoes", "--planner", "openai", "http://127.0.0.1:9/v1",
      "--model", "m"], "127.0.0.1:9"),
])
def test_bad_input_gets_one_line_and_exit_2(library, tmp_path, args, needle):
    _, lib, _ = library
    (tmp_path / "noproduct.yaml").write_text("brand: Spark\n")
    args = [a.format(tmp=tmp_path, lib=lib) for a in args]
    from adcut.cli import main  # noqa: F401  (argv joining is tested below)

    result = run("edit", *_join_planner_args(args), "-o", tmp_path / "ad.mp4")
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "ad.mp4").exists()


def test_planner_words_are_joined():
    assert _join_planner_args(["edit", "--planner", "openai", "http://h/v1", "--model", "m"]) == [
        "edit", "--planner", "openai http://h/v1", "--model", "m"]
    assert _join_planner_args(["--planner", "zero-shot"]) == ["--planner", "zero-shot"]


def test_library_without_music_and_language_without_voice(library, tmp_path):
    root, _, _ = library
    lib = tmp_path / "lib"
    shutil.copytree(root / FOOTAGE_ONLY, lib)  # `ingest footage/` alone: a library without music
    brief = tmp_path / "zh.yaml"
    brief.write_text("product: 闪电跑鞋\nbrand: 闪电\nselling_points: [轻盈, 快速]\nduration_s: 8\n")
    out = tmp_path / "zh.mp4"
    result = run("edit", "--library", lib, "--brief", brief, "-o", out, "--preview")
    assert result.exit_code == 0, result.output
    assert "without music" in result.stderr and "subtitles only" in result.stderr
    assert out.exists()


def test_demo_makes_an_ad_that_passes_quality_checks(tmp_path, monkeypatch):
    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "demo.mp4"
    result = run("demo", "-o", out)
    assert result.exit_code == 0, result.output
    qc = json.loads((tmp_path / "demo.qc.json").read_text())
    assert all(check["ok"] for check in qc["checks"]), qc
    manifest = json.loads((tmp_path / "demo.manifest.json").read_text())
    # each file credited with what its package states: Big Buck Bunny only for that film,
    # "unknown" for a sample whose package states no licence (bikes.mp4 is not Big Buck Bunny)
    for item in manifest["footage"] + manifest["music"]:
        assert item["licence"], item
        assert ("Big Buck Bunny" in item["licence"]) == item["path"].endswith("bigbuckbunny.mp4")
    assert run("demo", "-o", out).exit_code == 2  # never overwritten without --force


def test_target_longer_than_the_footage_is_said_and_covered(library, tmp_path):
    _, lib, brief = library
    long_brief = tmp_path / "long.yaml"
    long_brief.write_text(brief.read_text().replace("duration_s: 12", "duration_s: 40"))
    plan = tmp_path / "p.json"
    result = run("edit", "--library", lib, "--brief", long_brief, "--plan-only", plan,
                 "--voice", "none")
    assert result.exit_code == 0, result.output
    assert "less than the 40 s asked for" in result.stderr
    data = json.loads(plan.read_text())
    assert data["voice"]["engine"] == "none" and len(data["shots"]) == 6


def test_empty_library_is_refused(tmp_path):
    lib = tmp_path / "lib"
    music = tmp_path / "m"
    music.mkdir()
    synth.tone(music / "a.wav", duration_s=12)
    assert run("ingest", music, "--music", "--library", lib).exit_code == 0
    result = run("edit", "--library", lib, "--brief", "Spark shoes", "-o", tmp_path / "ad.mp4")
    assert result.exit_code == 2 and "no usable footage" in result.stderr


# ------------------------------------------------ outputs: all or nothing, never over a user's file


def _said(stderr: str) -> list[str]:
    """What a command said on stderr, less its progress bars and notes."""
    return [ln for ln in stderr.splitlines()
            if not ln.startswith(("render ", "note ", "ingest "))]


@pytest.mark.hostile("overwrite")
def test_an_existing_plan_beside_the_output_is_never_replaced_without_force(library, tmp_path):
    _, lib, brief = library
    (tmp_path / "ad.plan.json").write_text("the user's own plan")
    result = run("edit", "--library", lib, "--brief", brief, "-o", tmp_path / "ad.mp4")
    assert result.exit_code == 2, result.output
    assert _said(result.stderr) == [
        f"error: {tmp_path / 'ad.plan.json'} already exists (the plan file written beside "
        "ad.mp4) (pass --force to replace it, or choose another output name)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad.plan.json"]
    assert (tmp_path / "ad.plan.json").read_text() == "the user's own plan"


@pytest.mark.hostile("overwrite")
def test_every_variant_is_checked_before_the_planner_runs(library, tmp_path, monkeypatch):
    _, lib, brief = library
    (tmp_path / "ad-2.srt").write_text("the user's subtitles")
    import adcut.planner.edit

    def plan_variants(*args, **kwargs):
        raise AssertionError("the planner ran before every output was checked")

    monkeypatch.setattr(adcut.planner.edit, "plan_variants", plan_variants)
    result = run("edit", "--library", lib, "--brief", brief, "-o", tmp_path / "ad.mp4",
                 "--variants", "2")
    assert result.exit_code == 2 and "ad-2.srt already exists" in result.stderr, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad-2.srt"]


@pytest.mark.hostile("overwrite")
def test_plan_only_writes_and_guards_only_the_plan(library, tmp_path):
    _, lib, brief = library
    (tmp_path / "ad.mp4").write_text("an older ad")
    (tmp_path / "p.json").write_text("an older plan")
    args = ["edit", "--library", lib, "--brief", brief, "-o", tmp_path / "ad.mp4",
            "--plan-only", tmp_path / "p.json", "--voice", "none"]
    refused = run(*args)
    assert refused.exit_code == 2 and "p.json already exists" in refused.stderr
    assert (tmp_path / "p.json").read_text() == "an older plan"
    replaced = run(*args, "--force")
    assert replaced.exit_code == 0, replaced.output
    assert json.loads((tmp_path / "p.json").read_text())["shots"]
    assert (tmp_path / "ad.mp4").read_text() == "an older ad"  # not an output of --plan-only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad.mp4", "p.json"]


@pytest.mark.hostile("overwrite")
def test_force_never_renders_over_the_librarys_footage(library, tmp_path):
    root, lib, brief = library
    shoe = root / "footage" / "shoe.mp4"
    before = shoe.read_bytes()
    result = run("edit", "--library", lib, "--brief", brief, "-o", shoe, "--force")
    assert result.exit_code == 2 and "own inputs" in result.stderr, result.output
    assert shoe.read_bytes() == before and not (root / "footage" / "shoe.plan.json").exists()


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("fault", ["read-only", "full"])
@pytest.mark.parametrize("plan_only", [False, True])
def test_edit_into_a_folder_it_cannot_write_says_one_line_and_writes_nothing(
        library, tmp_path, fault, plan_only):
    from tests import faults

    _, lib, brief = library
    folder = tmp_path / "out"
    folder.mkdir()
    where = ["--plan-only", folder / "ad.plan.json"] if plan_only else ["-o", folder / "ad.mp4"]
    if fault == "read-only":
        with faults.readonly(folder):
            result = run("edit", "--library", lib, "--brief", brief, "--voice", "none", *where)
        expected = "not writable"
    else:
        with faults.small_disk(folder, 64):
            faults.fill(folder)
            result = run("edit", "--library", lib, "--brief", brief, "--voice", "none", *where)
            left = sorted(p.name for p in folder.iterdir())
        assert left == [".filler"]
        expected = "no space left on the device while writing"
    assert result.exit_code == 2, result.output
    [line] = _said(result.stderr)
    assert line.startswith("error: ") and expected in line and "Traceback" not in result.output
    if fault == "read-only":
        assert list(folder.iterdir()) == []


@pytest.mark.hostile("overwrite")
def test_demo_refuses_an_existing_plan_before_staging_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "demo.plan.json").write_text("the user's plan")
    result = run("demo", "-o", tmp_path / "demo.mp4")
    assert result.exit_code == 2 and "demo.plan.json already exists" in result.stderr
    assert (tmp_path / "demo.plan.json").read_text() == "the user's plan"
    assert not (tmp_path / "cache" / "demo").exists()  # refused before any work
