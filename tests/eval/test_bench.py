"""`adcut bench autocut364`: the adapter round-trips the released prompts, a planner sees only
the task object, the zero-shot planner runs on the dev slice in well under a minute, and bad
folders give one clear line."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from adcut.core.errors import AdcutError, BadInputError, DependencyError
from adcut.eval.bench import TRACK_FILES, planner_for_track, predict_rows, run_bench
from adcut.eval.files import load_result_file, score_file
from adcut.planner.base import Decision, Hints
from adcut.tasks.release import load_release_rows
from adcut.tasks.types import ScriptTask, SelectTask, SortTask
from tests.eval import cli, dev_dir, release_row

DEV = dev_dir()
needs_dev = pytest.mark.skipif(DEV is None, reason="autocut364 dev slice not present")
CAPTION = TRACK_FILES["caption"]


class SpyPlanner:
    """Answers trivially and records what it was given."""

    name = "spy"

    def __init__(self, fail_on: int | None = None, exc: Exception | None = None):
        self.seen: list[tuple[object, Hints | None]] = []
        self.fail_on = fail_on
        self.exc = exc

    def _record(self, task, hints):
        self.seen.append((task, hints))
        if self.fail_on is not None and len(self.seen) == self.fail_on:
            raise self.exc or AdcutError("no answer")

    def select(self, task, hints=None):
        self._record(task, hints)
        return Decision(value=[c.number for c in task.clips[: task.n_select]])

    def order(self, task, hints=None):
        self._record(task, hints)
        return Decision(value=[c.number for c in task.clips])

    def write(self, task, hints=None):
        self._record(task, hints)
        return Decision(value=["一句" for _ in task.clips])

    def music(self, task, hints=None):
        raise NotImplementedError


@needs_dev
@pytest.mark.parametrize("kind", ["select", "sort", "script"])
def test_adapter_round_trips_the_released_prompts_and_hides_the_answers(kind):
    rows, problems = load_release_rows(DEV / CAPTION[kind])
    assert rows and not problems
    spy = SpyPlanner()
    preds, counts, run_problems = predict_rows(rows, kind, spy, CAPTION[kind])
    # every prompt parses into its task and rebuilds byte for byte
    assert counts == {"n_prompt_unparsed": 0, "n_prompt_roundtrip_mismatch": 0, "n_not_caption_track": 0,
                      "n_planner_failed": 0}
    assert run_problems == [] and len(preds) == len(rows) == len(spy.seen)
    want = {"select": SelectTask, "sort": SortTask, "script": ScriptTask}[kind]
    for row, (task, hints) in zip(rows, spy.seen):
        assert type(task) is want
        assert hints == Hints(seed=0, language="zh")  # nothing about the ad beyond the task
        shown = repr(task)
        if kind != "script":
            assert row.gold not in shown and (row.model_generate or "") not in shown
        assert not any(hasattr(task, f) for f in ("gold", "model_generate", "ad_key", "sample_id"))


def _small_dev(tmp_path, n: int = 5):
    """The first n rows of each caption-track file."""
    folder = tmp_path / "dev"
    folder.mkdir()
    for name in CAPTION.values():
        lines = (DEV / name).read_text(encoding="utf-8").splitlines()[:n]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@needs_dev
def test_planner_failures_are_counted_as_wrong(tmp_path):
    folder = _small_dev(tmp_path)
    report = run_bench("autocut364", folder, SpyPlanner(fail_on=2), out=tmp_path / "out", n_boot=200)
    files = {f["kind"]: f for f in report["files"].values()}
    assert files["select"]["n_planner_failed"] == 1 and files["select"]["n_rows"] == 5
    assert any("planner failed (no answer); scored as an empty output" in p for p in report["problems"])
    assert set(report["ci95"]) >= {"CSA", "CRA", "kendall_tau", "WCD"}
    with pytest.raises(DependencyError):  # a dead server stops the run instead of failing every row
        run_bench("autocut364", folder, SpyPlanner(fail_on=1, exc=DependencyError("server gone")),
                  out=tmp_path / "out2")


@needs_dev
def test_zero_shot_on_the_dev_slice_via_the_cli(tmp_path):
    t0 = time.perf_counter()
    code, out, err = cli("bench", "autocut364", DEV, "--track", "caption", "--json", "--out", tmp_path)
    seconds = time.perf_counter() - t0
    assert code == 0, err
    assert seconds < 60
    rep = json.loads(out)
    assert rep["planner"] == "zero-shot" and rep["track"] == "caption" and rep["missing_files"] == []
    ex = rep["counts_and_extras"]
    assert ex["CSA_n_eval"] == 102 and ex["CRA_n_rows"] == 102 and ex["WCD_n_eval"] == 102
    h = rep["headline"]
    assert h["VSC"] is None and h["SQ"] is None  # need a judge: never made up
    for metric in ("CSA", "CRA", "kendall_tau", "WCD"):
        lo, hi = rep["ci95"][metric]
        value = h.get(metric, ex.get(metric))
        assert lo <= value <= hi
    assert [r["CSA"] for r in rep["paper"]] == [0.137, 0.569, 0.659]
    assert [r["CRA"] for r in rep["paper"]] == [0.016, 0.030, 0.107]
    assert "Qwen3_8B" in rep["dev_reference"]
    # the planner beats the paper's caption rows on the dev slice: Qwen3-8B caption CSA 0.137 /
    # CRA 0.016 / WCD 5.26, +SFT CSA 0.569 / CRA 0.030 / Kendall tau 0.109 (0.119 here)
    assert h["CSA"] > 0.569 and h["WCD"] < 5.26
    # ordering from captions alone is weak: 4 exact orders of 102 at seed 0 (3 without the
    # WordLlama tie-breaker), a margin of one ad over the SFT row's CRA
    assert h.get("CRA", ex.get("CRA")) > 0.030
    assert h.get("kendall_tau", ex.get("kendall_tau")) > 0.119
    for res in rep["files"].values():
        assert res["n_planner_failed"] == 0 and res["n_prompt_roundtrip_mismatch"] == 0
    # the predictions are release files that `adcut eval` scores the same way
    sel = tmp_path / "F___vidselect_zero-shot.jsonl"
    assert score_file(load_result_file(sel))["CSA"] == h["CSA"]
    code, out, _ = cli("eval", tmp_path, "--json")
    assert code == 0 and json.loads(out)["systems"]["zero-shot"]["headline"] == h
    # the planner never saw the stored baseline outputs: they are not in our files
    first = json.loads(sel.read_text(encoding="utf-8").splitlines()[0])
    stored = json.loads((DEV / CAPTION["select"]).read_text(encoding="utf-8").splitlines()[0])
    assert first["conversations"] == stored["conversations"] and first["sample_id"] == stored["sample_id"]


@needs_dev
def test_a_folder_with_some_files_runs_those_and_says_what_is_missing(tmp_path):
    folder = tmp_path / "part"
    folder.mkdir()
    shutil.copy(DEV / CAPTION["sort"], folder / CAPTION["sort"])
    code, out, err = cli("bench", "autocut364", folder, "--out", tmp_path / "o")
    assert code == 0, err
    assert f"missing: {CAPTION['select']}" in out and "CRA" in out


def test_bad_folders_give_one_clear_line(tmp_path):
    code, _, err = cli("bench", "autocut364", tmp_path)
    assert code == 2 and "none of the caption-track files" in err and "F___vidselect_Qwen3_8B.jsonl" in err
    code, _, err = cli("bench", "autocut364", tmp_path / "missing")
    assert code == 2 and "no such folder" in err
    code, _, err = cli("bench", "other", tmp_path)
    assert code == 2 and "unknown benchmark" in err
    code, _, err = cli("bench", "autocut364", tmp_path, "--track", "nonsense")
    assert code == 2 and "unknown track 'nonsense'" in err and "token" in err
    (tmp_path / CAPTION["sort"]).write_text("")
    with pytest.raises(BadInputError, match="no task file had usable rows"):
        run_bench("autocut364", tmp_path, SpyPlanner(), out=tmp_path / "o")


def test_predictions_never_go_into_a_read_only_folder(tmp_path, monkeypatch):
    """A read-only data set (the shared dev slice) still gets benchmarked with the documented
    command: the predictions go to ./NAME-predictions, and the folder is left as it was."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / CAPTION["sort"]).write_text(release_row(0, gold="1,2") + "\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    folder.chmod(0o555)
    try:
        code, out, err = cli("bench", "autocut364", folder, "--json")
        assert code == 0, err
        assert f"{folder} is read-only: predictions written to {work / 'ro-predictions'}" in err
        assert sorted(p.name for p in folder.iterdir()) == [CAPTION["sort"]]
        written = [p.name for p in (work / "ro-predictions").iterdir()]
        assert json.loads(out)["predictions"] == [str(work / "ro-predictions" / n) for n in written]
        # nowhere writable at all: one line naming the way out
        shutil.rmtree(work / "ro-predictions")
        work.chmod(0o555)
        code, _, err = cli("bench", "autocut364", folder)
        assert code == 2 and "read-only" in err and "--out" in err
    finally:
        folder.chmod(0o755)
        work.chmod(0o755)


def test_unparseable_prompts_are_scored_as_wrong(tmp_path):
    (tmp_path / CAPTION["sort"]).write_text(release_row(0, gold="2,1", prompt="不是任务提示") + "\n")
    report = run_bench("autocut364", tmp_path, SpyPlanner(), out=tmp_path / "o", n_boot=50)
    res = next(iter(report["files"].values()))
    assert res["n_prompt_unparsed"] == 1 and res["CRA"] == 0.0
    assert any("prompt not understood" in p for p in report["problems"])


@needs_dev
def test_an_openai_planner_is_sent_exactly_the_released_prompts(tmp_path):
    from tests.planner_llm import serve

    def reply(body: dict) -> str:
        prompt = body["messages"][0]["content"]
        if prompt.endswith("【现在开始输出台词】"):
            return "\n".join(["好的台词"] * 40)  # more lines than clips: the first N are kept
        return ",".join(str(i) for i in range(1, 41))  # ids: out-of-range dropped, first N kept

    folder = _small_dev(tmp_path, n=3)
    with serve(reply) as srv:
        code, out, err = cli("bench", "autocut364", folder, "--planner", f"openai {srv.url}",
                             "--model", "tiny-chat", "--out", tmp_path / "o", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["planner"] == "llm:openai:tiny-chat"
    released = [json.loads(line)["conversations"][0]["value"]
                for name in CAPTION.values() for line in (folder / name).read_text(encoding="utf-8").splitlines()]
    assert sorted(srv.prompts()) == sorted(released)  # the paper's prompts, byte for byte, nothing else
    assert all(f["n_planner_failed"] == 0 for f in rep["files"].values())
    assert (tmp_path / "o" / "F___vidsort_llm_openai_tiny-chat.jsonl").is_file()


# --------------------------------------------------------------------------- token track

TOKENS = TRACK_FILES["tokens"]
needs_tokens = pytest.mark.skipif(DEV is None or not all((DEV / n).is_file() for n in TOKENS.values()),
                                  reason="autocut364 token-track files not present")


class TokenSpy(SpyPlanner):
    name = "token-spy"
    reads_tracks = ("caption", "tokens")


@needs_tokens
@pytest.mark.parametrize("kind", ["select", "sort", "script"])
def test_token_adapter_round_trips_the_released_prompts_and_hides_the_answers(kind):
    from adcut.tasks.prompts_zh import build_prompt_zh

    rows, problems = load_release_rows(DEV / TOKENS[kind])
    assert rows and not problems
    spy = TokenSpy()
    preds, counts, run_problems = predict_rows(rows, kind, spy, TOKENS[kind], track="tokens")
    assert counts == {"n_prompt_unparsed": 0, "n_prompt_roundtrip_mismatch": 0, "n_not_tokens_track": 0,
                      "n_planner_failed": 0}
    assert run_problems == [] and len(preds) == len(rows) == len(spy.seen)
    for row, (task, hints) in zip(rows, spy.seen):
        assert hints == Hints(seed=0, language="zh")
        assert all(c.caption is None and c.tokens for c in task.clips)
        assert all(c.codes.shape[1] == 8 and len(c.codes) >= 1 for c in task.clips)
        assert build_prompt_zh(task, "tokens") == row.prompt  # exactly what the AutoCut model read
        shown = repr(task)
        if kind != "script":
            assert row.gold not in shown and (row.model_generate or "") not in shown
        assert not any(hasattr(task, f) for f in ("gold", "model_generate", "ad_key", "sample_id"))


def _random_csa(folder) -> float:
    """Expected CSA of picking n of the m pool clips at random: mean of 1 / C(m, n)."""
    import math

    from adcut.tasks.prompts_zh import parse_prompt_zh

    rows, _ = load_release_rows(folder / TOKENS["select"])
    tasks = [parse_prompt_zh(r.prompt)[1] for r in rows]
    return sum(1 / math.comb(len(t.clips), t.n_select) for t in tasks) / len(tasks)


@needs_dev
@needs_tokens
def test_token_track_on_the_dev_slice_via_the_cli(tmp_path):
    t0 = time.perf_counter()
    code, out, err = cli("bench", "autocut364", DEV, "--track", "token", "--json", "--out", tmp_path)
    assert code == 0, err
    assert time.perf_counter() - t0 < 30
    rep = json.loads(out)
    assert rep["planner"] == "zero-shot" and rep["track"] == "tokens" and rep["missing_files"] == []
    ex, h = rep["counts_and_extras"], rep["headline"]
    assert ex["CSA_n_eval"] == 102 and ex["CRA_n_rows"] == 102 and ex["WCD_n_eval"] == 102
    for res in rep["files"].values():
        assert res["n_planner_failed"] == 0 and res["n_prompt_unparsed"] == 0
        assert res["n_prompt_roundtrip_mismatch"] == 0 and res["n_not_tokens_track"] == 0
    # far above chance: random picks hit the whole set with probability ~0.004 here, a random
    # order is exact ~1% of the time and has tau 0; a planner that ignores the codes fails these
    random_csa = _random_csa(DEV)
    assert random_csa < 0.01 and h["CSA"] > 0.5
    assert h["CRA"] > 0.03 and ex["kendall_tau"] > 0.2
    assert h["WCD"] < 4.0  # lines fitted to the clips' frame counts
    for metric in ("CSA", "CRA", "kendall_tau", "WCD"):
        lo, hi = rep["ci95"][metric]
        assert lo <= h.get(metric, ex.get(metric)) <= hi
    assert rep["paper"] == [{"system": "AutoCut (emb+sft, tokens)", "CSA": 0.659, "CRA": 0.107, "VSC": 1.036,
                             "SQ": 84.6, "WCD": 3.02, "kendall_tau": 0.392}]
    # AutoCut's own outputs on the same ads, computed from the files: the reference values
    ref = rep["reference"]
    want = json.loads((DEV / "expected.json").read_text(encoding="utf-8"))["systems"]["atc_embsft"]
    for metric in ("CSA", "CRA", "WCD"):
        assert ref["headline"][metric] == pytest.approx(want["headline"][metric], abs=1e-9)
    assert ref["counts_and_extras"]["kendall_tau"] == pytest.approx(want["counts_and_extras"]["kendall_tau"], abs=1e-9)
    assert set(ref["ci95"]) >= {"CSA", "CRA", "kendall_tau", "WCD"}
    assert rep["dev_reference"]["atc_embsft"]["CSA"] == ref["headline"]["CSA"]
    code, text, _ = cli("bench", "autocut364", DEV, "--track", "tokens", "--out", tmp_path / "again")
    assert code == 0 and "--track token" in text and "AutoCut (emb+sft) outputs on the same ads: CSA 0.686" in text


def _token_subset(tmp_path, name: str, n: int, scramble: bool = False, kinds=("select", "sort", "script")):
    """The first n rows of the token-track files; with `scramble`, every gold answer and stored
    output replaced (golds by another row's, outputs shuffled)."""
    import random

    folder = tmp_path / name
    folder.mkdir()
    for kind in kinds:
        objs = [json.loads(line) for line in (DEV / TOKENS[kind]).read_text(encoding="utf-8").splitlines()[:n]]
        if scramble:
            golds = [o["conversations"][1]["value"] for o in objs]
            outs = [o["model_generate"] for o in objs]
            random.Random(7).shuffle(outs)
            for i, o in enumerate(objs):
                o["conversations"][1]["value"] = golds[(i + 1) % len(golds)]
                o["model_generate"] = outs[i]
        (folder / TOKENS[kind]).write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs),
                                           encoding="utf-8")
    return folder


def _predictions(folder) -> dict[str, list[str]]:
    return {p.name: [json.loads(line)["model_generate"] for line in p.read_text(encoding="utf-8").splitlines()]
            for p in sorted(folder.glob("F___*_zero-shot.jsonl"))}


@needs_tokens
def test_token_predictions_never_depend_on_answers_or_other_tasks(tmp_path):
    """The planner sees each task of each ad alone: scrambling the gold answers and the stored
    AutoCut outputs changes nothing, nor does running one task's file without the others."""
    from adcut.planner.zero_shot import ZeroShotPlanner

    plain = _token_subset(tmp_path, "plain", 20)
    scrambled = _token_subset(tmp_path, "scrambled", 20, scramble=True)
    alone = _token_subset(tmp_path, "alone", 20, kinds=("sort",))
    for folder in (plain, scrambled, alone):
        run_bench("autocut364", folder, ZeroShotPlanner(), track="token", out=folder / "o", n_boot=50)
    ours = _predictions(plain / "o")
    assert len(ours) == 3 and all(len(v) == 20 for v in ours.values())
    assert _predictions(scrambled / "o") == ours
    sort_name = "F___vidsort_zero-shot.jsonl"
    assert _predictions(alone / "o") == {sort_name: ours[sort_name]}


@needs_tokens
def test_token_track_bad_input_gives_one_clear_line(tmp_path):
    code, _, err = cli("bench", "autocut364", tmp_path, "--track", "token")
    assert code == 2 and "none of the token-track files" in err and TOKENS["select"] in err
    assert len(err.strip().splitlines()) == 1
    folder = _token_subset(tmp_path, "small", 2, kinds=("sort",))
    with pytest.raises(BadInputError, match="planner spy cannot read clip tokens"):
        run_bench("autocut364", folder, SpyPlanner(), track="token", out=tmp_path / "o")
    assert planner_for_track(SpyPlanner(), "caption").name == "spy"


@needs_tokens
def test_an_openai_planner_is_sent_the_token_track_prompts(tmp_path):
    from tests.planner_llm import serve

    def reply(body: dict) -> str:
        prompt = body["messages"][0]["content"]
        if prompt.endswith("【现在开始输出台词】"):
            return "\n".join(["好的台词"] * 40)
        return ",".join(str(i) for i in range(1, 41))

    folder = _token_subset(tmp_path, "llm", 2)
    with serve(reply) as srv:
        code, out, err = cli("bench", "autocut364", folder, "--track", "token", "--planner", f"openai {srv.url}",
                             "--model", "tiny-chat", "--out", tmp_path / "o", "--json")
    assert code == 0, err
    rep = json.loads(out)
    released = [json.loads(line)["conversations"][0]["value"]
                for name in TOKENS.values() for line in (folder / name).read_text(encoding="utf-8").splitlines()]
    assert sorted(srv.prompts()) == sorted(released)  # the AutoCut model's prompts, byte for byte
    assert all(f["n_planner_failed"] == 0 for f in rep["files"].values())


def _caption_ads(n_ads: int = 8) -> list[tuple[SelectTask, SortTask]]:
    """n_ads made-up Chinese ads on the caption track: each a select task (its four clips and
    four of the next ad's) and a sort task (its clips, shuffled). Captions and lines are drawn
    from one small vocabulary, so their words' weights depend on which texts are pooled: a
    planner that pooled texts across tasks or ads would answer some of them differently."""
    import random

    from adcut.tasks.types import ClipRef, Product

    rng = random.Random(3)
    words = ["奶粉", "面霜", "跑鞋", "咖啡", "耳机", "桌上", "女士", "男士", "手里", "特写", "厨房", "阳光",
             "打开", "拿着", "喝着", "展示", "包装", "价格", "红色", "白色"]
    names = ["奶粉", "面霜", "跑鞋", "咖啡", "耳机"]

    def caption() -> str:
        return "一" + "".join(rng.sample(words, 3))

    captions = [[caption() for _ in range(4)] for _ in range(n_ads)]
    ads = []
    for a in range(n_ads):
        own, other = captions[a], captions[(a + 1) % n_ads]
        mixed = own + other
        order = rng.sample(range(8), 8)
        pool = [ClipRef(number=i + 1, caption=mixed[j]) for i, j in enumerate(order)]
        lines = ["".join(rng.sample(words, 4)) + "，" for _ in range(3)]
        name = names[a % len(names)]
        product = Product(name=name, brand=f"{name}品牌", selling_points=[rng.choice(words)])
        shuffled = rng.sample(own[:3], 3)
        ads.append((SelectTask(product, lines, pool, 4),
                    SortTask(product, lines, [ClipRef(number=i + 1, caption=c) for i, c in enumerate(shuffled)])))
    return ads


def _write_caption_files(folder, ads, scramble: bool = False, kinds=("select", "sort")):
    from adcut.tasks.prompts_zh import build_select_prompt_zh, build_sort_prompt_zh

    folder.mkdir()
    for kind in kinds:
        rows = []
        for i, (sel, srt) in enumerate(ads):
            prompt = build_select_prompt_zh(sel, "caption") if kind == "select" else build_sort_prompt_zh(srt, "caption")
            gold = "1,2,3,4" if kind == "select" else "3,2,1"
            if scramble:
                gold = "5,6,7,8" if kind == "select" else "1,2,3"
            rows.append(release_row(i, task=f"vid_{kind}", gold=gold, pred=str(i) if scramble else "1", prompt=prompt))
        (folder / CAPTION[kind]).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_caption_predictions_never_depend_on_answers_other_tasks_or_other_ads(tmp_path):
    """One task of one ad at a time: the zero-shot planner's answer for an ad is the same with
    the answers scrambled, with the other task's file absent, and with the ad alone in its file."""
    from adcut.planner.zero_shot import ZeroShotPlanner

    ads = _caption_ads()
    runs = {"plain": _write_caption_files(tmp_path / "plain", ads),
            "scrambled": _write_caption_files(tmp_path / "scrambled", ads, scramble=True),
            "sort-alone": _write_caption_files(tmp_path / "sort-alone", ads, kinds=("sort",))}
    for k in range(len(ads)):
        runs[f"ad{k}"] = _write_caption_files(tmp_path / f"ad{k}", ads[k:k + 1])
    for folder in runs.values():
        run_bench("autocut364", folder, ZeroShotPlanner(), out=folder / "o", n_boot=20)
    ours = _predictions(runs["plain"] / "o")
    assert set(ours) == {"F___vidselect_zero-shot.jsonl", "F___vidsort_zero-shot.jsonl"}
    assert all(len(v) == len(ads) for v in ours.values())
    assert _predictions(runs["scrambled"] / "o") == ours
    assert _predictions(runs["sort-alone"] / "o") == {"F___vidsort_zero-shot.jsonl": ours["F___vidsort_zero-shot.jsonl"]}
    for k in range(len(ads)):
        assert _predictions(runs[f"ad{k}"] / "o") == {name: [v[k]] for name, v in ours.items()}
