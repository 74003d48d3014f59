"""The linear assignment problem (each row to a distinct column, least total cost).

The planners match lines to clips this way many times per ad. scipy.optimize solves it, but
importing scipy.optimize costs 0.26 s, most of a plan's time; this is the same algorithm as
scipy's (the shortest augmenting path method of Jonker and Volgenant in Crouse's form, with
the same order of search and the same choice among equal paths), so it returns the same
assignment, ties included, with its inner loop in numpy.
"""

from __future__ import annotations

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
    c = np.ascontiguousarray(c)
    u, v = np.zeros(nr), np.zeros(nc)
    col4row = np.full(nr, -1, dtype=np.int64)
    row4col = np.full(nc, -1, dtype=np.int64)
    path = np.full(nc, -1, dtype=np.int64)
    for cur in range(nr):
        sink, min_val, spc, rows_seen, cols_seen = _augmenting_path(c, u, v, path, row4col, cur)
        u[cur] += min_val
        others = rows_seen.copy()
        others[cur] = False
        u[others] += min_val - spc[col4row[others]]
        v[cols_seen] -= min_val - spc[cols_seen]
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            col4row[i], j = j, col4row[i]
            if i == cur:
                break
    if transpose:
        order = np.argsort(col4row, kind="stable")
        return col4row[order], order.astype(np.int64)
    return np.arange(nr, dtype=np.int64), col4row.copy()


def _augmenting_path(c: np.ndarray, u: np.ndarray, v: np.ndarray, path: np.ndarray,
                     row4col: np.ndarray, i: int):
    """The shortest augmenting path from row `i` to a free column (Dijkstra over the reduced
    costs): its sink, its length, each column's path length, the rows and columns reached.
    Columns are scanned in scipy's order; among equally short ones a free column is taken."""
    nr, nc = c.shape
    remaining = np.arange(nc - 1, -1, -1, dtype=np.int64)  # reversed, as scipy's
    num_remaining = nc
    rows_seen = np.zeros(nr, dtype=bool)
    cols_seen = np.zeros(nc, dtype=bool)
    spc = np.full(nc, np.inf)
    min_val = 0.0
    while True:
        rows_seen[i] = True
        cols = remaining[:num_remaining]
        r = ((min_val + c[i, cols]) - u[i]) - v[cols]
        better = r < spc[cols]
        path[cols[better]] = i
        spc[cols[better]] = r[better]
        values = spc[cols]
        lowest = values.min()
        ties = np.flatnonzero(values == lowest)
        free = ties[row4col[cols[ties]] == -1]
        # scipy's scan keeps the first of the shortest, replaced by each later free one.
        index = int(free[-1]) if free.size else int(ties[0])
        min_val = float(lowest)
        j = int(remaining[index])
        cols_seen[j] = True
        num_remaining -= 1
        remaining[index] = remaining[num_remaining]
        if row4col[j] == -1:
            return j, min_val, spc, rows_seen, cols_seen
        i = int(row4col[j])
