"""adcut's linear assignment gives scipy's answer (the planners' plans do not change with it)."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as scipy_lsa

from adcut.planner.assignment import linear_sum_assignment


def test_same_assignment_as_scipy_ties_included():
    rng = np.random.default_rng(7)
    for trial in range(1500):
        rows, cols = rng.integers(0, 9, size=2)
        if trial % 3 == 0:  # small integers: many equally good assignments
            cost = rng.integers(0, 3, (rows, cols)).astype(float)
        elif trial % 3 == 1:
            cost = rng.random((rows, cols))
        else:
            cost = np.round(rng.normal(size=(rows, cols)), 1)
        maximize = bool(trial % 2)
        want = scipy_lsa(cost, maximize=maximize)
        got = linear_sum_assignment(cost, maximize=maximize)
        assert [a.tolist() for a in got] == [a.tolist() for a in want], (cost, maximize)


def test_optimal_on_a_known_case():
    cost = np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    rows, cols = linear_sum_assignment(cost)
    assert rows.tolist() == [0, 1, 2] and cols.tolist() == [1, 0, 2]
    assert cost[rows, cols].sum() == 5.0
    tall = linear_sum_assignment(cost[:, :2])  # more rows than columns: two pairs
    assert tall[0].tolist() == [0, 1] and tall[1].tolist() == [1, 0]


def test_bad_matrices_are_refused():
    with pytest.raises(ValueError, match="NaN or an infinite"):
        linear_sum_assignment(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="two dimensions"):
        linear_sum_assignment(np.zeros(3))
    rows, cols = linear_sum_assignment(np.zeros((0, 4)))
    assert rows.size == 0 and cols.size == 0
