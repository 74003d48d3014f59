"""benchmarks/cv.py: the k-fold choice the planner benchmarks make (pure logic)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

_SPEC = importlib.util.spec_from_file_location("cv", Path(__file__).resolve().parents[2] / "benchmarks" / "cv.py")
cv = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cv)


def test_folds_are_by_ad_and_independent_of_order():
    ads = [f"ad{i}" for i in range(20)]
    a, b = cv.folds_by_ad(ads, 5), cv.folds_by_ad(list(reversed(ads)) + ads[:3], 5)
    assert a == b and sorted(a.values()) == sorted([f for f in range(5) for _ in range(4)])


def test_each_fold_takes_the_configuration_best_on_the_others_and_only_held_out_values_count():
    folds = np.repeat(np.arange(4), 5)
    base = np.zeros(20)
    better = np.ones(20)
    lucky = np.zeros(20)
    lucky[folds == 2] = 5.0  # great on one fold only: chosen by the other folds, never scored there
    out = cv.cross_validate([base, better, lucky], folds, 4)
    assert out["chosen"] == [2, 2, 1, 2]
    assert np.array_equal(out["held_out"], np.where(folds == 2, 1.0, 0.0))
    g = out["gain"]
    assert g["diff"] == 0.25 and g["ci95"][0] <= 0.25 <= g["ci95"][1]


def test_ties_go_to_the_earlier_configuration_and_rows_of_metrics_travel_together():
    folds = np.repeat(np.arange(2), 3)
    a = np.stack([np.ones(6), np.zeros(6)])
    b = np.stack([np.ones(6), np.ones(6)])
    first_only = cv.cross_validate([a, b], folds, 2, key=lambda v, m: float(v[0][m].mean()))
    assert first_only["chosen"] == [0, 0] and np.array_equal(first_only["held_out"], a)
    both = cv.cross_validate([a, b], folds, 2, key=lambda v, m: (float(v[0][m].mean()), float(v[1][m].mean())))
    assert both["chosen"] == [1, 1] and np.array_equal(both["held_out"], b)
