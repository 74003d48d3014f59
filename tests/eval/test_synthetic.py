"""`adcut bench synthetic`: the world is deterministic and keeps its hidden rules, its dataset
folder is one the builder's readers take as their own, a planner answering from the world's
truth scores perfectly, random and zero-shot score like chance, and bad input is one line.

One tiny world (60 ads, the minimum) is run once for the module; the model step is a
stand-in that returns the truth planner, so the wiring of `model_factory` is checked too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from adcut.core.errors import BadInputError
from adcut.eval.synthetic import rules
from adcut.eval.synthetic.bench import MIN_ADS, run_synthetic_bench
from adcut.eval.synthetic.world import WorldConfig, build_world
from adcut.planner.base import Decision
from adcut.tasks.types import TRACK_TOKENS
from tests.eval import cli

SEED = 3
N_BOOT = 200
METRICS = ("CSA", "CRA", "kendall_tau", "music_R@10")
_VTOK = re.compile(r"<v_\d+_\d+>")
_REPO = Path(__file__).resolve().parents[2]


def _frames_key(text: str | None) -> str:
    """A clip's video tokens, whatever wrapper they come in (prompt clip or clip table)."""
    return "".join(_VTOK.findall(text or ""))


class TruthPlanner:
    """Answers every task from the world's truth (world.json, library.npy) and the folder's
    clip table: what a perfect model would answer."""

    name = "truth"
    reads_tracks = (TRACK_TOKENS,)

    def __init__(self, out_dir: Path):
        from adcut.tokens.tokenizer import Tokenizer
        from adcut.tokens.vocab import track_string

        truth = json.loads((out_dir / "world.json").read_text(encoding="utf-8"))["truth"]
        self.by_lines = {tuple(c["line"] for c in ad["clips"]): ad for ad in truth}
        self.frames: dict[str, list[str]] = {}
        self.ad_of_clip: dict[str, dict] = {}
        by_key = {ad["key"]: ad for ad in truth}
        for line in (out_dir / "data" / "clips.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            self.frames.setdefault(row["ad"], []).append(_frames_key(row["v_tok"]))
            self.ad_of_clip[_frames_key(row["v_tok"])] = by_key[row["ad"]]
        library = np.load(out_dir / "library.npy")
        audio = Tokenizer.load(out_dir / "data" / "tokenizers" / "audio")
        self.track_tokens = [track_string(c) for c in audio.encode(library)]

    def _ad(self, lines):
        return self.by_lines[tuple(lines)]

    def select(self, task, hints=None):
        mine = set(self.frames[self._ad(task.script_lines)["key"]])
        return Decision(value=[c.number for c in task.clips if _frames_key(c.tokens) in mine])

    def order(self, task, hints=None):
        number = {_frames_key(c.tokens): c.number for c in task.clips}
        return Decision(value=[number[f] for f in self.frames[self._ad(task.script_lines)["key"]]])

    def write(self, task, hints=None):
        ad = self.ad_of_clip[_frames_key(task.clips[0].tokens)]
        return Decision(value=[c["line"] for c in ad["clips"]])

    def music(self, task, hints=None):
        track = self._ad(task.script_lines)["track"]
        if task.audio_candidates:
            return Decision(value=track + 1)
        return Decision(value=self.track_tokens[track])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The tiny world run once: report, output folder, and what the model step was given."""
    out = tmp_path_factory.mktemp("synthetic") / "run"
    given = []

    def factory(data_dir, work_dir):
        given.append((data_dir, work_dir))
        return TruthPlanner(out)

    report = run_synthetic_bench(out, ads=MIN_ADS, seed=SEED, model_factory=factory, n_boot=N_BOOT)
    return report, out, given


@pytest.fixture(scope="module")
def world():
    return build_world(WorldConfig(ads=MIN_ADS, seed=SEED))


# -- the world ------------------------------------------------------------------------------------

def test_the_hidden_rules_hold(world):
    line_words = {w for a in rules.ATTRIBUTES for w in a.line_words}
    caption_words = {w.lower() for ad in world.ads for c in ad.clips for w in re.findall(r"[A-Za-z]+", c.caption)}
    assert not line_words & caption_words, "a script line's attribute word appears in a caption"
    by_attr = {a.name: set(a.line_words) for a in rules.ATTRIBUTES}
    rank = {s.name: s.rank for s in rules.SHOT_TYPES}
    assert sorted(world.category_mood.values()) == sorted(set(world.category_mood.values()))  # one mood each
    protos = {k.split(":", 1)[1]: v for k, v in world.prototypes.items() if k.startswith("category:")}
    for ad in world.ads:
        assert 3 <= len(ad.clips) <= 6
        shots = [c.shot for c in ad.clips]
        assert [rank[s] for s in shots] == sorted(rank[s] for s in shots), shots  # the narrative template
        assert shots.count("product") == 1 and shots[-1] == "cta" and shots[0] in ("hook", "product")
        assert len({c.attribute for c in ad.clips}) == len(ad.clips)  # a line points at one clip
        for c in ad.clips:
            words = {w.lower().strip(".?,!") for w in c.line.split()}
            assert words & line_words == words & by_attr[c.attribute] and len(words & line_words) == 1, c.line
            assert np.allclose(np.linalg.norm(c.frames, axis=1), 1.0, atol=1e-5)
            nearest = max(protos, key=lambda name: float(c.frames.mean(0) @ protos[name]))
            assert nearest == ad.category
        assert world.track_moods[ad.track] == world.category_mood[ad.category]  # mood follows category
    assert {ad.category for ad in world.ads} == {c.name for c in rules.CATEGORIES}


def test_the_world_is_a_function_of_its_seed_and_more_ads_keep_the_first(world):
    again = build_world(WorldConfig(ads=MIN_ADS, seed=SEED))
    fewer = build_world(WorldConfig(ads=20, seed=SEED))
    other = build_world(WorldConfig(ads=MIN_ADS, seed=SEED + 1))
    for a, b, c in zip(world.ads, again.ads, fewer.ads):
        assert a.key == b.key == c.key and a.track == b.track == c.track
        assert [x.line for x in a.clips] == [x.line for x in b.clips] == [x.line for x in c.clips]
        assert all(np.array_equal(x.frames, y.frames) for x, y in zip(a.clips, c.clips))
    assert np.array_equal(world.library, again.library)
    assert not np.array_equal(world.library, other.library)


# -- the dataset folder ---------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_dataset_files(run, tmp_path):
    _, out, _ = run
    # in another process: what varies between processes (hash seeds, map orders) must not matter
    code = ("import sys; from pathlib import Path; from adcut.eval.synthetic.world import WorldConfig, build_world; "
            "from adcut.eval.synthetic.dataset import write_dataset; "
            f"write_dataset(build_world(WorldConfig(ads={MIN_ADS}, seed={SEED})), Path(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "again")], check=True, cwd=_REPO)
    first = {p.relative_to(out / "data"): p for p in (out / "data").rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path / "again"): p for p in (tmp_path / "again").rglob("*") if p.is_file()}
    assert set(first) == set(second)
    # the tokenizer trainer's own report.json records how long training took
    timed = {Path("tokenizers") / m / "report.json" for m in ("video", "audio")}
    differ = [str(rel) for rel in first if rel not in timed and first[rel].read_bytes() != second[rel].read_bytes()]
    assert not differ
    assert {"align/train.jsonl", "align/eval.jsonl", "sft/train.jsonl", "sft/eval.jsonl", "clips.jsonl",
            "report.json", "build.json", "tokenizers/video/model.safetensors",
            "tokenizers/audio/config.json"} <= {str(p) for p in first}


def test_the_folder_reads_as_a_built_dataset(run):
    from adcut.dataset.store import DatasetFolder
    from adcut.tasks.prompts_en import build_prompt_en, parse_prompt_en
    from adcut.tasks.release import load_release_rows
    from adcut.tokens.tokenizer import Tokenizer

    report, out, _ = run
    data = out / "data"
    code, text, err = cli("dataset", "info", data, "--json")
    assert code == 0, err
    info = json.loads(text)
    assert info["ads"]["used"] == MIN_ADS and not info["skipped"] and not info["left_out"]
    assert info["ads"]["eval"] == report["world"]["eval_ads"] > 0
    assert set(info["tasks"]["eval"]) == {"vid_select", "vid_sort", "vid2text", "vid2aud"}
    folder = DatasetFolder(data)
    assert len(folder.finished()) == MIN_ADS and folder.manifest()["format"] == "adcut-dataset/1"
    stored = folder.load_ad(min(folder.finished()))
    assert stored.frames.shape[1] == 128 and stored.music.shape == (64,)
    for modality in ("video", "audio"):
        Tokenizer.load(data / "tokenizers" / modality).check_encoder(*stored.encoders[modality])
    for split in ("train", "eval"):
        rows, problems = load_release_rows(data / "sft" / f"{split}.jsonl")
        assert rows and not problems
        for row in rows:
            _, task, track = parse_prompt_en(row.prompt)
            assert track == TRACK_TOKENS and build_prompt_en(task, track) == row.prompt
    # the captions stay in the world: the token track shows none
    captions = {c["caption"] for ad in json.loads((out / "world.json").read_text(encoding="utf-8"))["truth"]
                for c in ad["clips"]}
    sft = (data / "sft" / "train.jsonl").read_text(encoding="utf-8")
    assert not [c for c in captions if c in sft]


def test_tokenising_many_ads_at_once_gives_the_codes_of_one_at_a_time(run):
    from adcut.dataset.build import tokenise, tokenise_many
    from adcut.dataset.store import DatasetFolder
    from adcut.tokens.tokenizer import Tokenizer

    _, out, _ = run
    folder = DatasetFolder(out / "data")
    toks = {m: (Tokenizer.load(out / "data" / "tokenizers" / m), m) for m in ("video", "audio")}
    ads = [folder.load_ad(k) for k in sorted(folder.finished())[:12]]
    for alone, together in zip((tokenise(ad, toks) for ad in ads), tokenise_many(ads, toks)):
        assert np.array_equal(alone.track_codes, together.track_codes)
        for a, b in zip(alone.clips, together.clips):
            assert a.text == b.text and np.array_equal(a.codes, b.codes)


# -- scoring --------------------------------------------------------------------------------------

def test_the_truth_planner_scores_perfectly_through_the_model_step(run):
    report, out, given = run
    assert given == [(out / "data", out / "work")]
    model = report["planners"]["model"]
    assert model["CSA"] == model["CRA"] == model["kendall_tau"] == model["music_R@10"] == 1.0
    assert model["WCD"] == 0.0
    assert model["music"].startswith("generated tokens")  # the paper's vid2aud: no candidates
    for metric in METRICS:
        assert model["ci95"][metric] == [1.0, 1.0]
    for other in ("random", "zero-shot"):
        diff = report["comparisons"][f"model - {other}"]["CSA"]
        assert diff["diff"] > 0 and diff["ci95"][0] > 0


def test_random_and_zero_shot_score_like_chance_with_intervals(run):
    report, out, _ = run
    n_eval = report["world"]["eval_ads"]
    for name in ("random", "zero-shot"):
        entry = report["planners"][name]
        assert entry["n_ads"] == {"select": n_eval, "sort": n_eval, "music": n_eval, "script": n_eval}
        assert not entry["problems"], entry["problems"]
        for metric in METRICS:
            lo, hi = entry["ci95"][metric]
            assert lo <= entry[metric] <= hi
        assert entry["CSA"] <= 0.5 and entry["CRA"] <= 0.5 and entry["music_R@10"] <= 0.8
        assert entry["music"] == "library candidates"
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["planners"].keys() == \
        {"random", "zero-shot", "model"}


def test_predictions_are_release_files_that_adcut_eval_scores_the_same(run):
    report, out, _ = run
    preds = out / "predictions" / "random"
    code, text, err = cli("eval", preds / "F___vidsort_random.jsonl", "--json")
    assert code == 0, err
    assert json.loads(text)["CRA"] == report["planners"]["random"]["CRA"]
    code, text, err = cli("eval", preds / "F2___audrank_random.jsonl", "--json")
    assert code == 0, err
    assert json.loads(text)["R@10"] == report["planners"]["random"]["music_R@10"]


def test_a_failing_model_step_keeps_the_reference_results(tmp_path):
    def factory(data_dir, work_dir):
        raise BadInputError("no trainer here")

    with pytest.raises(BadInputError, match="no trainer here") as caught:
        run_synthetic_bench(tmp_path / "run", ads=MIN_ADS, seed=SEED, model_factory=factory, n_boot=N_BOOT)
    assert "report.json" in caught.value.hint
    kept = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
    assert set(kept["planners"]) == {"random", "zero-shot"}


def test_stages_parse():
    from adcut.eval.synthetic.model_step import parse_stages

    assert parse_stages("align, sft") == ("align", "sft") and parse_stages("SFT") == ("sft",)
    with pytest.raises(BadInputError, match="--stages"):
        parse_stages("sft,align")


# -- the command line -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["--ads", "10"], "--ads 10 is out of range"),
    (["--stages", "pretrain"], "unknown --stages"),
    (["--no-model", "--recipe", "tiny-cpu"], "--no-model trains none"),
    (["--track", "token"], "--track is not an option of `adcut bench synthetic`"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    code, _, err = cli("bench", "synthetic", "-o", tmp_path / "run", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


def test_the_cli_refuses_a_used_folder_a_dir_argument_and_synthetic_options_elsewhere(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    code, _, err = cli("bench", "synthetic", "-o", tmp_path / "used", "--no-model")
    assert code == 2 and "already holds files" in err and "--force" in err
    assert [p.name for p in (tmp_path / "used").iterdir()] == ["notes.txt"]
    code, _, err = cli("bench", "synthetic", tmp_path)
    assert code == 2 and "takes no folder" in err
    code, _, err = cli("bench", "autocut364", tmp_path, "--ads", "100")
    assert code == 2 and "--ads is an option of `adcut bench synthetic`" in err


# A recipe that trains a few steps: the whole recipe runs, not how well it learns.
FEW_STEPS = """
name: few-steps
base: tiny
tiny: {vocab_size: 400, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
       num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 4096}
align: {learning_rate: 1.0e-2, epochs: 1, batch_size: 8, cutoff_len: 512, max_steps: 2}
sft: {learning_rate: 3.0e-3, epochs: 1, batch_size: 8, cutoff_len: 4096, max_steps: 2}
"""


def test_one_command_trains_the_model_and_prints_one_json_object(tmp_path):
    """World, dataset, tokenizers, align, SFT, the model planner, eval: one command."""
    recipe = tmp_path / "few-steps.yaml"
    recipe.write_text(FEW_STEPS)
    code, out, err = cli("bench", "synthetic", "-o", tmp_path / "run", "--ads", MIN_ADS, "--seed", SEED,
                         "--recipe", recipe, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report["planners"]) == {"random", "zero-shot", "model"}
    assert set(report["comparisons"]) == {"model - random", "model - zero-shot"}
    for stage in ("align", "sft"):
        record = json.loads((tmp_path / "run" / "work" / stage / "adcut_model.json").read_text())
        assert record["state"] == "done" and record["metrics"]["steps"] == 2
    for entry in report["planners"].values():
        assert all(metric in entry and metric in entry["ci95"] for metric in METRICS)
    assert report["world"]["ads"] == MIN_ADS and report["world"]["seed"] == SEED
