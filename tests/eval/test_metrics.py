"""Every metric against small cases computed by hand."""

from __future__ import annotations

import pytest

from adcut.eval import metrics as M

approx = pytest.approx


def test_ids_are_digit_runs_and_sort_tokens_follow_eval_sort_metrics():
    assert M.parse_ids("答案是1,4, 12。") == ["1", "4", "12"]
    assert M.parse_ids(None) == []
    assert M.sort_tokens("3， 1,2,") == ["3", "1", "2"]  # full-width comma, empty piece dropped
    assert M.sort_tokens(" 3 1 2 ") == ["3", "1", "2"]  # no comma: whitespace
    assert M.sort_tokens("3,1 2") == ["3", "1 2"]


def test_select_rows():
    r = M.score_select_row("1,4,8", "1,4,8,9")
    assert r.hit and not r.exact_set and not r.count_match  # extra ids are free for CSA
    assert (r.precision, r.recall, r.f1, r.jaccard) == approx((0.75, 1.0, 6 / 7, 0.75))
    r = M.score_select_row("1,4,8", "4,1")
    assert not r.hit and (r.precision, r.recall, r.f1, r.jaccard) == approx((1.0, 2 / 3, 0.8, 2 / 3))
    r = M.score_select_row("1,4,8", "答案：8,4,1")  # stray text: ids still read, order ignored
    assert r.hit and r.exact_set and r.count_match
    r = M.score_select_row("1,4,8", "1,1,4")  # 3 ids written, 2 distinct
    assert r.count_match and not r.hit and r.precision == 1.0
    r = M.score_select_row("2,3", "")
    assert not r.hit and (r.precision, r.recall, r.f1, r.jaccard) == (0.0, 0.0, 0.0, 0.0)
    assert M.score_select_row("", "1,2") is None  # empty gold: not counted


def test_select_summary():
    s = M.summarize_select(["1,4,8", "1,4,8", "2,3", ""], ["1,4,8,9", "4,1", "", "5"])
    assert s["n_rows"] == 4 and s["n_eval"] == 3 and s["n_hit"] == 1
    assert s["CSA"] == approx(1 / 3)
    assert s["recall_macro"] == approx((1 + 2 / 3 + 0) / 3)
    assert s["set_precision_macro"] == approx((0.75 + 1 + 0) / 3)
    assert s["set_f1_macro"] == approx((6 / 7 + 0.8) / 3)
    assert s["jaccard_macro"] == approx((0.75 + 2 / 3) / 3)
    assert s["exact_set_rate"] == 0 and s["count_match_rate"] == 0
    assert s["n_pred_empty"] == 1
    assert M.summarize_select([], [])["CSA"] is None


def test_order_scores_by_hand():
    # gold 3,1,2 ; prediction 1,3,2 -> gold ranks [1,0,2]: one inversion of three pairs
    tau, pacc, lis = M.order_scores(M.mapped_ranks(["3", "1", "2"], ["1", "3", "2"]))
    assert (tau, pacc, lis) == approx((1 / 3, 2 / 3, 2 / 3))
    # 2,1,3,4 against 1,2,3,4: 1 inversion of 6 pairs, LIS 3 of 4
    assert M.order_scores([1, 0, 2, 3]) == approx((2 / 3, 5 / 6, 3 / 4))
    assert M.order_scores([3, 2, 1, 0]) == approx((-1.0, 0.0, 0.25))
    assert M.order_scores([0]) == (1.0, 1.0, 1.0)
    assert M.order_scores([]) == (1.0, 1.0, 0.0)
    assert M.inversions([2, 0, 1]) == 2 and M.lis_length([2, 0, 1, 3]) == 3


def test_sort_rows():
    r = M.score_sort_row("3,1,2", "3,1,2")
    assert r.exact and not r.malformed and r.kendall_tau == 1.0 and r.position_acc == 1.0
    r = M.score_sort_row("3,1,2", "1,3,2")
    assert not r.exact and not r.malformed
    assert (r.kendall_tau, r.pairwise_acc, r.lis_ratio, r.position_acc) == approx((1 / 3, 2 / 3, 2 / 3, 1 / 3))
    r = M.score_sort_row("3,1,2", "3 1 2")  # separators do not matter to CRA
    assert r.exact and r.kendall_tau == 1.0
    r = M.score_sort_row("3,1,2", "3, 1")  # wrong length: wrong for CRA, not kept for tau
    assert not r.exact and r.malformed and not r.len_matched and r.kendall_tau is None
    assert r.position_acc == approx(2 / 3)
    r = M.score_sort_row("3,1,2", "3,3,1")  # a repeat: malformed; tau on the 2 readable ids
    assert r.malformed and r.kendall_tau == 1.0 and r.lis_ratio == 1.0 and r.position_acc == approx(1 / 3)
    r = M.score_sort_row("3,1,2", "顺序是：3,1,2")  # stray text
    assert r.exact and not r.malformed


def test_sort_summary_counts_malformed_as_wrong():
    s = M.summarize_sort(["3,1,2", "3,1,2", "1,2,3,4", "1,2"], ["3,1,2", "1,3,2", "2,1,3,4", "no idea"])
    assert s["n_rows"] == 4 and s["n_exact"] == 1 and s["CRA"] == 0.25
    assert s["n_len_matched"] == 3 and s["exact_rate_len_matched"] == approx(1 / 3)
    # upstream quirk kept: "no idea" splits into 2 whitespace tokens like the 2-id gold, so the row
    # is kept for the order metrics with no readable id (tau 1, LIS 0); CRA counts it as wrong
    assert s["n_order_rows"] == 4
    assert s["kendall_tau"] == approx((1 + 1 / 3 + 2 / 3 + 1) / 4)
    assert s["lis_ratio"] == approx((1 + 2 / 3 + 3 / 4 + 0) / 4)
    assert s["n_malformed"] == 1 and s["malformed_rate"] == 0.25
    assert s["position_acc"] == approx((1 + 1 / 3 + 0.5 + 0) / 4)


def test_sort_summary_kendall_by_hand():
    s = M.summarize_sort(["3,1,2", "3,1,2", "1,2,3,4"], ["3,1,2", "1,3,2", "2,1,3,4"])
    assert s["kendall_tau"] == approx((1 + 1 / 3 + 2 / 3) / 3)
    assert s["pairwise_acc"] == approx((1 + 2 / 3 + 5 / 6) / 3)
    assert s["lis_ratio"] == approx((1 + 2 / 3 + 3 / 4) / 3)


def test_script_rows():
    # ref [4, 2]; model: prefixes stripped -> [2, 3, 1]; padded: |2-4| + |3-2| + |1-0| = 4 over 3 lines
    r = M.score_script_row("你好世界\n再见", "1. 你好\n2. 再见吧\n3. 多")
    assert r.wcd == approx(4 / 3) and r.wcd_script == 0.0 and not r.linecount_match
    assert M.script_line_lengths("第1句：你 好\n（2）再见\n• 好的\n\n  ", model=True) == [2, 2, 2]
    assert M.script_line_lengths("1.\n你好世界", model=True) == [4]  # a line left empty is dropped
    assert M.script_line_lengths("1. 你好", model=False) == [4]  # reference lines keep their numbers
    r = M.score_script_row("你好世界\n再见", "你好世界\n再见")
    assert r.wcd == 0 and r.linecount_match
    assert M.score_script_row("", "  \n ") is None  # both empty: skipped
    r = M.score_script_row("你好", "")
    assert r.wcd == 2 and r.wcd_script == 2


def test_script_summary():
    s = M.summarize_script(["你好世界\n再见", "你好", ""], ["1. 你好\n2. 再见吧\n3. 多", "你好", ""])
    assert s["n_rows"] == 3 and s["n_eval"] == 2 and s["n_skipped"] == 1
    assert s["WCD"] == approx((4 / 3 + 0) / 2) and s["WCD_script"] == 0
    assert s["linecount_match_rate"] == 0.5 and s["linecount_mismatch_rate"] == 0.5


def test_vsc():
    ads = [{"vsc_ad": 1.5, "pairs": [{"score": 2}, {"score": 1}]},
           {"pairs": [{"score": 0}, {"score": 2}, {"score": -1}]},  # no vsc_ad: pair mean; -1 dropped
           {"vsc_ad": 2.0, "pairs": [{"score": 1}]},  # stored value differs from its pairs
           {"meta": {}}]  # nothing to score
    s = M.summarize_vsc(ads, {"model_VSC": 1.0, "ads_evaluated": 3, "ads_skipped": 0})
    assert s["VSC"] == approx((1.5 + 1.0 + 2.0) / 3)
    assert s["n_ads"] == 3 and s["n_pairs"] == 5 and s["n_ads_unscored"] == 1
    assert s["n_ads_vsc_ad_not_pair_mean"] == 1
    assert s["stored_model_VSC"] == 1.0 and s["stored_ads_evaluated"] == 3


def test_sq():
    rows = [
        {"model_output": "```json\n{\"基础质量\": 28, \"表达与沟通\": 35, \"长度与节奏\": 20.5, \"总分\": 83.5}\n```"},
        {"parsed_scores": {"总分": 70, "基础质量": 20, "表达与沟通": 30, "长度与节奏": 20}, "model_output": "x"},
        {"model_output": "总分：60 （其余无法解析）"},  # regex fallback, no parts
        {"model_output": "no score at all"},
    ]
    s = M.summarize_sq(rows)
    assert s["n_rows"] == 4 and s["n_parsed"] == 3 and s["n_subscores"] == 2
    assert s["SQ"] == approx((83.5 + 70 + 60) / 3)
    assert s["SQ_without_length"] == approx((63 + 50) / 2)
    assert s["length_rhythm_mean"] == approx(20.25)
    assert M.parse_judge_json("json\n{\"总分\": 1}") == {"总分": 1}
    assert M.parse_judge_json("```\n[1]\n```") is None


def test_music():
    ranks = [M.music_rank(5, [5, 1, 2]), M.music_rank("7", [1, 2, 3, 7]), M.music_rank(9, [1, 2, -1])]
    assert ranks == [1, 4, None]
    s = M.summarize_music(ranks, [3, 4, 2])
    assert s["R@1"] == approx(1 / 3) and s["R@5"] == approx(2 / 3) and s["R@50"] == approx(2 / 3)
    assert s["MRR"] == approx((1 + 0.25 + 0) / 3)
    assert s["median_rank"] == 3.0  # the miss ranks just below its 2-track list
    assert s["n_missing"] == 1


def test_system_summary_fills_only_what_is_there():
    sel = M.summarize_select(["1,2"], ["1,2"])
    out = M.summarize_system([{"kind": "select", **sel}])
    assert out["headline"] == {"CSA": 1.0, "CRA": None, "VSC": None, "SQ": None, "WCD": None}
    assert out["counts_and_extras"] == {"CSA_n_eval": 1, "CSA_n_hit": 1}
