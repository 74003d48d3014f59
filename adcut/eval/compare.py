"""Paired comparison of two systems on the same ads: bootstrap 95% intervals (seeded) for every
metric and an exact McNemar test for the exact-match ones (CSA hit, exact set, CRA).

With ~100-360 ads, differences of a few points in an exact-match rate are within noise
(METRICS.md 1.4); these intervals say so. Pure functions apart from `compare_paths`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError
from adcut.eval import metrics as M
from adcut.eval.files import ResultFile, load_result_file

N_BOOT = 2000
SEED = 0
ALPHA = 0.05

# Per-row values of each kind: metric -> function of the row's scored record (None: the row
# does not count for that metric). Binary ones also get McNemar.
_BINARY = {"select": ("CSA", "exact_set_rate"), "sort": ("CRA",)}


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (binomial, p = 1/2)."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def _nanmean_rows(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN; NaN where nothing counts (no warnings)."""
    ok = ~np.isnan(values)
    count = ok.sum(-1)
    total = np.where(ok, values, 0.0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _as_array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _interval(samples: np.ndarray) -> list[float] | None:
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return None
    lo, hi = np.quantile(samples, [ALPHA / 2, 1 - ALPHA / 2])
    return [float(lo), float(hi)]


def bootstrap_ci(values: Sequence[float | None], n_boot: int = N_BOOT, seed: int = SEED) -> list[float] | None:
    """Percentile 95% interval of the mean over rows (None values do not count, as in the
    metric itself), resampling rows with replacement."""
    x = _as_array(values)
    if x.size == 0 or np.isnan(x).all():
        return None
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    return _interval(_nanmean_rows(x[idx]))


def paired_bootstrap(a: Sequence[float | None], b: Sequence[float | None], n_boot: int = N_BOOT,
                     seed: int = SEED) -> dict:
    """B - A on paired rows: the point difference and its percentile 95% interval (the same
    resampled rows for both systems)."""
    xa, xb = _as_array(a), _as_array(b)
    if xa.shape != xb.shape:
        raise ValueError("paired values must have the same length")
    ma, mb = _nanmean_rows(xa), _nanmean_rows(xb)
    out: dict = {"A": None if np.isnan(ma) else float(ma), "B": None if np.isnan(mb) else float(mb)}
    out["diff"] = None if out["A"] is None or out["B"] is None else out["B"] - out["A"]
    if xa.size == 0:
        out["ci95"] = None
        return out
    idx = np.random.default_rng(seed).integers(0, xa.size, size=(n_boot, xa.size))
    out["ci95"] = _interval(_nanmean_rows(xb[idx]) - _nanmean_rows(xa[idx]))
    return out


# --------------------------------------------------------------------------- per-row values


def row_values(rf: ResultFile) -> dict[str, dict[str, float | None]]:
    """key -> {metric: value or None} for every item of a file (the values the file's
    metrics average)."""
    out: dict[str, dict[str, float | None]] = {}
    for it in rf.items:
        v: dict[str, float | None]
        if rf.kind == "select":
            r = M.score_select_row(it.gold, it.pred)
            v = ({k: None for k in ("CSA", "set_precision_macro", "recall_macro", "set_f1_macro",
                                     "jaccard_macro", "exact_set_rate")} if r is None else
                 {"CSA": float(r.hit), "set_precision_macro": r.precision, "recall_macro": r.recall,
                  "set_f1_macro": r.f1, "jaccard_macro": r.jaccard, "exact_set_rate": float(r.exact_set)})
        elif rf.kind == "sort":
            s = M.score_sort_row(it.gold, it.pred)
            v = {"CRA": float(s.exact), "kendall_tau": s.kendall_tau, "pairwise_acc": s.pairwise_acc,
                 "lis_ratio": s.lis_ratio, "position_acc": s.position_acc, "malformed_rate": float(s.malformed)}
        elif rf.kind == "script":
            w = M.score_script_row(it.gold, it.pred)
            v = {"WCD": None if w is None else w.wcd, "WCD_script": None if w is None else w.wcd_script,
                 "linecount_match_rate": None if w is None else float(w.linecount_match)}
        elif rf.kind == "vsc":
            v = {"VSC": M.score_vsc_ad(it.obj).vsc_ad}
        elif rf.kind == "sq":
            q = M.score_sq_row(it.obj)
            v = {"SQ": q.total, "SQ_without_length": None if q.parts is None else q.parts[0] + q.parts[1]}
        else:
            rank = M.music_rank(it.obj["_gt"], it.obj["_ranking"])
            v = {"MRR": 1.0 / rank if rank else 0.0,
                 **{f"R@{k}": float(rank is not None and rank <= k) for k in M.MUSIC_KS}}
        out[it.key] = v
    return out


def compare_files(a: ResultFile, b: ResultFile, n_boot: int = N_BOOT, seed: int = SEED) -> dict:
    """Both systems' metrics on the ads they share, B - A with 95% intervals, and McNemar
    for the exact-match metrics. Ads in only one file are counted, not scored."""
    if a.kind != b.kind:
        raise BadInputError(f"cannot compare {a.name} ({a.kind}) with {b.name} ({b.kind})",
                            hint="compare two files of the same task")
    va, vb = row_values(a), row_values(b)
    keys = [k for k in va if k in vb]
    if not keys:
        raise BadInputError(f"{a.name} and {b.name} share no ads",
                            hint="compare two systems' results on the same test set")
    metrics: dict[str, dict] = {}
    for name in va[keys[0]]:
        metrics[name] = paired_bootstrap([va[k][name] for k in keys], [vb[k][name] for k in keys], n_boot, seed)
    mcnemar: dict[str, dict] = {}
    for name in _BINARY.get(a.kind, ()):
        pairs = [(va[k][name], vb[k][name]) for k in keys if va[k][name] is not None and vb[k][name] is not None]
        a_only = sum(1 for x, y in pairs if x and not y)
        b_only = sum(1 for x, y in pairs if y and not x)
        mcnemar[name] = {"n": len(pairs), "both": sum(1 for x, y in pairs if x and y),
                         "a_only": a_only, "b_only": b_only, "neither": sum(1 for x, y in pairs if not x and not y),
                         "p": mcnemar_exact(a_only, b_only)}
    return {
        "kind": a.kind,
        "A": a.name,
        "B": b.name,
        "n_paired": len(keys),
        "n_only_A": len(va) - len(keys),
        "n_only_B": len(vb) - len(keys),
        "n_boot": n_boot,
        "seed": seed,
        "metrics": metrics,
        "mcnemar": mcnemar,
    }


def compare_paths(a: Path, b: Path, task: str | None = None, n_boot: int = N_BOOT, seed: int = SEED) -> dict:
    fa, fb = load_result_file(a, task), load_result_file(b, task)
    out = compare_files(fa, fb, n_boot, seed)
    out["problems"] = fa.problems[:20] + fb.problems[:20]
    return out
