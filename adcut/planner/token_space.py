"""Zero-shot planning on RQ-VAE tokens: clips shown only as `<v_level_code>` runs (the AutoCut
token track), with no captions, no decoder and no trained model.

What the codes give. Residual codes go coarse to fine, and the clips of one ad are cut from
the same few takes, so frames of one ad share codes far more often than frames of two ads
(AutoCut-364 dev slice, per level 0..7: 0.26 .. 0.03 of frame pairs within an ad, 0.014 ..
0.004 across ads; one second apart in the same clip 0.45 .. 0.06). Codes are shared at every
level, so every level counts alike (uniform weights; a prior study found them better than
level-0-first, and prefix matching is far worse here: CSA 0.35).

- Frame similarity: the share of levels with the same code, each match weighted by how rare
  that (level, code) is among the frames of the task's own clips (`log(F / count)`, an IDF
  with no outside statistics). A code every clip shows (a studio backdrop) says little.
- Clip similarity: for each frame of one clip its best match in the other, averaged, and
  symmetrised ("mean-max").
- select: the n clips with the highest mean pairwise similarity (densest subgraph: greedy
  start, then best-improvement swaps). Distractors come from other ads, so the ad's clips
  are the most coherent group.
- order: script line i gets clip perm[i]. A clip lasts as many seconds as it has frames
  (1 fps) and the paper's aligner gave each sentence its time in proportion to its
  characters, so frames ~ r x characters with the ad's own rate r (sum of frames / sum of
  characters: no speaking rate is assumed). Every sentence that starts within second 0 also
  gets the frame at second 0, so when a one-frame clip and a longer one open on the identical
  frame (all 8 levels) those are lines 1 and 2 (`opening_clips`; fixed, each with its extra
  frame); otherwise the first line gets `FIRST_LINE_EXTRA` frames for it. The unary score is
  -|expected - frames|, maximised by an assignment (Hungarian); continuity (the last frame of
  a clip against the first frame of the next, same weighting) is added at
  `CONTINUITY_WEIGHT` per adjacent pair, and the assignment improved by swaps. Clips of equal
  length, which durations cannot tell apart, are then reordered to keep each take together
  (`TIE_ORDER` "takes": every pair of frames of two clips scores its similarity over the
  seconds between them, `take_score`): the clips are consecutive stretches of one video.

The grid these choices came from, each choice's cross-validated evidence and what was tried
without gain are in benchmarks/NOTES.md (token_track.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WEIGHTINGS = ("uniform", "idf")
AGGREGATES = ("mean", "max", "meanmax")
TIE_ORDERS = ("boundary", "takes")

# Defaults: the choices most folds of the 5-fold cross-validation made (module docstring).
SELECT_WEIGHTING = "idf"  # 5 of 5 folds
SELECT_AGGREGATE = "meanmax"  # 5 of 5 folds
ORDER_WEIGHTING = "idf"  # follows the selection's weighting
CONTINUITY_WEIGHT = 0.01  # continuity orders only what durations leave (nearly) tied: 2 of 5 folds (1: 2 of 5)
FIRST_LINE_EXTRA = 0.5  # half a frame: 4 of 5 folds
TIE_ORDER = "takes"  # 4 of 5 folds


@dataclass(frozen=True)
class TokenParams:
    select_weighting: str = SELECT_WEIGHTING
    select_aggregate: str = SELECT_AGGREGATE
    order_weighting: str = ORDER_WEIGHTING
    continuity_weight: float = CONTINUITY_WEIGHT
    first_line_extra: float = FIRST_LINE_EXTRA
    tie_order: str = TIE_ORDER


# --------------------------------------------------------------------------- similarities


def _stack(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All frames (F, L) and the clip index of each frame."""
    levels = next((c.shape[1] for c in codes if c.ndim == 2 and c.shape[1]), 8)
    frames = [np.asarray(c, np.int64).reshape(-1, levels) for c in codes]
    owner = np.concatenate([np.full(len(f), i) for i, f in enumerate(frames)]) if frames else np.zeros(0, int)
    allf = np.concatenate(frames) if frames else np.zeros((0, levels), np.int64)
    return allf, owner.astype(np.int64)


def frame_similarity(allf: np.ndarray, weighting: str = "idf") -> np.ndarray:
    """(F, F) similarity of frames: mean over levels of [same code] x weight, the weight being
    1 ("uniform") or log(F / count of that level's code among the F frames) ("idf"). Codes
    < 0 (missing levels of a forgiving parse) never match."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {weighting!r}")
    n, levels = allf.shape
    if n == 0 or levels == 0:
        return np.zeros((n, n))
    sim = np.zeros((n, n))
    for lv in range(levels):
        col = allf[:, lv]
        eq = (col[:, None] == col[None, :]) & (col[:, None] >= 0)
        if weighting == "idf":
            _, inv, counts = np.unique(col, return_inverse=True, return_counts=True)
            w = np.log(n / counts[inv.ravel()])
            sim += eq * w[:, None]
        else:
            sim += eq
    return sim / levels


def clip_similarity(codes: Sequence[np.ndarray], weighting: str = "idf", aggregate: str = "meanmax") -> np.ndarray:
    """(m, m) symmetric similarity of clips (zero diagonal; zero for a clip without frames):
    over frame pairs, the mean ("mean"), the max ("max"), or each frame's best match averaged
    both ways ("meanmax")."""
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, not {aggregate!r}")
    m = len(codes)
    out = np.zeros((m, m))
    allf, owner = _stack(codes)
    if len(allf) == 0:
        return out
    fs = frame_similarity(allf, weighting)
    has = [i for i in range(m) if (owner == i).any()]
    starts = np.array([np.flatnonzero(owner == i)[0] for i in has])
    counts = np.array([(owner == i).sum() for i in has], float)
    if aggregate == "mean":
        block = np.add.reduceat(np.add.reduceat(fs, starts, axis=0), starts, axis=1)
        sub = block / np.outer(counts, counts)
    elif aggregate == "max":
        sub = np.maximum.reduceat(np.maximum.reduceat(fs, starts, axis=0), starts, axis=1)
    else:
        best = np.maximum.reduceat(fs, starts, axis=1)  # (F, clips): each frame's best in a clip
        m1 = np.add.reduceat(best, starts, axis=0) / counts[:, None]  # mean over the first clip's frames
        sub = 0.5 * (m1 + m1.T)
    idx = np.array(has)
    out[np.ix_(idx, idx)] = sub
    np.fill_diagonal(out, 0.0)
    return out


def boundary_similarity(codes: Sequence[np.ndarray], weighting: str = "idf") -> np.ndarray:
    """(m, m) directed continuity: [a, b] = similarity of a's last frame to b's first frame
    (zero diagonal; zero where a clip has no frames)."""
    m = len(codes)
    out = np.zeros((m, m))
    allf, owner = _stack(codes)
    if len(allf) == 0:
        return out
    fs = frame_similarity(allf, weighting)
    has = [i for i in range(m) if (owner == i).any()]
    first = {i: int(np.flatnonzero(owner == i)[0]) for i in has}
    last = {i: int(np.flatnonzero(owner == i)[-1]) for i in has}
    idx = np.array(has, dtype=np.int64)
    if len(idx):
        out[np.ix_(idx, idx)] = fs[np.ix_([last[i] for i in has], [first[i] for i in has])]
    np.fill_diagonal(out, 0.0)
    return out


# --------------------------------------------------------------------------- select


def densest_subset(sim: np.ndarray, n: int, tiebreak: np.ndarray | None = None,
                   max_passes: int = 200) -> tuple[list[int], float]:
    """(indices, mean pairwise similarity) of an n-subset with a high mean pairwise
    similarity: the n most central clips, then best-improvement swaps until none helps.
    `tiebreak` (m,) in [0, 1) decides exact ties only (it is scaled by 1e-9)."""
    m = len(sim)
    n = max(0, min(int(n), m))
    if n == 0:
        return [], 0.0
    tb = np.zeros(m) if tiebreak is None else np.asarray(tiebreak, float)
    centrality = sim.sum(1) + 1e-9 * tb
    sel = np.zeros(m, bool)
    sel[np.argsort(-centrality, kind="stable")[:n]] = True
    if n < m:
        for _ in range(max_passes):
            rowsum = sim[:, sel].sum(1)  # similarity of every clip to the chosen ones
            ins, outs = np.flatnonzero(~sel), np.flatnonzero(sel)
            # swapping `a` out and `j` in changes the pair sum by rowsum[j] - sim[j, a] - rowsum[a]
            gain = rowsum[ins][:, None] - sim[np.ix_(ins, outs)] - rowsum[outs][None, :]
            gain = gain + 1e-9 * (tb[ins][:, None] - tb[outs][None, :])
            k = int(np.argmax(gain))
            j, a = divmod(k, len(outs))
            if gain.flat[k] <= 1e-12:
                break
            sel[ins[j]], sel[outs[a]] = True, False
    chosen = np.flatnonzero(sel).tolist()
    value = float(sim[np.ix_(chosen, chosen)].sum()) / (n * (n - 1)) if n > 1 else 0.0
    return chosen, value


def select_clips(codes: Sequence[np.ndarray], n: int, params: TokenParams = TokenParams(),
                 tiebreak: np.ndarray | None = None) -> tuple[list[int], np.ndarray, float]:
    """(chosen indices ascending, clip similarity matrix, objective)."""
    sim = clip_similarity(codes, params.select_weighting, params.select_aggregate)
    chosen, value = densest_subset(sim, n, tiebreak)
    return chosen, sim, value


# --------------------------------------------------------------------------- order


def line_lengths(lines: Sequence[str]) -> np.ndarray:
    """Characters of each line as the aligner counted them (punctuation included)."""
    return np.array([max(len((ln or "").strip()), 1) for ln in lines], float)


def opening_clips(codes: Sequence[np.ndarray], chars: np.ndarray) -> list[int]:
    """Clips of the lines that start within the video's first second, in line order, when the
    codes show them; else [].

    The aligner gives every sentence that starts within second 0 the frame at second 0 as well,
    so all of them open on the same frame: the ones that also end within second 0 are that one
    frame alone, and at most one longer clip follows them. Two or more clips opening on an
    identical frame (every level) with at most one of them longer than a frame are lines 1..k:
    the one-frame clips first (identical, so in index order), the longer one last. A still image
    repeated later in the ad can fake the pattern, so it is taken only if the one-frame lines'
    characters fit within the first second at the ad's rate (frames per character, each of the
    k lines' copy of frame 0 set aside) and only one group qualifies."""
    frames = np.array([len(c) for c in codes], float)
    chars = np.asarray(chars, float)
    groups: dict[tuple, list[int]] = {}
    for j, c in enumerate(codes):
        if len(c):
            groups.setdefault(tuple(np.asarray(c[0]).tolist()), []).append(j)
    found = []
    for group in groups.values():
        ones = [j for j in group if frames[j] == 1]
        longer = [j for j in group if frames[j] > 1]
        if len(group) < 2 or not ones or len(longer) > 1 or len(group) > len(chars):
            continue
        rate = max(frames.sum() - len(group), 0.0) / max(chars.sum(), 1.0)
        if rate * chars[: len(ones)].sum() < 1.0:
            found.append(ones + longer)
    return found[0] if len(found) == 1 else []


def duration_scores(frames: np.ndarray, chars: np.ndarray, first_line_extra: float = FIRST_LINE_EXTRA,
                    opening: int = 0) -> np.ndarray:
    """(n_lines, m): -|expected frames of line i - frames of clip j|, the expectation r x chars
    with the ad's own rate r (frames per character; over the clips when there are as many
    clips as lines, else their mean against the lines' mean), plus the frame at second 0: one
    for each of the first `opening` lines when they are known to start within second 0
    (`opening_clips`), else `first_line_extra` for the first line."""
    frames = np.asarray(frames, float)
    chars = np.asarray(chars, float)
    n, m = len(chars), len(frames)
    if n == 0 or m == 0:
        return np.zeros((n, m))
    extras = np.zeros(n)
    if opening:
        extras[: min(int(opening), n)] = 1.0
    else:
        extras[0] = float(first_line_extra)
    if n == m:
        rate = max(frames.sum() - extras.sum(), 0.0) / chars.sum()
    else:
        rate = frames.mean() / chars.mean()
    expected = rate * chars + extras
    return -np.abs(expected[:, None] - frames[None, :])


def _chain(perm: list[int], adj: np.ndarray) -> float:
    return float(sum(adj[a, b] for a, b in zip(perm, perm[1:])))


def assign_with_continuity(unary: np.ndarray, adj: np.ndarray, weight: float,
                           max_passes: int = 100) -> list[int]:
    """perm (perm[i] = column for row i, rows <= columns) maximising sum unary[i, perm[i]] +
    weight x sum adj[perm[i], perm[i+1]]: the Hungarian assignment of `unary`, then
    best-improvement moves (swap two rows' columns, or give a row an unused column)."""
    from adcut.planner.assignment import linear_sum_assignment

    n, m = unary.shape
    if n == 0:
        return []
    rows, cols = linear_sum_assignment(-unary)
    perm = [int(c) for _, c in sorted(zip(rows.tolist(), cols.tolist()))]
    if not weight or n < 2:
        return perm

    def local(p: list[int], i: int) -> float:
        """Unary of row i plus its edges (to i-1 and i+1) under p."""
        s = unary[i, p[i]]
        if i > 0:
            s += weight * adj[p[i - 1], p[i]]
        if i + 1 < n:
            s += weight * adj[p[i], p[i + 1]]
        return s

    for _ in range(max_passes):
        best_gain, move = 1e-12, None
        for a in range(n):
            for b in range(a + 1, n):
                before = local(perm, a) + local(perm, b) - (weight * adj[perm[a], perm[b]] if b == a + 1 else 0.0)
                perm[a], perm[b] = perm[b], perm[a]
                after = local(perm, a) + local(perm, b) - (weight * adj[perm[a], perm[b]] if b == a + 1 else 0.0)
                perm[a], perm[b] = perm[b], perm[a]
                if after - before > best_gain:
                    best_gain, move = after - before, ("swap", a, b)
            if m > n:
                used = set(perm)
                for j in range(m):
                    if j in used:
                        continue
                    before = local(perm, a)
                    old, perm[a] = perm[a], j
                    after = local(perm, a)
                    perm[a] = old
                    if after - before > best_gain:
                        best_gain, move = after - before, ("take", a, j)
        if move is None:
            break
        kind, a, b = move
        if kind == "swap":
            perm[a], perm[b] = perm[b], perm[a]
        else:
            perm[a] = b
    return perm


def continuity_chain(adj: np.ndarray, start_score: np.ndarray) -> list[int]:
    """Without a script: open on the clip least continued from any other (lowest best incoming
    continuity, ties by `start_score`), then always the most continuous next clip."""
    m = len(adj)
    if m == 0:
        return []
    incoming = adj.max(0) if m > 1 else np.zeros(m)
    first = min(range(m), key=lambda j: (incoming[j], -start_score[j], j))
    perm, left = [first], [j for j in range(m) if j != first]
    while left:
        nxt = max(left, key=lambda j: (adj[perm[-1], j], start_score[j], -j))
        perm.append(nxt)
        left.remove(nxt)
    return perm


def _take_weights(sizes: Sequence[int]) -> np.ndarray:
    """(F, F) weights of `take_score` for clips of these sizes back to back: 1 / seconds apart
    for two frames of different clips, 0 within a clip."""
    pos = np.repeat(np.arange(len(sizes)), np.asarray(sizes, int))
    t = np.arange(len(pos))
    gap = np.abs(t[:, None] - t[None, :])
    return np.where(pos[:, None] != pos[None, :], 1.0 / np.maximum(gap, 1), 0.0)


def take_score(perm: Sequence[int], codes: Sequence[np.ndarray], weighting: str = "idf") -> float:
    """How well `perm` keeps similar frames close in time: over every pair of frames of two
    different clips, their similarity (`frame_similarity`) over the seconds between them (one
    frame a second, clips back to back in `perm` order)."""
    allf, owner = _stack(codes)
    fs = frame_similarity(allf, weighting)
    order = np.concatenate([np.flatnonzero(owner == j) for j in perm] + [np.zeros(0, np.int64)])
    w = _take_weights([len(codes[j]) for j in perm])
    return float((fs[np.ix_(order, order)] * w).sum() / 2)


def order_ties_by_takes(perm: list[int], codes: Sequence[np.ndarray], weighting: str = "idf",
                        start: int = 0, stop: int | None = None, max_passes: int = 50) -> list[int]:
    """`perm` with clips of equal length (frames) among positions start..stop-1 reordered to
    raise `take_score`: improving swaps, the best of each pass, until none helps. The clips
    are consecutive stretches of one video, so frames of one take lie close in time; equal
    lengths leave the durations (and every line's duration score) unchanged."""
    perm = list(perm)
    stop = len(perm) if stop is None else stop
    allf, owner = _stack(codes)
    sizes = [len(codes[j]) for j in perm]
    pairs = np.array([(a, b) for a in range(start, stop) for b in range(a + 1, stop) if sizes[a] == sizes[b]],
                     dtype=np.int64).reshape(-1, 2)
    if len(allf) == 0 or len(pairs) == 0:
        return perm
    fs = frame_similarity(allf, weighting)
    w = _take_weights(sizes)  # equal-length swaps keep every clip's seconds where they are
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    frame_idx = [np.flatnonzero(owner == j) for j in range(len(codes))]
    for _ in range(max_passes):
        order = np.concatenate([frame_idx[j] for j in perm])
        trial = np.repeat(order[None, :], len(pairs) + 1, axis=0)  # row 0: no swap
        for row, (a, b) in enumerate(pairs, start=1):
            sa, sb = first[a] + np.arange(sizes[a]), first[b] + np.arange(sizes[b])
            trial[row, sa], trial[row, sb] = order[sb], order[sa]
        values = (fs[trial[:, :, None], trial[:, None, :]] * w).sum((1, 2))
        k = int(np.argmax(values))
        if k == 0 or values[k] - values[0] <= 1e-12:
            break
        a, b = pairs[k - 1]
        perm[a], perm[b] = perm[b], perm[a]
    return perm


def order_clips(codes: Sequence[np.ndarray], lines: Sequence[str], params: TokenParams = TokenParams(),
                tiebreak: np.ndarray | None = None) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(perm: clip index per line, then the clips no line took; the unary scores; the
    continuity matrix). The lines the codes show to start within second 0 (`opening_clips`) are
    fixed first; the other lines are matched to the other clips. `tiebreak` (m,) in [0, 1)
    orders exact ties only (scaled by 1e-9)."""
    if params.tie_order not in TIE_ORDERS:
        raise ValueError(f"tie_order must be one of {TIE_ORDERS}, not {params.tie_order!r}")
    m = len(codes)
    frames = np.array([len(c) for c in codes], float)
    adj = boundary_similarity(codes, params.order_weighting)
    tb = np.zeros(m) if tiebreak is None else np.asarray(tiebreak, float)
    lines = list(lines)
    if not lines:
        return continuity_chain(adj, tb), np.zeros((0, m)), adj
    chars = line_lengths(lines)
    head = opening_clips(codes, chars) if len(lines) <= m else []
    unary = duration_scores(frames, chars, params.first_line_extra, len(head))
    unary = unary + 1e-9 * tb[None, :]
    rest = [j for j in range(m) if j not in set(head)]
    sub = unary[len(head):][:, rest]
    if head and len(sub):  # the first free line continues the last opening clip
        sub[0] += params.continuity_weight * adj[head[-1], rest]
    if len(lines) <= m:
        free = assign_with_continuity(sub, adj[np.ix_(rest, rest)], params.continuity_weight)
    else:  # more lines than clips: some lines go without one
        from adcut.planner.assignment import linear_sum_assignment

        r, c = linear_sum_assignment(-sub)
        free = [int(j) for _, j in sorted(zip(r.tolist(), c.tolist()))]
    perm = head + [rest[j] for j in free]
    if params.tie_order == "takes" and len(lines) <= m:
        perm = order_ties_by_takes(perm, codes, params.order_weighting, len(head), len(lines))
    left = [j for j in range(m) if j not in set(perm)]
    while left:  # clips beyond the script: each after the clip it best continues
        j = max(left, key=lambda k: (adj[perm[-1], k] if perm else 0.0, -k))
        perm.append(j)
        left.remove(j)
    return perm, unary, adj
