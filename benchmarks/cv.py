"""k-fold cross-validation by ad over a list of planner configurations (shared by the
benchmarks that choose anything on the AutoCut-364 dev slice).

Every configuration's per-ad values are computed once; for each fold the configuration with
the best mean on the other folds is applied to the held-out fold (ties go to the earlier
configuration, so list the simplest or the current default first), and only held-out values
make the headline. The gain of that procedure over the first configuration (the baseline) is
a paired bootstrap over the held-out ads: a choice whose gain interval holds 0 is not adopted.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from adcut.eval.compare import bootstrap_ci, paired_bootstrap


def folds_by_ad(ads: Sequence[str], k: int) -> dict[str, int]:
    """Fold of each ad: its rank in md5 order, modulo k (deterministic, independent of file order)."""
    ranked = sorted(set(ads), key=lambda a: hashlib.md5(a.encode()).hexdigest())
    return {a: i % k for i, a in enumerate(ranked)}


def clean(values) -> list[float | None]:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]


def figure(values) -> dict:
    """Mean over ads (NaN = not scored) with its bootstrap 95% interval."""
    arr = np.asarray(values, float)
    return {"value": float(np.nanmean(arr)) if (~np.isnan(arr)).any() else None,
            "ci95": bootstrap_ci(clean(arr)), "n": int((~np.isnan(arr)).sum())}


def cross_validate(values: list[np.ndarray], folds: np.ndarray, k: int,
                   key=lambda v, mask: float(np.nanmean(v[mask]))) -> dict:
    """values[c]: per-ad values of configuration c, (n_ads,) or (n_metrics, n_ads) (NaN = not
    scored); folds: (n_ads,) fold of each ad. Returns {"held_out": values of the configuration
    each ad's fold chose, "chosen": [config index per fold], "gain": paired bootstrap of the
    held-out values minus config 0's (the first metric's)}. `key(v, train_mask)` ranks a
    configuration on the training folds (higher is better; a tuple compares element by
    element)."""
    held = np.full(np.shape(values[0]), np.nan)
    chosen = []
    for f in range(k):
        train, test = folds != f, folds == f
        best = max(range(len(values)), key=lambda c: (key(values[c], train), -c))
        held[..., test] = values[best][..., test]
        chosen.append(best)
    first = (lambda v: v) if held.ndim == 1 else (lambda v: v[0])
    return {"held_out": held, "chosen": chosen,
            "gain": paired_bootstrap(clean(first(np.asarray(values[0]))), clean(first(held)))}
