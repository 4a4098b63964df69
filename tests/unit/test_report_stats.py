"""Properties of the report statistics (scylla.reports.stats) that hold for any input: the
values against independent computations are tests/test_stats.py's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scylla.reports import stats


def test_pass_at_k_grows_with_k_and_with_passes():
    n = 10
    for c in range(n + 1):
        curve = [stats.pass_at_k(n, c, k) for k in range(1, n + 1)]
        assert curve == sorted(curve), c
        assert curve[0] == pytest.approx(c / n)  # pass@1 is the pass rate
        assert curve[-1] == (1.0 if c else 0.0)  # all n runs: passed iff any run passed
    assert stats.pass_at_k(10, 3, 4) < stats.pass_at_k(10, 4, 4)


def test_pass_at_k_curve_is_keyed_1_to_n():
    curve = stats.pass_at_k_curve([False, True, False])
    assert list(curve) == [1, 2, 3]
    assert curve[1] == pytest.approx(1 / 3) and curve[3] == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 0), (3, 1, 4), (3, -1, 1)])
def test_pass_at_k_refuses_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        stats.pass_at_k(n, c, k)


def test_wilson_interval_holds_the_rate_and_narrows_with_more_runs():
    small, large = stats.wilson_interval(3, 10), stats.wilson_interval(30, 100)
    for ci in (small, large):
        assert 0.0 <= ci.low <= ci.estimate == 0.3 <= ci.high <= 1.0
    assert large.high - large.low < small.high - small.low
    none = stats.wilson_interval(0, 10)
    assert none.low == 0.0 and none.high > 0.0  # 0 of 10 does not prove a rate of 0
    with pytest.raises(ValueError):
        stats.wilson_interval(11, 10)


def test_cliffs_delta_is_antisymmetric_and_bounded():
    rng = np.random.default_rng(7)
    a, b = rng.normal(0.5, 0.2, 12), rng.normal(0.6, 0.2, 9)
    d = stats.cliffs_delta(a, b)
    assert -1.0 <= d <= 1.0
    assert stats.cliffs_delta(b, a) == pytest.approx(-d)
    assert stats.cliffs_delta([0.9, 1.0], [0.1, 0.2]) == 1.0  # every pair says a > b
    assert stats.cliffs_delta([0.5, 0.5], [0.5]) == 0.0
    assert math.isnan(stats.cliffs_delta([], [0.5]))


def test_holm_never_lowers_a_p_value_and_keeps_their_order():
    p = [0.04, 0.001, 0.03, float("nan"), 0.5]
    adjusted = stats.holm(p)
    assert math.isnan(adjusted[3])  # NaN stays NaN and is not counted as a test
    valid = [i for i in range(len(p)) if not math.isnan(p[i])]
    assert all(adjusted[i] >= p[i] for i in valid)
    # monotone: a smaller p-value never gets a larger adjusted one (step-down with ties)
    assert all(adjusted[i] <= adjusted[j] for i in valid for j in valid if p[i] < p[j])
    assert adjusted[0] == adjusted[2] == pytest.approx(0.09)  # 0.04 * 2 raised to 0.03 * 3
    assert adjusted[1] == pytest.approx(0.004)  # the smallest of 4 tests: times 4
    assert max(stats.holm([0.9, 0.8])) == 1.0  # capped
    shuffled = stats.holm([p[4], p[0], p[1], p[2]])
    assert shuffled == pytest.approx([adjusted[4], adjusted[0], adjusted[1], adjusted[2]])


def test_consistency_is_scale_free():
    values = [0.5, 0.6, 0.7]
    assert stats.consistency(values) == pytest.approx(stats.consistency([10 * v for v in values]))
    assert stats.consistency([0.4, 0.4, 0.4]) == pytest.approx(1.0)
    assert stats.consistency([0.1, 0.9]) < 0  # spread beyond the mean
    assert math.isnan(stats.consistency([0.4]))


def test_cost_of_pass():
    assert stats.cost_of_pass(3.0, 2) == 1.5
    assert stats.cost_of_pass(3.0, 0) == math.inf
    with pytest.raises(ValueError):
        stats.cost_of_pass(-1.0, 1)


def test_pareto_frontier_keeps_exactly_the_undominated_rows():
    rng = np.random.default_rng(3)
    points = pd.DataFrame({"cost": rng.uniform(0, 5, 40), "pass_rate": rng.uniform(0, 1, 40)})
    points.loc[40] = [None, 1.0]  # no cost: left out
    front = stats.pareto_frontier(points)
    assert 40 not in front.index

    def dominates(a: pd.Series, b: pd.Series) -> bool:
        no_worse = a.cost <= b.cost and a.pass_rate >= b.pass_rate
        return no_worse and (a.cost < b.cost or a.pass_rate > b.pass_rate)

    rows = points.drop(index=40)
    for i, row in rows.iterrows():
        dominated = any(dominates(other, row) for j, other in rows.iterrows() if j != i)
        assert (i in front.index) is not dominated, i
    assert list(front.cost) == sorted(front.cost)
