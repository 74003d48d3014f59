"""The zero-shot planner on the token track (adcut.planner.token_space): select finds the
coherent clips of one ad among distractors, order matches clip durations to line lengths and
breaks ties by frame continuity, write fits lines to frame counts; no text model is loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adcut.planner import token_space as T
from adcut.planner.base import Hints
from adcut.planner.zero_shot import ZeroShotPlanner, token_codes
from adcut.tasks.types import ClipRef, Product, ScriptTask, SelectTask, SortTask
from adcut.tokens.vocab import clip_string

PRODUCT = Product(name="面霜", brand="某牌", selling_points=["保湿", "温和"])


def _take(rng, base: np.ndarray, frames: int, keep: float = 0.8) -> np.ndarray:
    """Frames of one take: the take's codes with some levels changed (more often at fine levels)."""
    out = np.repeat(base[None, :], frames, axis=0)
    for f in range(frames):
        for lv in range(8):
            if rng.random() > keep - 0.05 * lv:
                out[f, lv] = rng.integers(0, 256)
    return out


def _clips(arrays) -> list[ClipRef]:
    return [ClipRef(number=i + 1, tokens=clip_string(a)) for i, a in enumerate(arrays)]


class NoText(ZeroShotPlanner):
    """Fails if the caption path (text encoders) is ever used."""

    def _relevance(self, corpus):
        raise AssertionError("the token track must not load a text model")

    def _tie_similarity(self, queries, docs):
        raise AssertionError("the token track must not load a text model")


def test_select_finds_the_ads_clips_among_distractors():
    rng = np.random.default_rng(0)
    takes = [rng.integers(0, 256, 8) for _ in range(2)]
    ours = [_take(rng, takes[i % 2], int(rng.integers(1, 4))) for i in range(6)]
    others = [rng.integers(0, 256, (int(rng.integers(1, 4)), 8)) for _ in range(6)]
    order = rng.permutation(12)
    arrays = [(ours + others)[k] for k in order]
    gold = sorted(int(np.flatnonzero(order == k)[0]) + 1 for k in range(6))
    task = SelectTask(product=PRODUCT, script_lines=["一句"] * 6, clips=_clips(arrays), n_select=6)
    for seed in range(3):
        d = NoText().select(task, Hints(seed=seed))
        assert d.value == gold
    assert "RQ-VAE codes" in d.explanation[0] and set(d.scores) == set(range(1, 13))


def test_order_matches_durations_to_line_lengths():
    rng = np.random.default_rng(1)
    frames = [1, 2, 3, 4, 5]
    lines = ["一" * (4 * f) + "，" for f in frames]  # ~4 characters a second
    arrays = [rng.integers(0, 256, (f, 8)) for f in frames]
    perm = rng.permutation(5)
    clips = _clips([arrays[k] for k in perm])  # clip number j+1 shows arrays[perm[j]]
    want = [int(np.flatnonzero(perm == k)[0]) + 1 for k in range(5)]
    task = SortTask(product=PRODUCT, script_lines=lines, clips=clips)
    d = NoText().order(task, Hints(seed=0))
    assert d.value == want
    assert "duration" in d.explanation[0] and len(d.explanation) == 6


def test_continuity_orders_clips_of_equal_length():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (2, 8))
    b = np.vstack([a[-1], rng.integers(0, 256, 8)])  # b opens on a's last frame: b follows a
    lines = ["一二三四五六七八", "一二三四五六七八"]
    for seed in range(4):
        d = NoText().order(SortTask(product=PRODUCT, script_lines=lines, clips=_clips([b, a])), Hints(seed=seed))
        assert d.value == [2, 1]


def test_order_without_script_and_with_extra_clips():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (1, 8))
    b = np.vstack([a[-1], rng.integers(0, 256, 8)])
    c = np.vstack([b[-1]])
    d = NoText().order(SortTask(product=PRODUCT, script_lines=[], clips=_clips([c, a, b])))
    assert d.value == [2, 3, 1] and "no script" in d.explanation[0]
    two_lines = NoText().order(SortTask(product=PRODUCT, script_lines=["一二三四", "一二三四五六七八"],
                                        clips=_clips([c, a, b])))
    assert sorted(two_lines.value) == [1, 2, 3]
    many_lines = NoText().order(SortTask(product=PRODUCT, script_lines=["一"] * 5, clips=_clips([a, b])))
    assert sorted(many_lines.value) == [1, 2]


def test_opening_clips_read_the_shared_frame_at_second_0():
    """Every line that starts within second 0 gets that second's frame: a one-frame clip and a
    longer clip opening on the identical frame are lines 1 and 2, if line 1 fits in a second."""
    rng = np.random.default_rng(5)
    f0 = rng.integers(0, 256, 8)
    one, longer = f0[None, :], np.vstack([f0, rng.integers(0, 256, (2, 8))])
    others = [rng.integers(0, 256, (k, 8)) for k in (2, 1, 2)]
    codes = [others[0], longer, others[1], one, others[2]]
    short = T.line_lengths(["家人们，", "今天给大家推荐一款面霜，", "保湿不油腻，", "温和不刺激，", "快来下单吧。"])
    assert T.opening_clips(codes, short) == [3, 1]
    long_first = short.copy()
    long_first[0] = 20  # 20 characters cannot end within the first second: a still image repeats
    assert T.opening_clips(codes, long_first) == []
    near = f0.copy()
    near[7] = (near[7] + 1) % 256  # seven levels of eight alike is another frame, not a repeat
    assert T.opening_clips([others[0], longer, others[1], near[None, :], others[2]], short) == []
    two_longer = [np.vstack([f0, rng.integers(0, 256, 8)]), longer, one]
    assert T.opening_clips(two_longer, short[:3]) == []  # two clips longer than a frame: not an opening


def test_order_puts_the_opening_clips_first():
    """Line 2 is too short for two frames by its length alone, but it starts within second 0
    (its clip opens on line 1's one frame) and so holds that frame as well: the shared frame
    decides what durations alone get wrong, for every seed."""
    rng = np.random.default_rng(6)
    f0 = rng.integers(0, 256, 8)
    arrays = [np.vstack([f0, rng.integers(0, 256, 8)]), rng.integers(0, 256, (2, 8)), f0[None, :],
              rng.integers(0, 256, (1, 8))]
    lines = ["家人们，", "好，", "今天推荐这款面霜，", "快下单。"]  # 4, 2, 9, 4 characters
    task = SortTask(product=PRODUCT, script_lines=lines, clips=_clips(arrays))
    for seed in range(4):
        assert NoText().order(task, Hints(seed=seed)).value == [3, 1, 2, 4]
    perm, unary, _ = T.order_clips(arrays, lines)
    assert perm == [2, 0, 1, 3] and unary.shape == (4, 4)


def test_ties_are_ordered_to_keep_takes_together():
    """Equal-length clips whose boundary frames say nothing: the inner frames show two takes,
    and the tie order keeps each take's clips next to each other."""
    p, q, r = (np.array([[k * 8 + i for i in range(8)]]) for k in range(3))
    assert T.take_score([0, 2, 1], [p, q, p.copy()], "uniform") == pytest.approx(1.0)  # p, p, q: 1 s apart
    assert T.take_score([0, 1, 2], [p, q, p.copy()], "uniform") == pytest.approx(0.5)  # p, q, p: 2 s apart
    rng = np.random.default_rng(7)
    takes = [rng.integers(0, 256, 8) for _ in range(2)]

    def clip(take):  # noise, the take, noise: the boundary frames match nothing
        return np.vstack([rng.integers(0, 256, 8), takes[take], rng.integers(0, 256, 8)])

    codes = [clip(0), clip(1), clip(0), clip(1), r.repeat(3, axis=0)]
    pairs = {frozenset({1, 3}), frozenset({2, 4})}  # clip numbers of one take
    out = T.order_ties_by_takes([4, 0, 1, 2, 3], codes, "uniform", start=1)
    assert out[0] == 4 and {frozenset(out[1:3]), frozenset(out[3:5])} == {frozenset({0, 2}), frozenset({1, 3})}
    task = SortTask(product=PRODUCT, script_lines=["一二三四五六"] * 4, clips=_clips(codes[:4]))
    for seed in range(4):  # the planner's default tie order does the same
        v = NoText().order(task, Hints(seed=seed)).value
        assert {frozenset(v[:2]), frozenset(v[2:])} == pairs
    with pytest.raises(ValueError):
        T.order_clips(codes, ["一"] * 5, T.TokenParams(tie_order="random"))


def test_write_fits_lines_to_frame_counts():
    rng = np.random.default_rng(4)
    arrays = [rng.integers(0, 256, (f, 8)) for f in (1, 4)]
    d = NoText().write(ScriptTask(product=PRODUCT, clips=_clips(arrays)), Hints(language="zh"))
    assert len(d.value) == 2
    targets = [int(e.rsplit("for a target of ", 1)[1].split(",")[0]) for e in d.explanation[1:]]
    assert targets == [round(4.5 * 1), round(4.5 * 4)]  # 1 frame = 1 s at adcut's Chinese speaking rate


def test_token_codes_only_for_token_only_clips():
    arr = np.zeros((1, 8), int)
    assert token_codes([ClipRef(1, tokens=clip_string(arr))])[0][0].shape == (1, 8)
    assert token_codes([ClipRef(1, caption="一个瓶子", tokens=clip_string(arr))]) is None
    assert token_codes([ClipRef(1, tokens=clip_string(arr)), ClipRef(2)]) is None
    # a malformed token text is read forgivingly, and said so
    bad = clip_string(np.ones((2, 8), int)).replace("<v_3_1>", "", 1)
    codes, notes = token_codes([ClipRef(1, tokens=bad)])
    assert codes[0].shape == (1, 8) and notes and "read forgivingly" in notes[0]


def test_similarities():
    a = np.array([[1, 2, 3, 4, 5, 6, 7, 8]])
    b = np.array([[1, 2, 3, 4, 9, 9, 9, 9], [0, 0, 0, 0, 0, 0, 0, 0]])
    empty = np.zeros((0, 8), int)
    S = T.clip_similarity([a, b, empty], "uniform", "meanmax")
    assert S[0, 1] == pytest.approx(0.5 * (0.5 + (0.5 + 0.0) / 2)) and S[0, 1] == S[1, 0]
    assert S[2].sum() == 0 and S[0, 0] == 0
    assert T.clip_similarity([a, b], "uniform", "max")[0, 1] == pytest.approx(0.5)
    assert T.clip_similarity([a, b], "uniform", "mean")[0, 1] == pytest.approx(0.25)
    A = T.boundary_similarity([b, a], "uniform")
    assert A[0, 1] == 0 and A[1, 0] == pytest.approx(0.5)  # a's last frame vs b's first frame
    # a code every frame shares carries no weight under idf
    c = np.array([[1, 20, 21, 22, 23, 24, 25, 26]])
    assert T.frame_similarity(np.vstack([a, b[:1], c]), "idf")[0, 2] == 0
    with pytest.raises(ValueError):
        T.clip_similarity([a], "level0")
    chosen, value = T.densest_subset(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0.0]]), 2)
    assert chosen == [0, 1] and value == 1.0


@pytest.mark.skipif(not all((Path(__file__).resolve().parents[2].parent / "shared" / "autocut364" / n).is_file()
                            for n in ("F___vidselect_atc_embsft.jsonl", "F___vidsort_atc_embsft.jsonl")),
                    reason="the AutoCut-364 token-track files (../shared/autocut364) are not present")
def test_cross_validated_figures_on_the_dev_slice():
    """benchmarks/token_track.py: held-out figures of 5-fold CV by ad (one seed here, for time)
    stay far above chance, and every figure comes with an interval."""
    import importlib.util

    repo = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("token_track", repo / "benchmarks" / "token_track.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rep = bench.cross_validate(repo.parent / "shared" / "autocut364", k=5, seeds=1)
    held = rep["held_out"]
    assert rep["n_ads"] == {"select": 102, "sort": 102} and len(rep["chosen_per_fold"]) == 5
    assert held["CSA"]["value"] > 0.5 > 100 * rep["random"]["CSA"]
    assert held["kendall_tau"]["value"] > 0.15 and held["CRA"]["value"] > rep["random"]["CRA"]
    for figs in (held, rep["autocut_same_ads"]):
        for f in figs.values():
            lo, hi = f["ci95"]
            assert lo <= f["value"] <= hi
    assert rep["autocut_same_ads"]["CSA"]["value"] == pytest.approx(70 / 102)  # 0.686
    assert "held-out folds" in bench.format_report(rep)
