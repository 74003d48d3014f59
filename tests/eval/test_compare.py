"""Paired comparison: exact McNemar on hand-made tables, bootstrap intervals, two files with
known outcomes, and the CLI."""

from __future__ import annotations

import json
import math

import pytest

from adcut.core.errors import BadInputError
from adcut.eval.compare import bootstrap_ci, compare_paths, mcnemar_exact, paired_bootstrap
from tests.eval import cli, dev_dir, release_row


def test_mcnemar_exact_on_hand_made_tables():
    # 1 vs 5 discordant: 2 * P(X <= 1 | n=6, p=1/2) = 2 * (1 + 6) / 64
    assert mcnemar_exact(1, 5) == pytest.approx(14 / 64)
    assert mcnemar_exact(5, 1) == pytest.approx(14 / 64)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0  # capped at 1
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    # METRICS.md 1.4: AutoCut alone right on 33 ads, GPT-4o alone on 22 -> p = 0.18
    expected = 2 * sum(math.comb(55, i) for i in range(23)) / 2**55
    assert mcnemar_exact(33, 22) == pytest.approx(expected) and round(expected, 2) == 0.18


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [1.0] * 30 + [0.0] * 70
    a = bootstrap_ci(values, seed=3)
    assert a == bootstrap_ci(values, seed=3)
    assert a[0] < 0.3 < a[1] and 0.15 < a[0] and a[1] < 0.45
    assert bootstrap_ci([None, 1.0, None, 1.0]) == [1.0, 1.0]  # None rows do not count
    assert bootstrap_ci([]) is None and bootstrap_ci([None]) is None
    same = paired_bootstrap(values, values)
    assert same["diff"] == 0 and same["ci95"] == [0.0, 0.0]


def _pair_files(tmp_path):
    # 10 ads; B lacks ad 0 and adds ad 10, so 9 are paired (1-9). A is exact on 1-5, B on 1 and
    # 6-8; B's ad 9 is malformed. Hand table: both 1, A only 4, B only 3, neither 1.
    gold = "1,2,3"
    a_preds = ["1,2,3"] * 6 + ["3,2,1"] * 4
    b_preds = ["1,2,3"] * 2 + ["2,1,3"] * 4 + ["1,2,3"] * 3 + ["1,2"]
    a = tmp_path / "F___vidsort_A.jsonl"
    b = tmp_path / "F___vidsort_B.jsonl"
    a.write_text("".join(release_row(i, gold=gold, pred=p) + "\n" for i, p in enumerate(a_preds)))
    # B lacks ad 0 and has an extra ad 10: 9 paired ads
    b_rows = [release_row(i, gold=gold, pred=p) for i, p in enumerate(b_preds) if i != 0]
    b.write_text("\n".join(b_rows + [release_row(10, gold=gold, pred="1,2,3")]))
    return a, b


def test_compare_two_files_with_known_outcome(tmp_path):
    a, b = _pair_files(tmp_path)
    res = compare_paths(a, b, seed=0, n_boot=500)
    assert res["kind"] == "sort" and res["n_paired"] == 9 and res["n_only_A"] == 1 and res["n_only_B"] == 1
    t = res["mcnemar"]["CRA"]
    assert (t["both"], t["a_only"], t["b_only"], t["neither"]) == (1, 4, 3, 1)
    assert t["p"] == pytest.approx(mcnemar_exact(4, 3)) == 1.0
    cra = res["metrics"]["CRA"]
    assert cra["A"] == pytest.approx(5 / 9) and cra["B"] == pytest.approx(4 / 9)
    assert cra["diff"] == pytest.approx(-1 / 9)
    lo, hi = cra["ci95"]
    assert lo < -1 / 9 < hi
    # B's malformed ad counts as wrong for CRA and is not kept for tau
    assert res["metrics"]["malformed_rate"]["B"] == pytest.approx(1 / 9)


def test_compare_refuses_different_tasks_and_disjoint_ads(tmp_path):
    a, _ = _pair_files(tmp_path)
    sel = tmp_path / "F___vidselect_C.jsonl"
    sel.write_text(release_row(0, task="vid_select", gold="1,2", pred="1,2") + "\n")
    with pytest.raises(BadInputError, match="cannot compare"):
        compare_paths(a, sel)
    other = tmp_path / "F___vidsort_D.jsonl"
    other.write_text(release_row(99, gold="1,2", pred="1,2") + "\n")
    with pytest.raises(BadInputError, match="share no ads"):
        compare_paths(a, other)


def test_compare_cli(tmp_path):
    a, b = _pair_files(tmp_path)
    code, out, _ = cli("eval", "--compare", a, b, "--json")
    assert code == 0
    res = json.loads(out)
    assert res["mcnemar"]["CRA"]["a_only"] == 4 and "ci95" in res["metrics"]["kendall_tau"]
    code, out, _ = cli("eval", "--compare", a, b)
    assert code == 0 and "McNemar CRA: A only 4, B only 3" in out
    code, _, err = cli("eval", a, "--compare", a, b)
    assert code == 2 and "not both" in err


@pytest.mark.skipif(dev_dir() is None, reason="autocut364 dev slice not present")
def test_compare_released_systems_on_the_dev_slice():
    dev = dev_dir()
    res = compare_paths(dev / "F___vidselect_gpt4o.jsonl", dev / "F___vidselect_atc_embsft.jsonl")
    assert res["n_paired"] == 101
    t = res["mcnemar"]["CSA"]
    assert t["a_only"] + t["both"] == 32  # GPT-4o's 32 hits on its 101 rows
    assert t["p"] < 0.001 and res["metrics"]["CSA"]["ci95"][0] > 0
    vsc = compare_paths(dev / "VSC___vidsort_gpt4o.jsonl", dev / "VSC___vidsort_atc_embsft.jsonl")
    assert vsc["kind"] == "vsc" and vsc["n_paired"] == 100  # ads paired by their product meta
    sq = compare_paths(dev / "SQ_gpt4o.jsonl", dev / "SQ__atc_embsft.jsonl")
    assert sq["n_paired"] == 100 and sq["metrics"]["SQ_without_length"]["diff"] < 0
