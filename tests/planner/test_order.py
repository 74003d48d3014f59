"""adcut.planner.order: sharpening, the ad-structure prior and the line -> clip assignment."""

from __future__ import annotations

import numpy as np

from adcut.planner.order import (
    PRIOR_WEIGHT,
    assign_lines,
    order_score,
    same_caption_pairs,
    sharpen_match,
    structure_prior,
)


def test_sharpen_keeps_clear_matches_and_mutes_weak_ones():
    m = np.array([[1.0, 0.3, 0.0]])
    s = sharpen_match(m)
    assert s[0, 0] == 1.0 and s[0, 2] == 0.0
    assert s[0, 1] < PRIOR_WEIGHT  # a weak overlap now weighs less than the prior
    assert np.all(np.diff(s[0]) <= 0)  # order of strengths kept


def test_structure_prior_people_early_hands_and_pack_shots_late():
    lines = ["家人们看过来，", "这款面霜很好用，", "赶紧点击链接下单！"]
    caps = ["一位女士对着镜头微笑", "一只手拿着面霜", "产品包装盒特写"]
    p = structure_prior(lines, caps)
    assert p.shape == (3, 3)
    # the presenter is liked on the first line, the hand and the pack shot on the last
    assert p[0, 0] > p[2, 0]
    assert p[2, 1] > p[0, 1] and p[2, 2] > p[0, 2]
    # the call-to-action line likes the pack shot beyond its lateness alone
    lateness_only = structure_prior(["家人们看过来，", "这款面霜很好用，", "真的很好用。", "很滋润。"], caps)
    cta_in_middle = structure_prior(["家人们看过来，", "赶紧点击链接下单！", "真的很好用。", "很滋润。"], caps)
    assert cta_in_middle[1, 2] > lateness_only[1, 2]
    assert cta_in_middle[1, 1] == lateness_only[1, 1]


def test_structure_prior_single_line_has_no_ramp():
    p = structure_prior(["只要99元"], ["一位女士", "产品包装"])
    assert p[0, 0] == 0.0 and p[0, 1] > 0.0  # the only line is also the last: pack shot liked


def test_same_caption_pairs():
    same = same_caption_pairs(["a", "b", "a", "", ""])
    assert same[0, 2] == same[2, 0] == 1.0
    assert same[0, 1] == 0.0 and same[0, 0] == 0.0
    assert same[3, 4] == 0.0  # empty captions say nothing


def test_assign_lines_is_the_optimal_assignment():
    U = np.array([[0.1, 0.9, 0.0],
                  [0.8, 0.7, 0.0],
                  [0.0, 0.0, 0.5]])
    assert assign_lines(U) == [1, 0, 2]


def test_assign_lines_puts_same_captions_together_among_equal_assignments():
    # lines 1 and 2 cannot tell clip 0 from clip 1 (same score); clip 1 shares its caption
    # with clip 2, which line 3 wants: clip 1 goes to line 2, next to it
    U = np.array([[0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0],
                  [0.0, 0.0, 1.0]])
    same = same_caption_pairs(["一位女士微笑", "手拿面霜", "手拿面霜"])
    perm = assign_lines(U, same)
    assert perm == [0, 1, 2]
    assert order_score(perm, U, same, 0.01) > order_score([1, 0, 2], U, same, 0.01)


def test_assign_lines_bonus_never_beats_a_clear_match():
    U = np.array([[1.0, 0.0, 0.0],
                  [0.0, 0.0, 1.0],
                  [0.0, 1.0, 0.0]])
    same = same_caption_pairs(["x", "y", "x"])  # clips 0 and 2 want to be adjacent
    assert assign_lines(U, same) == [0, 2, 1]


def test_assign_lines_with_more_clips_than_lines():
    U = np.array([[0.0, 0.9, 0.1, 0.0],
                  [0.2, 0.0, 0.0, 0.8]])
    perm = assign_lines(U, same_caption_pairs(["a", "b", "c", "d"]))
    assert perm == [1, 3]
    assert assign_lines(np.zeros((0, 3))) == []


def test_tie_breaker_orders_near_ties_and_never_a_clear_match():
    from adcut.planner.order import TIE_WEIGHT, line_clip_scores

    flat = np.zeros((2, 2))
    tie = np.array([[0.3, 0.1], [0.1, 0.3]])  # line 0 likes clip 0, line 1 clip 1
    assert assign_lines(line_clip_scores(flat, flat, tie)) == [0, 1]
    assert assign_lines(line_clip_scores(flat, flat, tie[:, ::-1])) == [1, 0]
    # a weak but real match (0.25 cubed = 0.016) beats the largest possible tie difference
    match = np.array([[0.0, 0.25], [0.25, 0.0]])
    worst = np.array([[1.0, -1.0], [-1.0, 1.0]])
    assert 2 * 2 * TIE_WEIGHT < 2 * sharpen_match(match)[0, 1]
    assert assign_lines(line_clip_scores(match, flat, worst)) == [1, 0]
    assert np.array_equal(line_clip_scores(match, flat), sharpen_match(match))
