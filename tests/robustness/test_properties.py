"""Property-based: random and mutated inputs to every loader and command entry point.

Whatever the input, adcut keeps three promises:
- the exit code is 0, 1 or 2 (never a crash code, never an "internal error");
- nothing reaches the terminal but short lines: no traceback, no multi-line dump;
- no file changes that the command was not asked to write (sources, briefs, plans, the library
  of a read-only command), and no temporary file is left behind.

Inputs are generated from the real documents (a brief, a plan, a timeline, a release JSONL
row, an MP4, a catalog) by hypothesis: structural mutations of the JSON/YAML trees (values
replaced by extreme numbers, wrong types, huge or control-character strings; keys dropped or
added) and byte-level mutations (truncation, flipped and inserted bytes). The number of
examples is bounded for CI; ADCUT_FUZZ_EXAMPLES raises it for a deeper run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from adcut.cli import app
from tests import synth

SCALE = float(os.environ.get("ADCUT_FUZZ_EXAMPLES", "1"))


def examples(n: int):
    """Settings for a property with about `n` examples in CI (times ADCUT_FUZZ_EXAMPLES)."""
    return settings(max_examples=max(1, round(n * SCALE)), deadline=None, derandomize=SCALE == 1,
                    database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


# -- the promise, checked -------------------------------------------------------------------

NOISE = ("-wal", "-shm")  # SQLite's own companions: a reader may create them


def snapshot(*folders: Path) -> dict[str, str]:
    state = {}
    for folder in folders:
        for p in folder.rglob("*"):
            if p.is_file() and not p.name.endswith(NOISE):
                state[str(p)] = hashlib.sha1(p.read_bytes()).hexdigest()
    return state


def run_and_check(args: list, *, watch: list[Path], may_write=frozenset(), below=None) -> object:
    """Run `adcut ARGS` in-process and assert the three promises. Files in `watch` may change
    only if they are in `may_write` or inside the folder `below`."""
    before = snapshot(*watch)
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output[-2000:])
    out = result.output
    assert "Traceback" not in out and "internal error" not in out, out[-2000:]
    for line in result.stderr.splitlines():
        if line.startswith(("error:", "interrupted:")):
            assert len(line) <= 420, line[:200]
    if result.exit_code == 2:
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, result.stderr[-2000:]
    after = snapshot(*watch)
    allowed = {str(p) for p in may_write}
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)
               and p not in allowed and not (below and p.startswith(str(below) + os.sep))}
    assert not changed, sorted(changed)
    leftovers = [p for p in after if "adcut-part" in p or p.endswith(".tmp")]
    assert not leftovers, leftovers
    return result


# -- real documents to mutate ----------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny library (three captioned shots, one track), a brief, a plan, a timeline."""
    root = tmp_path_factory.mktemp("fuzz")
    footage = root / "footage"
    footage.mkdir()
    captions = {"shoe.mp4": "a red running shoe", "run.mp4": "a runner on a road",
                "logo.mp4": "the Spark logo"}
    for (name, _), colour in zip(captions.items(), ["red", "blue", "white"]):
        synth.color_shots(footage / name, [colour], [2.0], size=(320, 180), audio="none")
    (footage / "captions.jsonl").write_text("".join(
        json.dumps({"file": n, "text": c}) + "\n" for n, c in captions.items()))
    music = root / "music"
    music.mkdir()
    synth.tone(music / "bed.wav", freq_hz=330, duration_s=20, amplitude=0.2)
    synth.tone(root / "short.wav", freq_hz=220, duration_s=3, amplitude=0.2)
    lib = root / "lib"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(footage), "--library", str(lib),
                               "--asr", "none"]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(music), "--music", "--library", str(lib)]).exit_code == 0
    brief = ("product: Spark running shoe\nbrand: Spark\nselling_points:\n  - light\n  - fast\n"
             "duration_s: 6\ntone: energetic\ncall_to_action: Get yours\n")
    (root / "brief.yaml").write_text(brief)
    plan_path = root / "plan.json"
    result = runner.invoke(app, ["edit", "--library", str(lib), "--brief", str(root / "brief.yaml"),
                                 "--plan-only", str(plan_path), "--voice", "none"])
    assert result.exit_code == 0, result.output
    plan = json.loads(plan_path.read_text())
    ad = root / "ad.mp4"
    result = runner.invoke(app, ["render", str(plan_path), "-o", str(ad), "--preview"])
    assert result.exit_code == 0, result.output
    timeline = json.loads((root / "ad.timeline.json").read_text())
    return World(root=root, lib=lib, footage=footage, music=music, brief=brief, plan=plan,
                 timeline=timeline, mp4=(footage / "shoe.mp4").read_bytes(),
                 wav=(root / "short.wav").read_bytes())


class World(dict):
    """The fixture's documents; a short repr keeps hypothesis' failure reports readable."""

    def __init__(self, **items):
        super().__init__(items)

    def __repr__(self) -> str:
        return f"World({self['root']})"


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A clean folder per example, also the working folder (relative outputs land there)."""
    def fresh() -> Path:
        folder = tmp_path / f"ex{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        monkeypatch.chdir(folder)
        return folder
    return fresh


# -- strategies ---------------------------------------------------------------------------

WEIRD_STRINGS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\n", "\x00", "../../etc/passwd", "/dev/null", "-5", "nan", "1e309",
                     "9:16", "21:9", "x" * 5000, "线" * 3000, "\ud800", "a\nb\rc\td",
                     "shoe.mp4", "/", ".", "~"]),
)
WEIRD_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e-300, 1e308, 2**63, -0.0, 0.5]),
)
SCALARS = st.one_of(st.none(), st.booleans(), WEIRD_NUMBERS, WEIRD_STRINGS)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def paths_of(node, prefix=()):
    """Every path into a JSON tree (dict keys and list indexes)."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths_of(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths_of(v, (*prefix, i))


@st.composite
def mutated_tree(draw, tree):
    """`tree` with one to three structural mutations."""
    tree = json.loads(json.dumps(tree))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in paths_of(tree) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = tree
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "number"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "number":
            parent[key] = draw(WEIRD_NUMBERS)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return tree


@st.composite
def mutated_bytes(draw, data: bytes):
    """`data` truncated, with flipped, inserted or zeroed bytes (mostly near its start, where
    headers are)."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["truncate", "flip", "insert", "zero"]))
        if not data:
            break
        head = min(len(data), 4096)
        at = draw(st.integers(0, head - 1)) if draw(st.booleans()) else draw(
            st.integers(0, len(data) - 1))
        if action == "truncate":
            del data[at:]
        elif action == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            data[at:at + draw(st.integers(1, 512))] = b"\0" * min(512, len(data) - at)
    return bytes(data)


def dumps(tree) -> str:
    """JSON as Python writes it: NaN and Infinity become the tokens many tools emit."""
    return json.dumps(tree, ensure_ascii=False)


@st.composite
def jsonl_bytes(draw, rows: list) -> bytes:
    """JSON Lines of `rows`, each row mutated or not, the whole file then maybe mutated as
    bytes (lone surrogates are written as the invalid UTF-8 a broken tool would write)."""
    rows = [draw(mutated_tree(r)) if draw(st.booleans()) else r for r in rows]
    raw = "\n".join(dumps(r) for r in rows).encode("utf-8", "surrogatepass")
    return draw(mutated_bytes(raw)) if draw(st.booleans()) else raw


# -- briefs ------------------------------------------------------------------------------------

def _brief_tree(world):
    import yaml

    return yaml.safe_load(world["brief"])


@pytest.mark.hostile("traceback")
@examples(25)
@given(data=st.data())
def test_edit_with_a_mutated_brief(world, work, data):
    folder = work()
    kind = data.draw(st.sampled_from(["yaml-tree", "yaml-bytes", "json-tree", "text"]))
    if kind == "yaml-tree":
        import yaml

        text = yaml.safe_dump(data.draw(mutated_tree(_brief_tree(world))), allow_unicode=True)
        brief = folder / "brief.yaml"
        brief.write_text(text, encoding="utf-8", errors="surrogatepass")
    elif kind == "yaml-bytes":
        brief = folder / "brief.yaml"
        brief.write_bytes(data.draw(mutated_bytes(world["brief"].encode())))
    elif kind == "json-tree":
        brief = folder / "brief.json"
        brief.write_text(dumps(data.draw(mutated_tree(_brief_tree(world)))), encoding="utf-8",
                         errors="surrogatepass")
    else:
        brief = data.draw(WEIRD_STRINGS)
    run_and_check(["edit", "--library", world["lib"], "--brief", brief,
                   "--plan-only", folder / "plan.json"],
                  watch=[folder, world["lib"], world["footage"]],
                  may_write={folder / "plan.json"})


# -- plans and timelines -----------------------------------------------------------------------

@pytest.mark.hostile("traceback")
@examples(30)
@given(data=st.data())
def test_render_print_with_a_mutated_plan_or_timeline(world, work, data):
    folder = work()
    which = data.draw(st.sampled_from(["plan", "timeline"]))
    doc = folder / f"{which}.json"
    if data.draw(st.booleans()):
        doc.write_text(dumps(data.draw(mutated_tree(world[which]))), encoding="utf-8",
                       errors="surrogatepass")
    else:
        doc.write_bytes(data.draw(mutated_bytes(json.dumps(world[which]).encode())))
    run_and_check(["render", doc, "-o", folder / "ad.mp4", "--print-ffmpeg"],
                  watch=[folder, world["footage"], world["music"]], may_write=set())


RENDER_OUTPUTS = ("ad.mp4", "ad.srt", "ad.otio", "ad.timeline.json", "ad.manifest.json",
                  "ad.qc.json")


@pytest.mark.hostile("half-written")
@examples(6)
@given(data=st.data())
def test_render_a_mutated_plan(world, work, data):
    """A real (preview) render: whatever it does, its outputs are all there or none is."""
    folder = work()
    doc = folder / "plan.json"
    doc.write_text(dumps(data.draw(mutated_tree(world["plan"]))), encoding="utf-8",
                   errors="surrogatepass")
    outputs = {folder / name for name in RENDER_OUTPUTS}
    result = run_and_check(["render", doc, "-o", folder / "ad.mp4", "--preview"],
                           watch=[folder, world["footage"], world["music"]], may_write=outputs)
    present = {p for p in outputs if p.exists()}
    if result.exit_code == 2:
        assert not present
    else:  # rendered (QC may still fail with 1): the MP4 and its companions, together
        assert {folder / n for n in RENDER_OUTPUTS if n != "ad.srt"} <= present


# -- result files (eval) --------------------------------------------------------------------------

RELEASE_ROW = {"sample_id": 1, "task": "vid_sort", "ad_key": {"chunk_id": 9, "ad_id": 101},
               "conversations": [{"from": "human", "value": "排序"}, {"from": "gpt", "value": "2,1,3"}],
               "system": "", "tools": "", "model_generate": "1,2,3"}


@pytest.mark.hostile("traceback")
@examples(30)
@given(data=st.data())
def test_eval_with_mutated_result_rows(work, data):
    folder = work()
    path = folder / "F___vidsort_fuzz.jsonl"
    path.write_bytes(data.draw(jsonl_bytes([RELEASE_ROW] * data.draw(st.integers(1, 4)))))
    run_and_check(["eval", path], watch=[folder], may_write=set())


# -- media files (ingest) -------------------------------------------------------------------------

@pytest.mark.hostile("traceback")
@examples(12)
@given(data=st.data())
def test_ingest_a_mutated_video(world, work, data):
    folder = work()
    video = folder / "clip.mp4"
    video.write_bytes(data.draw(mutated_bytes(world["mp4"])))
    lib = folder / "lib"
    run_and_check(["ingest", video, "--library", lib, "--asr", "none", "--text", "none"],
                  watch=[folder], below=lib)


# -- a damaged library ---------------------------------------------------------------------------

@pytest.mark.hostile("library")
@examples(12)
@given(data=st.data())
def test_read_commands_on_a_damaged_catalog(world, work, data):
    folder = work()
    lib = folder / "lib"
    shutil.copytree(world["lib"], lib)
    catalog = lib / "catalog.sqlite"
    catalog.write_bytes(data.draw(mutated_bytes(catalog.read_bytes())))
    for args in (["library", "info", lib], ["library", "ls", lib],
                 ["edit", "--library", lib, "--brief", "Spark shoe", "--plan-only",
                  folder / "plan.json"]):
        run_and_check(args, watch=[folder, world["footage"]],
                      may_write={folder / "plan.json"})


# -- argument lists ------------------------------------------------------------------------------

ARGV = st.lists(st.one_of(
    st.sampled_from(["--duration", "--aspect", "--seed", "--variants", "--voice", "--planner",
                     "--model", "--force", "--json", "--explain", "--preview", "--music",
                     "--max-shot", "--min-shot", "--task", "--track", "-o", "--library"]),
    WEIRD_STRINGS, WEIRD_NUMBERS.map(str)), max_size=6)


@pytest.mark.hostile("message")
@examples(40)
@given(data=st.data())
def test_commands_with_random_arguments(world, work, data):
    folder = work()
    head = data.draw(st.sampled_from([
        ["edit", "--library", str(world["lib"]), "--brief", "Spark shoe", "--plan-only", "p.json"],
        ["render", "missing.json", "-o", "ad.mp4", "--print-ffmpeg"],
        ["eval"], ["library", "info"], ["library", "ls"], ["schema"], ["bench", "autocut364"],
    ]))
    argv = head + [a.replace("\x00", "") for a in data.draw(ARGV)]
    run_and_check(argv, watch=[folder, world["lib"], world["footage"]],
                  may_write={folder / "p.json"})


# -- sidecar captions and music files (ingest) ------------------------------------------------

CAPTION_ROW = {"file": "clip.mp4", "text": "a red running shoe", "start_s": 0.0, "end_s": 1.5}


@pytest.mark.hostile("traceback")
@examples(6)
@given(data=st.data())
def test_ingest_with_mutated_sidecar_captions(world, work, data):
    folder = work()
    footage = folder / "footage"
    footage.mkdir()
    (footage / "clip.mp4").write_bytes(world["mp4"])
    captions = data.draw(jsonl_bytes([CAPTION_ROW] * data.draw(st.integers(1, 3))))
    (footage / "captions.jsonl").write_bytes(captions)
    (footage / "clip.txt").write_bytes(data.draw(st.one_of(
        st.binary(max_size=200), WEIRD_STRINGS.map(lambda s: s.encode("utf-8", "surrogatepass")))))
    run_and_check(["ingest", footage, "--library", folder / "lib", "--asr", "none", "--ocr", "none"],
                  watch=[folder], below=folder / "lib")


@pytest.mark.hostile("traceback")
@examples(8)
@given(data=st.data())
def test_ingest_a_mutated_music_file(world, work, data):
    folder = work()
    track = folder / data.draw(st.sampled_from(["bed.wav", "bed.mp3", "bed.m4a"]))
    track.write_bytes(data.draw(mutated_bytes(world["wav"])))
    run_and_check(["ingest", track, "--music", "--library", folder / "lib"],
                  watch=[folder], below=folder / "lib")


# -- benchmark folders (bench) -------------------------------------------------------------------

def _bench_rows(kind: str) -> list[dict]:
    """The first released rows of a caption-track file (the dev slice when present), else a
    hand-made row of the same shape."""
    from adcut.eval.bench import TRACK_FILES
    from tests.eval import dev_dir

    dev = dev_dir()
    if dev is not None:
        with open(dev / TRACK_FILES["caption"][kind], encoding="utf-8") as fh:
            return [json.loads(next(fh)) for _ in range(2)]
    return [dict(RELEASE_ROW, task={"select": "vid_select", "sort": "vid_sort",
                                    "script": "vid2text"}[kind])]


@pytest.mark.hostile("traceback")
@examples(10)
@given(data=st.data())
def test_bench_on_a_folder_of_mutated_prompts(work, data):
    from adcut.eval.bench import TRACK_FILES

    folder = work()
    inputs = folder / "autocut364"
    inputs.mkdir()
    for kind, name in TRACK_FILES["caption"].items():
        (inputs / name).write_bytes(data.draw(jsonl_bytes(_bench_rows(kind))))
    run_and_check(["bench", "autocut364", inputs, "--out", folder / "preds"],
                  watch=[folder], below=folder / "preds")
