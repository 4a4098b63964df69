"""scylla.stats against values computed independently: brute force, closed forms, scipy called
directly with the same seed, statsmodels, and Krippendorff's published example."""

from __future__ import annotations

import json
import math
import warnings
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from scylla.reports import stats

# --- pass@k ----------------------------------------------------------------------------------


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Share of all k-subsets of the n runs that hold at least one of the c passes."""
    runs = [True] * c + [False] * (n - c)
    subsets = list(combinations(range(n), k))
    return sum(any(runs[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize(
    ("n", "c", "k"),
    [(5, 1, 1), (5, 2, 2), (6, 3, 2), (7, 2, 3), (8, 5, 4), (10, 1, 5), (9, 4, 1), (10, 3, 7)],
)
def test_pass_at_k_equals_enumeration_over_all_k_subsets(n, c, k):
    expected = brute_force_pass_at_k(n, c, k)
    assert stats.pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), abs=1e-12)


def test_pass_at_k_edges():
    assert stats.pass_at_k(10, 0, 3) == 0.0  # nothing passed
    assert stats.pass_at_k(10, 10, 1) == 1.0  # everything passed
    assert stats.pass_at_k(4, 1, 4) == 1.0  # k = n with one pass: every draw holds it
    assert stats.pass_at_k(4, 0, 4) == 0.0
    assert stats.pass_at_k(7, 3, 1) == pytest.approx(3 / 7)  # pass@1 is the pass rate
    # large n: the product form agrees with exact integer binomials
    exact = 1 - math.comb(197, 50) / math.comb(200, 50)
    assert stats.pass_at_k(200, 3, 50) == pytest.approx(exact, rel=1e-12)
    for bad in [(3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)]:
        with pytest.raises(ValueError):
            stats.pass_at_k(*bad)


def test_pass_at_k_curve_covers_k_1_to_n():
    curve = stats.pass_at_k_curve([True, False, False, True, False])
    assert list(curve) == [1, 2, 3, 4, 5]
    assert curve[1] == pytest.approx(0.4)
    assert curve[2] == pytest.approx(brute_force_pass_at_k(5, 2, 2))
    assert curve[4] == curve[5] == 1.0


# --- Wilson ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(0, 5), (3, 10), (7, 7), (42, 57)])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_wilson_matches_statsmodels(k, n, confidence):
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    got = stats.wilson_interval(k, n, confidence)
    assert (got.low, got.high) == pytest.approx((low, high), abs=1e-10)
    assert got.estimate == k / n and got.method == "wilson"


def test_wilson_by_hand_and_empty():
    # 3 of 10, z = 1.959964: centre (3 + z^2/2) / (10 + z^2), half-width
    # z / (10 + z^2) * sqrt(3 * 7 / 10 + z^2 / 4) -> 0.3347 -/+ 0.2277
    got = stats.wilson_interval(3, 10)
    assert got.low == pytest.approx(0.10779, abs=1e-5)
    assert got.high == pytest.approx(0.60322, abs=1e-5)
    empty = stats.wilson_interval(0, 0)
    assert math.isnan(empty.low) and math.isnan(empty.high)
    with pytest.raises(ValueError):
        stats.wilson_interval(4, 3)


# --- bootstrap -------------------------------------------------------------------------------

SAMPLE = np.array([0.2, 0.9, 0.4, 0.75, 0.1, 0.6, 0.55, 0.8, 0.3, 1.0, 0.65, 0.45])


@pytest.mark.parametrize("statistic", [np.mean, np.median])
def test_bca_interval_is_scipys_with_the_same_seed(statistic):
    got = stats.bootstrap_ci(SAMPLE, statistic, confidence=0.9, n_resamples=2000, seed=11)
    ref = sps.bootstrap(
        (SAMPLE,),
        statistic,
        n_resamples=2000,
        confidence_level=0.9,
        method="BCa",
        rng=np.random.default_rng(11),
    ).confidence_interval
    assert got.method == "BCa"
    assert (got.low, got.high) == (pytest.approx(ref.low, abs=1e-12), pytest.approx(ref.high))
    assert got.estimate == pytest.approx(statistic(SAMPLE))
    assert (got.n_resamples, got.seed, got.confidence) == (2000, 11, 0.9)


def test_the_seed_is_used():
    first = stats.bootstrap_ci(SAMPLE, n_resamples=2000, seed=11)
    assert stats.bootstrap_ci(SAMPLE, n_resamples=2000, seed=11) == first
    other = stats.bootstrap_ci(SAMPLE, n_resamples=2000, seed=12)
    assert (other.low, other.high) != (first.low, first.high)


def test_bootstrap_defaults_are_recorded():
    got = stats.bootstrap_ci(SAMPLE[:6], n_resamples=500)
    assert got.seed == stats.DEFAULT_SEED and got.confidence == 0.95
    assert stats.bootstrap_ci([1.0, 2.0]).n_resamples == stats.DEFAULT_RESAMPLES


@pytest.mark.parametrize(
    ("values", "point"), [([3.5], 3.5), ([2.0, 2.0, 2.0], 2.0), ([0, 0, 0, 0], 0.0)]
)
def test_degenerate_samples_give_the_point_quietly(values, point):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = stats.bootstrap_ci(values)
    assert (got.estimate, got.low, got.high, got.method) == (point, point, point, "degenerate")
    assert got.n_resamples == 0


def test_empty_sample_and_nan_input():
    got = stats.bootstrap_ci([])
    assert math.isnan(got.low) and got.method == "undefined"
    with pytest.raises(ValueError, match="NaN"):
        stats.bootstrap_ci([1.0, float("nan")])


def test_interval_to_dict_is_json_ready():
    got = stats.bootstrap_ci(SAMPLE, n_resamples=200, seed=3).to_dict()
    assert set(got) == {"estimate", "low", "high", "method", "confidence", "n_resamples", "seed"}
    assert json.loads(json.dumps(got))["method"] == "BCa"


# --- consistency and cost of pass ------------------------------------------------------------


def test_consistency():
    assert stats.consistency([2.0, 2.0, 2.0]) == 1.0
    # mean 2, sample std sqrt(2)
    assert stats.consistency([1.0, 3.0]) == pytest.approx(1 - math.sqrt(2) / 2)
    assert math.isnan(stats.consistency([0.0, 0.0]))
    assert math.isnan(stats.consistency([0.7]))


def test_cost_of_pass():
    assert stats.cost_of_pass(10.0, 4) == 2.5
    assert stats.cost_of_pass(10.0, 0) == math.inf
    assert stats.cost_of_pass(0.0, 2) == 0.0


def test_cost_of_pass_interval_is_the_percentile_interval_of_the_ratio():
    rng = np.random.default_rng(5)
    costs = rng.uniform(0.5, 2.0, 20)
    passed = np.array([1] * 15 + [0] * 5)
    # 4001 resamples: the 2.5% and 97.5% quantiles fall on order statistics, so the interval
    # of 1 / (1 + ratio) mapped back is exactly the percentile interval of the ratio itself
    got = stats.cost_of_pass_ci(costs, passed, n_resamples=4001, seed=9)
    ref = sps.bootstrap(
        (costs, passed),
        lambda c, p: c.sum() / p.sum(),
        paired=True,
        vectorized=False,
        n_resamples=4001,
        method="percentile",
        rng=np.random.default_rng(9),
    ).confidence_interval
    assert got.method == "percentile"
    assert got.estimate == pytest.approx(costs.sum() / 15)
    assert got.low == pytest.approx(ref.low, rel=1e-9)
    assert got.high == pytest.approx(ref.high, rel=1e-9)


def test_cost_of_pass_interval_without_passes_and_with_rare_passes():
    none = stats.cost_of_pass_ci([1.0, 2.0, 1.5], [0, 0, 0], n_resamples=500)
    assert none.estimate == none.low == none.high == math.inf
    rare = stats.cost_of_pass_ci([1.0] * 6, [1, 0, 0, 0, 0, 0], n_resamples=2000)
    # a third of resamples hold no pass: the upper bound is unbounded, the lower one is not
    assert rare.estimate == 6.0 and rare.high == math.inf and 0 < rare.low < 6.0


# --- Cliff's delta ---------------------------------------------------------------------------


def test_cliffs_delta_by_hand():
    assert stats.cliffs_delta([1, 2, 3], [1, 2, 3]) == 0.0
    assert stats.cliffs_delta([4, 5], [1, 2]) == 1.0
    assert stats.cliffs_delta([1, 2], [4, 5]) == -1.0
    # a=[1,2,4], b=[2,3]: 1<2 1<3 2=2 2<3 4>2 4>3 -> 2 greater, 3 less, 1 tie: (2-3)/6
    assert stats.cliffs_delta([1, 2, 4], [2, 3]) == pytest.approx(-1 / 6)
    assert math.isnan(stats.cliffs_delta([], [1.0]))


def test_cliffs_delta_is_the_rescaled_mann_whitney_u():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 5, 15), rng.integers(1, 6, 11)  # with ties
    u = sps.mannwhitneyu(a, b).statistic
    assert stats.cliffs_delta(a, b) == pytest.approx(2 * u / (a.size * b.size) - 1)


def test_cliffs_delta_interval_is_scipys_two_sample_bootstrap():
    a = np.array([0.3, 0.5, 0.55, 0.7, 0.9, 0.2, 0.65])
    b = np.array([0.1, 0.4, 0.35, 0.6, 0.25, 0.5])
    got = stats.cliffs_delta_ci(a, b, n_resamples=1500, seed=4)
    ref = sps.bootstrap(
        (a, b),
        lambda x, y: np.sign(x[:, None] - y[None, :]).mean(),
        vectorized=False,
        n_resamples=1500,
        method="BCa",
        rng=np.random.default_rng(4),
    ).confidence_interval
    assert got.method == "BCa"
    assert got.low == pytest.approx(ref.low) and got.high == pytest.approx(ref.high)


def test_separated_samples_fall_back_to_percentile_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = stats.cliffs_delta_ci([4.0, 5.0, 6.0], [1.0, 2.0], n_resamples=500)
    # every resample is fully separated: BCa is 0/0, the percentile interval is the point
    assert (got.low, got.high, got.method) == (1.0, 1.0, "percentile")


# --- Holm ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pvalues",
    [
        [0.01, 0.04, 0.03, 0.005],
        [0.2, 0.2, 0.01, 0.5, 0.049, 0.9],
        [0.001, 0.002, 0.003],
        [0.6, 0.7, 0.8, 0.95],
        list(np.random.default_rng(8).uniform(0, 0.2, 12)),
    ],
)
def test_holm_matches_statsmodels(pvalues):
    _, expected, _, _ = multipletests(pvalues, method="holm")
    assert stats.holm(pvalues) == pytest.approx(list(expected), abs=1e-12)


def test_holm_by_hand():
    # sorted 0.005 0.01 0.03 0.04 times 4 3 2 1 = 0.02 0.03 0.06 0.04 -> running max
    # 0.02 0.03 0.06 0.06, back in input order
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.3, 0.5]) == [0.6, 0.6]
    assert stats.holm([0.6, 0.9]) == [1.0, 1.0]  # capped
    # NaN stays NaN and is not counted: two tests, not three
    adjusted = stats.holm([0.01, float("nan"), 0.02])
    assert adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.02)
    assert math.isnan(adjusted[1])
    assert stats.holm([]) == []
    with pytest.raises(ValueError):
        stats.holm([1.2])


# --- normality -------------------------------------------------------------------------------


def test_normality():
    got = stats.normality(SAMPLE)
    ref = sps.shapiro(SAMPLE)
    assert (got.statistic, got.pvalue) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    assert got.n == SAMPLE.size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(stats.normality([1.0, 2.0]).pvalue)
        assert math.isnan(stats.normality([1.0, 1.0, 1.0, 1.0]).statistic)


# --- compare_tiers ---------------------------------------------------------------------------


def tier_frame() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    groups = {"T0": 8, "T1": 7, "T2": 9, "T10": 6, "T3": 1}
    rows = [
        {"tier": t, "score": float(v)}
        for i, (t, n) in enumerate(groups.items())
        for v in rng.normal(0.4 + 0.1 * i, 0.15, n)
    ]
    rows.append({"tier": "T1", "score": None})  # a run without a score is not counted
    return pd.DataFrame(rows)


def test_compare_tiers_unpaired():
    df = tier_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = stats.compare_tiers(df, n_resamples=999, seed=1)
    sample = {t: df.loc[df.tier == t, "score"].dropna().to_numpy() for t in df.tier.unique()}
    # natural order, T3 (one value) kept in the plan but left out of Kruskal-Wallis
    assert [g.group for g in got.groups] == ["T0", "T1", "T2", "T3", "T10"]
    assert [g.n for g in got.groups] == [8, 7, 9, 1, 6]
    kw = sps.kruskal(sample["T0"], sample["T1"], sample["T2"], sample["T10"])
    assert got.kruskal.pvalue == pytest.approx(kw.pvalue) and got.kruskal.n == 30
    assert got.kruskal.statistic == pytest.approx(kw.statistic)

    assert [(p.a, p.b) for p in got.pairs] == [
        ("T0", "T1"),
        ("T1", "T2"),
        ("T2", "T3"),
        ("T3", "T10"),
    ]
    raw = [sps.mannwhitneyu(sample[a], sample[b]).pvalue for a, b in [("T0", "T1"), ("T1", "T2")]]
    assert [p.pvalue for p in got.pairs[:2]] == pytest.approx(raw)
    # Holm over the two defined tests only
    assert [p.pvalue_holm for p in got.pairs[:2]] == pytest.approx(
        list(multipletests(raw, method="holm")[1])
    )
    first = got.pairs[0]
    assert first.cliffs_delta == pytest.approx(stats.cliffs_delta(sample["T0"], sample["T1"]))
    assert first.cliffs_delta_ci.low <= first.cliffs_delta <= first.cliffs_delta_ci.high
    assert first.cliffs_delta_ci.seed == 1 and first.cliffs_delta_ci.n_resamples == 999
    for pair in got.pairs[2:]:  # T3 has one value: NaN, not an exception
        assert math.isnan(pair.statistic) and math.isnan(pair.pvalue_holm)
        assert math.isnan(pair.cliffs_delta) and pair.cliffs_delta_ci.method == "undefined"
    frame = got.pairs_frame()
    assert {"a", "b", "pvalue_holm", "cliffs_delta_ci_low", "cliffs_delta_ci_high"} <= set(frame)
    json.dumps(got.to_dict())


def test_compare_tiers_planned_pairs_and_errors():
    df = tier_frame()
    got = stats.compare_tiers(df, pairs=[("T0", "T10"), ("T0", "T2")], n_resamples=200)
    ps = [
        sps.mannwhitneyu(df.score[df.tier == "T0"], df.score[df.tier == t]).pvalue
        for t in ("T10", "T2")
    ]
    assert [p.pvalue_holm for p in got.pairs] == pytest.approx(stats.holm(ps))
    with pytest.raises(ValueError, match="T9"):
        stats.compare_tiers(df, pairs=[("T0", "T9")])


def test_compare_tiers_paired_by_subtest_uses_wilcoxon_on_subtest_means():
    rng = np.random.default_rng(3)
    rows = [
        {"tier": t, "subtest": s, "run": r, "score": 0.5 + 0.1 * i + rng.normal(0, 0.1)}
        for i, t in enumerate(["T0", "T1"])
        for s in ["01", "02", "03", "04", "05", "06", "07"]
        for r in range(3)
    ]
    rows.append({"tier": "T1", "subtest": "08", "run": 0, "score": 0.9})  # only in T1
    df = pd.DataFrame(rows)
    got = stats.compare_tiers(df, paired_by="subtest", n_resamples=300)
    means = df.groupby(["subtest", "tier"]).score.mean().unstack().dropna()
    ref = sps.wilcoxon(means["T0"], means["T1"])
    (pair,) = got.pairs
    assert pair.test == "wilcoxon" and pair.n_a == pair.n_b == 7
    assert pair.pvalue == pytest.approx(ref.pvalue)
    assert pair.statistic == pytest.approx(ref.statistic)


def test_paired_comparisons_without_two_differing_units_are_nan():
    df = pd.DataFrame(
        {
            "tier": ["T0", "T0", "T1", "T1", "T2", "T2"],
            "subtest": ["01", "02", "01", "02", "01", "03"],
            "score": [0.2, 0.4, 0.2, 0.4, 0.9, 0.1],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = stats.compare_tiers(df, paired_by="subtest", n_resamples=100)
    same, one_unit = got.pairs  # T0-T1: no difference at all; T1-T2: one shared subtest
    assert same.n_a == 2 and math.isnan(same.pvalue) and math.isnan(same.statistic)
    assert one_unit.n_a == 1 and math.isnan(one_unit.pvalue)


# --- judges ----------------------------------------------------------------------------------

NAN = float("nan")
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers,
# 12 units, missing values. Published: nominal .743, ordinal .815, interval .849, ratio .797;
# the nominal, ordinal and ratio values are also the `krippendorff` package's doctests.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_reproduces_the_published_example(level, published):
    assert round(stats.krippendorff_alpha(KRIPPENDORFF_2011, level), 3) == published


def test_interval_alpha_equals_its_definition_over_pairable_values():
    """alpha = 1 - D_o / D_e with squared differences: D_o within units (each pair weighted
    1 / (m_u - 1)), D_e over all pairs of pairable values; units with one value drop out."""
    units = [[v for v in col if not math.isnan(v)] for col in zip(*KRIPPENDORFF_2011, strict=True)]
    units = [u for u in units if len(u) >= 2]
    values = [v for u in units for v in u]
    n = len(values)
    within = sum(
        sum((a - b) ** 2 for i, a in enumerate(u) for j, b in enumerate(u) if i != j) / (len(u) - 1)
        for u in units
    )
    between = sum(
        (a - b) ** 2 for i, a in enumerate(values) for j, b in enumerate(values) if i != j
    )
    alpha = 1 - (within / n) / (between / (n * (n - 1)))
    assert stats.krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(alpha, abs=1e-12)
    assert round(alpha, 3) == 0.849


def test_krippendorff_alpha_undefined_is_nan():
    assert math.isnan(stats.krippendorff_alpha([[1.0, 1.0], [1.0, 1.0]]))  # one value only
    assert math.isnan(stats.krippendorff_alpha([[1.0, NAN], [NAN, 2.0]]))  # nothing pairable
    assert stats.krippendorff_alpha(pd.DataFrame([[0.1, 0.9, 0.5], [0.1, 0.9, 0.5]])) == 1.0


def test_krippendorff_alpha_interval_is_a_bootstrap_over_units():
    data = np.array(KRIPPENDORFF_2011, dtype=float)
    domain = np.unique(data[~np.isnan(data)])
    got = stats.krippendorff_alpha_ci(data, "interval", n_resamples=300, seed=6)
    ref = sps.bootstrap(
        (np.arange(data.shape[1]),),
        lambda cols: krippendorff.alpha(data[:, cols], value_domain=domain),
        vectorized=False,
        n_resamples=300,
        method="BCa",
        rng=np.random.default_rng(6),
    ).confidence_interval
    assert got.method == "BCa" and got.estimate == pytest.approx(0.8491071428571428)
    assert got.low == pytest.approx(ref.low) and got.high == pytest.approx(ref.high)
    assert got.low < got.estimate < got.high


def judge_frame() -> pd.DataFrame:
    scores = {
        "A": [0.5, 0.6, 0.7, 0.8, 0.9],
        "B": [0.4, 0.5, 0.6, 0.7, NAN],  # B did not judge run 5
        "C": [0.3, 0.4, 0.5, 0.6, NAN],
    }
    return pd.DataFrame(
        [
            {"slot": j, "tier": "T0", "subtest": "00", "run": r + 1, "score": s}
            for j, col in scores.items()
            for r, s in enumerate(col)
        ]
    )


def test_ratings_matrix_is_judges_by_units():
    m = stats.ratings_matrix(judge_frame())
    assert m.shape == (3, 5) and list(m.index) == ["A", "B", "C"]
    assert math.isnan(m.loc["B"].iloc[4]) and m.loc["A"].iloc[4] == 0.9


def test_judge_bias_against_the_other_judges():
    got = {b.judge: b for b in stats.judge_bias(judge_frame())}
    # A vs mean(B, C) = 0.35 .. 0.65 on runs 1-4 (run 5 has no other judge): +0.15 each
    assert got["A"].n == 4 and got["A"].mean_diff == pytest.approx(0.15)
    # B vs mean(A, C) equals B; C vs mean(A, B) = C + 0.15
    assert got["B"].mean_diff == pytest.approx(0.0) and got["C"].mean_diff == pytest.approx(-0.15)
    for b in got.values():
        assert b.spearman_r == pytest.approx(1.0) and b.pearson_r == pytest.approx(1.0)


def test_judge_bias_correlations_are_scipys():
    rng = np.random.default_rng(4)
    truth = rng.random(12)
    rows = [
        {"slot": j, "tier": "T1", "subtest": "01", "run": r, "score": truth[r] + rng.normal(0, 0.1)}
        for j in ("x", "y")
        for r in range(12)
    ]
    df = pd.DataFrame(rows)
    got = {b.judge: b for b in stats.judge_bias(df)}
    x = df[df.slot == "x"].score.to_numpy()
    y = df[df.slot == "y"].score.to_numpy()
    assert got["x"].spearman_r == pytest.approx(sps.spearmanr(x, y).statistic)
    assert got["x"].pearson_p == pytest.approx(sps.pearsonr(x, y).pvalue)
    assert got["x"].mean_diff == pytest.approx(np.mean(x - y))
    assert got["y"].mean_diff == pytest.approx(-got["x"].mean_diff)


# --- Pareto ----------------------------------------------------------------------------------


def test_pareto_frontier_by_hand():
    points = pd.DataFrame(
        {
            "name": ["a", "b", "c", "d", "e", "f", "g", "h"],
            "cost": [1.0, 2.0, 2.0, 3.0, 0.5, 1.0, 4.0, NAN],
            "pass_rate": [0.5, 0.7, 0.6, 0.7, 0.2, 0.5, 0.9, 1.0],
        }
    )
    # c (same cost as b, lower rate) and d (costlier than b, same rate) are dominated;
    # f ties a and is kept; h has no cost and is left out
    frontier = stats.pareto_frontier(points)
    assert frontier["name"].tolist() == ["e", "a", "f", "b", "g"]


def test_the_vectorized_interval_alpha_equals_the_package_on_random_judgments():
    """The bootstrap's closed form (per-unit sums) against `krippendorff` itself."""
    rng = np.random.default_rng(3)
    data = rng.uniform(0, 1, size=(3, 60)).round(2)
    data[rng.uniform(size=data.shape) < 0.2] = np.nan  # missing judgments
    terms = stats._interval_alpha_terms(data)
    every_unit = np.arange(data.shape[1])
    assert float(stats._interval_alpha_of(terms, every_unit)) == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="interval"), abs=1e-12
    )


def test_interval_alpha_of_many_runs_is_the_packages_value():
    """Above PACKAGE_MAX_UNITS the closed form answers; it must be the package's alpha."""
    rng = np.random.default_rng(5)
    data = rng.integers(0, 11, size=(3, stats.PACKAGE_MAX_UNITS + 50)) / 10  # 11 values
    data[0] = np.clip(data[1] + rng.normal(0, 0.1, data.shape[1]).round(1), 0, 1)
    data[rng.uniform(size=data.shape) < 0.1] = np.nan
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
    assert stats.krippendorff_alpha(data) == pytest.approx(expected, abs=1e-12)


def test_one_run_gives_a_degenerate_or_undefined_interval_not_an_error():
    one = stats.cost_of_pass_ci([0.5], [True])
    assert (one.method, one.low, one.high) == ("degenerate", 0.5, 0.5)
    assert stats.cost_of_pass_ci([0.5], [False]).estimate == math.inf
    delta = stats.cliffs_delta_ci([0.3], [0.1, 0.9])
    assert delta.method == "undefined" and math.isnan(delta.low)
    assert delta.estimate == stats.cliffs_delta([0.3], [0.1, 0.9]) == 0.0


def test_alpha_of_a_single_run_has_no_interval_but_no_error():
    one_run = np.array([[0.4], [0.9]])  # two judges, one run: alpha defined, not resamplable
    ci = stats.krippendorff_alpha_ci(one_run)
    assert ci.method == "undefined" and math.isnan(ci.low) and math.isnan(ci.high)
