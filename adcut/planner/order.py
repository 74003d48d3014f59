"""Ordering clips under script lines, for the zero-shot planner: line i gets clip perm[i].

Pure functions of arrays and texts:
- `sharpen_match`: only clear line -> caption matches should decide. A voice-over line and a
  visual caption seldom share more than a common character or two, and such weak overlaps
  pick the right clip about as often as chance; raising the [0, 1] match to a power keeps the
  clear matches and pushes the weak ones below the ad-structure prior.
- `structure_prior`: ad craft as a faint prior where the text says nothing: ads open on
  people (a presenter, a scene), demonstrate with hands and the product later, and close on
  the pack shot / on-screen text under the call to action.
- a tie-breaker (`TIE_WEIGHT`, applied by the planner): the cosine of static token embeddings
  (WordLlama, adcut.encoders.text) between a line and a caption, far too weak to decide
  anything itself: it only orders what the match and the prior leave tied, in place of the
  seed. Byte-fallback pieces are left out of the embedding.
- `assign_lines`: the optimal line -> clip assignment (Hungarian), then a local search that,
  among equally good assignments, puts clips with the same caption next to each other: a
  captioner gives one sentence to consecutive shots of one scene.

What each part is worth on the AutoCut-364 dev slice, and what was tried without gain, is in
benchmarks/NOTES.md (zero_shot_dev.py).
"""

from __future__ import annotations

import re

import numpy as np

MATCH_POWER = 3.0  # sharpening of the [0, 1] line -> caption match
PRIOR_WEIGHT = 0.05  # the structure prior decides where the (sharpened) text is flat, rarely more
TIE_WEIGHT = 1e-3  # line-caption token-embedding cosine: decides only what is otherwise tied
SAME_CAPTION_BONUS = 0.01  # per adjacent same-caption pair: a tie-breaker between equal assignments

# Cues in a caption that a clip comes late (positive) or early (negative) in an ad.
W_HAND = 1.0  # hands holding / demonstrating the product
W_PACKSHOT = 0.4  # pack shot, screen, on-screen text
W_PERSON = 0.5  # people on screen (presenter, model): the hook, early
W_CTA_PACKSHOT = 0.4  # a call-to-action line (or the last line) over a pack shot

CTA_RE = re.compile(
    r"点击|链接|下单|下载|赶紧|快来|抢购|私信|联系|入手|领取|领券|头像|直播间|评论区|购买|拍下|关注|"
    r"\b(?:shop|buy|order|tap|click|link|download|visit|get yours|sign up|subscribe|call)\b", re.I)
HAND_RE = re.compile(r"手|\bhands?\b|\bholding\b", re.I)
PACKSHOT_RE = re.compile(
    r"显示|界面|屏幕|文字|字样|写着|标有|logo|二维码|海报|广告|宣传|促销|包装|产品|"
    r"\b(?:text|screen|logo|package|packaging|product|label|poster|banner|website|app)\b", re.I)
PERSON_RE = re.compile(
    r"女士|男士|男子|女子|女性|男性|女孩|男孩|模特|主播|小孩|孩子|儿童|老人|宝宝|一家|夫妻|情侣|人们|"
    r"\b(?:woman|women|man|men|girl|boy|person|people|model|presenter|child|children|kid|kids|couple|family)\b",
    re.I)


def sharpen_match(match: np.ndarray, power: float = MATCH_POWER) -> np.ndarray:
    """A [0, 1] match matrix with weak values pushed towards 0 and clear ones kept."""
    return np.clip(match, 0.0, 1.0) ** power


def line_clip_scores(match: np.ndarray, prior: np.ndarray, tie: np.ndarray | None = None, *,
                     power: float = MATCH_POWER, prior_weight: float = PRIOR_WEIGHT,
                     tie_weight: float = TIE_WEIGHT) -> np.ndarray:
    """(n_lines, n_clips) score the line -> clip assignment maximises: the sharpened match, the
    structure prior at `prior_weight`, and the tie-breaking cosine at `tie_weight` (a cosine
    spans at most 2, so at the default it moves a score by 0.002 at most: it orders near-ties,
    never a clear match)."""
    scores = sharpen_match(match, power) + prior_weight * prior
    return scores + tie_weight * tie if tie is not None else scores


def _has(rx: re.Pattern[str], texts: list[str]) -> np.ndarray:
    return np.array([1.0 if rx.search(t or "") else 0.0 for t in texts])


def structure_prior(lines: list[str], captions: list[str]) -> np.ndarray:
    """(n_lines, n_clips) prior: a position ramp (-1 first line .. +1 last) times each clip's
    lateness (hands and pack shots late, people early), plus the call-to-action lines' (and
    the last line's) liking for pack shots."""
    n = len(lines)
    pack = _has(PACKSHOT_RE, captions)
    lateness = W_HAND * _has(HAND_RE, captions) + W_PACKSHOT * pack - W_PERSON * _has(PERSON_RE, captions)
    ramp = np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(n)
    prior = np.outer(ramp, lateness)
    for i, line in enumerate(lines):
        if i == n - 1 or CTA_RE.search(line or ""):
            prior[i] += W_CTA_PACKSHOT * pack
    return prior


def product_line_prior(lines: list[str], product_text: str, looks: np.ndarray,
                       weight: float = PRIOR_WEIGHT) -> np.ndarray:
    """(n_lines, n_clips): lines that name the product (a word of its name or brand) prefer
    the clips that look like the product images, at the structure prior's weight: it decides
    where the text says nothing and never outweighs a clear line -> caption match."""
    from adcut.planner.relevance import text_features

    looks = np.asarray(looks, np.float64)
    n = len(lines)
    if not looks.any() or not product_text.strip():
        return np.zeros((n, looks.size))
    words = {f for f, _ in text_features(product_text) if f.startswith("w:")}
    names = np.array([1.0 if words & {f for f, _ in text_features(ln or "")} else 0.0
                      for ln in lines])
    return weight * np.outer(names, looks)


def same_caption_pairs(captions: list[str]) -> np.ndarray:
    """(m, m) 1 where two different clips have the same (non-empty) caption."""
    norm = [(c or "").strip() for c in captions]
    same = np.array([[1.0 if a and a == b else 0.0 for b in norm] for a in norm]).reshape(len(norm), len(norm))
    np.fill_diagonal(same, 0.0)
    return same


def order_score(perm: list[int], unary: np.ndarray, adjacency: np.ndarray, bonus: float) -> float:
    """Sum over lines of unary[i, perm[i]] plus `bonus` x adjacency of consecutive clips."""
    s = float(sum(unary[i, j] for i, j in enumerate(perm)))
    if bonus and len(perm) > 1:
        s += bonus * float(sum(adjacency[a, b] for a, b in zip(perm, perm[1:])))
    return s


def assign_lines(unary: np.ndarray, adjacency: np.ndarray | None = None,
                 bonus: float = SAME_CAPTION_BONUS, max_passes: int = 50) -> list[int]:
    """perm with perm[i] the clip (column) for line (row) i, maximising `order_score`:
    Hungarian on `unary`, then best-improvement moves (swap two lines' clips, or give a line
    an unused clip) while the score with the adjacency bonus rises. Needs rows <= columns."""
    from adcut.planner.assignment import linear_sum_assignment

    n, m = unary.shape
    if n == 0:
        return []
    rows, cols = linear_sum_assignment(-unary)
    perm = [int(c) for _, c in sorted(zip(rows.tolist(), cols.tolist()))]
    if adjacency is None or not bonus or not adjacency.any():
        return perm
    best = order_score(perm, unary, adjacency, bonus)
    for _ in range(max_passes):
        unused = sorted(set(range(m)) - set(perm))
        move, move_score = None, best
        for a in range(n):
            for b in range(a + 1, n):
                cand = perm.copy()
                cand[a], cand[b] = cand[b], cand[a]
                s = order_score(cand, unary, adjacency, bonus)
                if s > move_score + 1e-12:
                    move, move_score = cand, s
            for j in unused:
                cand = perm.copy()
                cand[a] = j
                s = order_score(cand, unary, adjacency, bonus)
                if s > move_score + 1e-12:
                    move, move_score = cand, s
        if move is None:
            break
        perm, best = move, move_score
    return perm
