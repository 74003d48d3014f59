"""The linear assignment problem (each row to a distinct column, least total cost).

The planners match lines to clips this way many times per ad. scipy.optimize solves it, but
importing scipy.optimize costs 0.26 s, most of a plan's time; this is the same algorithm as
scipy's (the shortest augmenting path method of Jonker and Volgenant in Crouse's form, with
the same order of search and the same choice among equal paths), so it returns the same
assignment, ties included. Its loops run over Python lists: the planners' matrices are a few
lines by a few dozen clips, where numpy's per-call cost outweighs its speed.
"""

from __future__ import annotations

import math

import numpy as np


def linear_sum_assignment(cost: np.ndarray, maximize: bool = False) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """(rows, cols): row rows[k] gets column cols[k], min(n, m) pairs with rows ascending,
    minimising (or `maximize`-ing) the total cost. Costs must be finite."""
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"a cost matrix has two dimensions, not {c.ndim}")
    if not np.isfinite(c).all():
        raise ValueError("the cost matrix holds a NaN or an infinite cost")
    nr, nc = c.shape
    if nr == 0 or nc == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    transpose = nc < nr
    if transpose:
        c = c.T
        nr, nc = nc, nr
    if maximize:
        c = -c
    cost_rows = c.tolist()  # the loops below read single numbers: lists beat numpy there
    u, v = [0.0] * nr, [0.0] * nc
    col4row, row4col, path = [-1] * nr, [-1] * nc, [-1] * nc
    for cur in range(nr):
        sink, min_val, spc, rows_seen, cols_seen = _augmenting_path(cost_rows, u, v, path,
                                                                     row4col, cur)
        u[cur] += min_val
        for i in rows_seen:
            if i != cur:
                u[i] += min_val - spc[col4row[i]]
        for j in cols_seen:
            v[j] -= min_val - spc[j]
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            col4row[i], j = j, col4row[i]
            if i == cur:
                break
    cols = np.array(col4row, dtype=np.int64)
    if transpose:
        order = np.argsort(cols, kind="stable")
        return cols[order], order.astype(np.int64)
    return np.arange(nr, dtype=np.int64), cols


def _augmenting_path(c: list[list[float]], u: list[float], v: list[float], path: list[int],
                     row4col: list[int], i: int):
    """The shortest augmenting path from row `i` to a free column (Dijkstra over the reduced
    costs): its sink, its length, each column's path length, the rows and columns reached.
    Columns are scanned in scipy's order; among equally short ones the first is taken,
    replaced by each later free one (scipy's rule, so ties resolve as there)."""
    nc = len(v)
    remaining = list(range(nc - 1, -1, -1))  # reversed, as scipy's
    num_remaining = nc
    rows_seen: list[int] = []
    cols_seen: list[int] = []
    spc = [math.inf] * nc
    min_val = 0.0
    while True:
        rows_seen.append(i)
        row, ui = c[i], u[i]
        lowest, index = math.inf, -1
        for it in range(num_remaining):
            j = remaining[it]
            r = ((min_val + row[j]) - ui) - v[j]
            if r < spc[j]:
                path[j] = i
                spc[j] = r
            if spc[j] < lowest or (spc[j] == lowest and row4col[j] == -1):
                lowest, index = spc[j], it
        min_val = lowest
        j = remaining[index]
        cols_seen.append(j)
        num_remaining -= 1
        remaining[index] = remaining[num_remaining]
        if row4col[j] == -1:
            return j, min_val, spc, rows_seen, cols_seen
        i = row4col[j]
