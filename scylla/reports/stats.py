"""Statistics researchers publish from: intervals, pass@k, effect sizes, tests, judge agreement.

Pure functions on numpy/pandas, delegating every estimator that scipy or `krippendorff`
provides to them; results are dataclasses with `to_dict()` for JSON and CSV.

- Proportions: `wilson_interval` (score interval of a pass rate).
- Bootstrap: `bootstrap_ci` (BCa by default, any statistic), `cost_of_pass_ci`,
  `cliffs_delta_ci`, `krippendorff_alpha_ci`. Every bootstrap is seeded (`DEFAULT_SEED`,
  `DEFAULT_RESAMPLES`) and its `Interval` records the method actually used, the number of
  resamples and the seed, so a report can print them and a reader can reproduce them.
  When BCa is undefined for the data at hand (scipy returns NaN bounds, e.g. a bootstrap
  distribution piled on one value), the percentile interval of the same resamples is reported
  and `method` says "percentile"; a sample that cannot vary at all gives
  `method="degenerate"` (both bounds the point value, no resampling, no warning).
- Runs: `pass_at_k`, `pass_at_k_curve`, `consistency`, `cost_of_pass`.
- Effect size and tests: `cliffs_delta`, `holm`, `compare_tiers` (Kruskal-Wallis, planned
  pairwise Mann-Whitney U or Wilcoxon signed-rank, Holm-adjusted), `normality` (Shapiro-Wilk).
- Judges: `ratings_matrix`, `krippendorff_alpha`, `krippendorff_alpha_ci`, `judge_bias`.
- Cost against quality: `pareto_frontier`.

Undefined values are NaN (a statistic of too few values, a test of a constant sample), never an
exception: a report over a partial experiment still builds. A 1-D sample containing NaN is an
error (ValueError) rather than silently shortened; the frame-level functions (`compare_tiers`,
`judge_bias`, `ratings_matrix`) leave rows with a missing value out, and say so.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import krippendorff
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

DEFAULT_SEED = 42  # the original tool's paper pipeline: seed 42, 10,000 resamples
DEFAULT_RESAMPLES = 10_000
DEFAULT_CONFIDENCE = 0.95

BootstrapMethod = Literal["BCa", "percentile"]
AlphaLevel = Literal["nominal", "ordinal", "interval", "ratio"]

NAN = float("nan")
# Above this many units, interval alpha is computed in closed form (see krippendorff_alpha).
PACKAGE_MAX_UNITS = 200


class _AsDict:
    def to_dict(self) -> dict[str, Any]:
        """Plain fields (nested dataclasses as dicts), ready for JSON or a DataFrame row."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Interval(_AsDict):
    """A confidence interval and how it was obtained.

    `method` is "wilson", "BCa", "percentile", "degenerate" (the sample cannot vary: both
    bounds are the point value) or "undefined" (no data: NaN bounds). `n_resamples` and `seed`
    are those of the bootstrap (None for closed forms, 0 resamples when none were drawn).
    """

    estimate: float
    low: float
    high: float
    method: str
    confidence: float
    n_resamples: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class StatResult(_AsDict):
    """A test statistic and its p-value (NaN when the test is undefined for the data)."""

    test: str
    statistic: float
    pvalue: float
    n: int


@dataclass(frozen=True)
class GroupSize(_AsDict):
    group: str
    n: int


@dataclass(frozen=True)
class PairComparison(_AsDict):
    """One planned comparison of two groups.

    `test` is "mannwhitneyu" (two-sided, runs as independent samples) or "wilcoxon"
    (two-sided signed-rank on matched per-unit means). `n_a`/`n_b` are the sizes that entered
    the test (matched units for the paired test). `pvalue_holm` is Holm-adjusted over all
    pairs of the comparison with a defined p-value. `cliffs_delta` > 0 means a tends to be
    larger than b, computed on the same values as the test.
    """

    a: str
    b: str
    n_a: int
    n_b: int
    test: str
    statistic: float
    pvalue: float
    pvalue_holm: float
    cliffs_delta: float
    cliffs_delta_ci: Interval


@dataclass(frozen=True)
class TierComparison(_AsDict):
    """Omnibus Kruskal-Wallis over the groups plus the planned pairwise comparisons."""

    value: str
    group: str
    paired_by: str | None
    groups: list[GroupSize]
    kruskal: StatResult
    pairs: list[PairComparison] = field(default_factory=list)

    def pairs_frame(self) -> pd.DataFrame:
        """One row per pair, the delta interval flattened into cliffs_delta_ci_* columns."""
        return pd.json_normalize([p.to_dict() for p in self.pairs], sep="_")


@dataclass(frozen=True)
class JudgeBias(_AsDict):
    """How one judge departs from the consensus of the other judges on the same units.

    `mean_diff` = mean(score - consensus); `n` units had both a score from this judge and
    at least one score from another judge. Correlations are NaN for n < 3 or constant input.
    """

    judge: str
    n: int
    mean_diff: float
    spearman_r: float
    spearman_p: float
    pearson_r: float
    pearson_p: float


# --- helpers -------------------------------------------------------------------------------


def _sample(values: npt.ArrayLike, name: str = "values") -> np.ndarray:
    """A 1-D float array; NaN is refused rather than silently dropped."""
    arr = np.asarray(values, dtype=float).ravel()
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN: select the values to analyse first")
    return arr


def _is_constant(arr: np.ndarray) -> bool:
    return arr.size == 0 or bool(np.all(arr == arr[0]))


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _scipy_bootstrap(
    data: tuple[np.ndarray, ...],
    statistic: Callable[..., Any],
    *,
    method: BootstrapMethod,
    paired: bool,
    confidence: float,
    n_resamples: int,
    seed: int,
    vectorized: bool | None = None,
    batch: int | None = None,
) -> tuple[float, float, str]:
    """`scipy.stats.bootstrap` with the given method; percentile when BCa is undefined.

    Degenerate data makes scipy warn and return NaN bounds (BCa's acceleration is 0/0 when the
    jackknife values are all equal); those warnings are silenced here because the NaN is
    checked and the percentile interval of the same seeded resamples is reported instead.
    """
    if any(np.shape(d)[-1] < 2 for d in data):  # scipy refuses: nothing to resample
        return NAN, NAN, "undefined"
    tried: list[BootstrapMethod] = [method] if method == "percentile" else [method, "percentile"]
    for m in tried:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = stats.bootstrap(
                data,
                statistic,
                n_resamples=n_resamples,
                method=m,
                paired=paired,
                confidence_level=confidence,
                vectorized=vectorized,
                batch=batch,
                rng=np.random.default_rng(seed),
            )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (math.isnan(low) or math.isnan(high)):
            return low, high, m
    return NAN, NAN, "undefined"


def _natural_key(label: Hashable) -> list[Any]:
    """T2 < T10: digit runs compare as numbers."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(label))]


def _ordered_groups(series: pd.Series) -> list[Any]:
    present = series.dropna().unique().tolist()
    if isinstance(series.dtype, pd.CategoricalDtype) and series.cat.ordered:
        return [c for c in series.cat.categories if c in present]
    return sorted(present, key=_natural_key)


# --- proportions and runs ------------------------------------------------------------------


def wilson_interval(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Wilson score interval of a pass rate (scipy's binomtest); NaN bounds when n == 0."""
    _check_confidence(confidence)
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return Interval(NAN, NAN, NAN, "undefined", confidence)
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(successes / n, float(ci.low), float(ci.high), "wilson", confidence)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n runs with c passes: 1 - C(n-c, k) / C(n, k) (Chen et al. 2021).

    Computed in the product form 1 - prod_{i=n-c+1..n} (1 - k/i), which never forms the
    (huge) binomial coefficients.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_curve(passed: Sequence[bool] | npt.ArrayLike) -> dict[int, float]:
    """pass@k for k = 1..n of one subtest's runs (each run passed or not)."""
    arr = np.asarray(passed, dtype=bool).ravel()
    n, c = arr.size, int(arr.sum())
    return {k: pass_at_k(n, c, k) for k in range(1, n + 1)}


def consistency(values: npt.ArrayLike) -> float:
    """1 - coefficient of variation = 1 - s / mean, with the sample standard deviation (ddof=1).

    NaN for fewer than 2 values (one run says nothing about spread) or a mean of 0. It is 1 for
    identical values and falls below 0 when the spread exceeds the mean.
    """
    arr = _sample(values)
    if arr.size < 2:
        return NAN
    mean = float(arr.mean())
    if mean == 0:
        return NAN
    return 1.0 - float(arr.std(ddof=1)) / abs(mean)


def cost_of_pass(total_cost: float, passes: int | float) -> float:
    """Dollars spent per pass: total_cost / passes, inf when nothing passed."""
    if passes < 0 or total_cost < 0:
        raise ValueError(f"need non-negative cost and passes, got {total_cost}, {passes}")
    return math.inf if passes == 0 else float(total_cost) / float(passes)


def _pass_share(cost: np.ndarray, passed: np.ndarray, axis: int = -1) -> np.ndarray:
    """1 / (1 + cost_of_pass) of summed runs: a bounded, decreasing transform (inf -> 0)."""
    c = np.sum(cost, axis=axis)
    p = np.sum(passed, axis=axis)
    cop = np.where(p > 0, c / np.where(p > 0, p, 1), np.inf)
    return 1.0 / (1.0 + cop)


def cost_of_pass_ci(
    costs: npt.ArrayLike,
    passed: npt.ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Interval:
    """Percentile bootstrap interval of cost_of_pass(sum(costs), sum(passed)) over runs.

    Runs are resampled whole (cost and outcome together). A resample without a pass has an
    infinite cost of pass, which BCa's jackknife and quantile interpolation cannot handle, so
    the percentile interval is taken of g = 1 / (1 + cost_of_pass) (in [0, 1], inf -> 0) and
    mapped back; percentile intervals follow monotone transforms. The upper bound is inf when
    at least the tail share of resamples has no pass.
    """
    _check_confidence(confidence)
    cost = _sample(costs, "costs")
    ok = _sample(passed, "passed")
    if cost.size != ok.size:
        raise ValueError(f"costs and passed differ in length: {cost.size} != {ok.size}")
    if cost.size == 0:
        return Interval(NAN, NAN, NAN, "undefined", confidence, 0, seed)
    estimate = cost_of_pass(float(cost.sum()), float(ok.sum()))
    if cost.size < 2:  # one run cannot be resampled into anything but itself
        return Interval(estimate, estimate, estimate, "degenerate", confidence, 0, seed)

    def share_of(runs: np.ndarray, axis: int = -1) -> np.ndarray:
        # runs resampled as indices: cost and outcome stay together, as paired=True does,
        # without scipy's paired path (10x slower: fancy indexing of every sample)
        return _pass_share(cost[runs], ok[runs], axis)

    low, high, method = _scipy_bootstrap(
        (np.arange(cost.size),),
        share_of,
        method="percentile",
        paired=False,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        vectorized=True,
    )
    back_low, back_high = (math.inf if g == 0 else 1.0 / g - 1.0 for g in (high, low))
    return Interval(estimate, back_low, back_high, method, confidence, n_resamples, seed)


# --- bootstrap of a statistic --------------------------------------------------------------


def bootstrap_ci(
    values: npt.ArrayLike,
    statistic: Callable[..., Any] = np.mean,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    method: BootstrapMethod = "BCa",
) -> Interval:
    """Bootstrap interval of statistic(values) by `scipy.stats.bootstrap`, BCa by default.

    `statistic` is called as scipy calls it (vectorized when it takes `axis`, as np.mean and
    np.median do). Fewer than 2 values, or all values equal: both bounds are the point value,
    method "degenerate"; no values: NaN, method "undefined".
    """
    _check_confidence(confidence)
    arr = _sample(values)
    if arr.size == 0:
        return Interval(NAN, NAN, NAN, "undefined", confidence, 0, seed)
    estimate = float(statistic(arr))
    if arr.size < 2 or _is_constant(arr):
        return Interval(estimate, estimate, estimate, "degenerate", confidence, 0, seed)
    low, high, used = _scipy_bootstrap(
        (arr,),
        statistic,
        method=method,
        paired=False,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
    )
    return Interval(estimate, low, high, used, confidence, n_resamples, seed)


# --- effect size and tests -----------------------------------------------------------------


def _delta(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Cliff's delta through mid-ranks of the pooled sample (vectorized over leading axes):
    with U = #(x > y) + #(x = y) / 2 = R_x - n (n + 1) / 2, delta = 2 U / (n m) - 1. No n x m
    array of pairs: O((n + m) log(n + m)) per sample, which keeps 10,000 resamples of two
    333-run tiers near a second (the pairwise sign form took 8 s)."""
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    y = np.moveaxis(np.asarray(y, dtype=float), axis, -1)
    x, y = np.broadcast_arrays(x[..., :, None], y[..., None, :])  # align leading axes
    x, y = x[..., :, 0], y[..., 0, :]
    n, m = x.shape[-1], y.shape[-1]
    ranks = stats.rankdata(np.concatenate([x, y], axis=-1), axis=-1)
    u = ranks[..., :n].sum(axis=-1) - n * (n + 1) / 2.0
    return 2.0 * u / (n * m) - 1.0


def _counts(idx: np.ndarray, k: int) -> np.ndarray:
    """How often each of k positions occurs in every row of `idx` (rows x k), one bincount."""
    rows = idx.shape[0]
    flat = idx.astype(np.intp) + (np.arange(rows, dtype=np.intp) * k)[:, None]
    return np.bincount(flat.ravel(), minlength=rows * k).reshape(rows, k).astype(float)


def _delta_by_position(x: np.ndarray, y: np.ndarray) -> Callable[..., np.ndarray]:
    """Cliff's delta of resampled *positions* of x and y (what scipy's bootstrap resamples
    when given np.arange(n), np.arange(m)): U = counts_x . S . counts_y with S the n x m
    matrix of pair outcomes (1, 1/2, 0), computed once. A matrix product per batch instead
    of sorting every resample; exact (half-integers), so the interval is the one the ranks
    give. Worth it while n m is small next to the sorts' (n + m) log(n + m)."""
    pair = (np.sign(x[:, None] - y[None, :]) + 1.0) / 2.0

    def statistic(ix: np.ndarray, iy: np.ndarray, axis: int = -1) -> np.ndarray:
        ix = np.moveaxis(np.asarray(ix), axis, -1)
        iy = np.moveaxis(np.asarray(iy), axis, -1)
        lead = np.broadcast_shapes(ix.shape[:-1], iy.shape[:-1])
        ix = np.broadcast_to(ix, (*lead, ix.shape[-1])).reshape(-1, ix.shape[-1])
        iy = np.broadcast_to(iy, (*lead, iy.shape[-1])).reshape(-1, iy.shape[-1])
        u = np.einsum("ri,ri->r", _counts(ix, x.size) @ pair, _counts(iy, y.size))
        return (2.0 * u / (ix.shape[-1] * iy.shape[-1]) - 1.0).reshape(lead)

    return statistic


def cliffs_delta(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cliff's delta = P(a > b) - P(a < b) over all pairs; in [-1, 1], NaN if a or b is empty."""
    x, y = _sample(a, "a"), _sample(b, "b")
    if x.size == 0 or y.size == 0:
        return NAN
    return float(_delta(x, y))


def cliffs_delta_ci(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    method: BootstrapMethod = "BCa",
) -> Interval:
    """Bootstrap interval of Cliff's delta, a and b resampled independently (scipy, seeded).

    NaN ("undefined") when either sample is empty; "degenerate" when neither can vary.
    """
    _check_confidence(confidence)
    x, y = _sample(a, "a"), _sample(b, "b")
    if x.size == 0 or y.size == 0:
        return Interval(NAN, NAN, NAN, "undefined", confidence, 0, seed)
    estimate = float(_delta(x, y))
    if _is_constant(x) and _is_constant(y):
        return Interval(estimate, estimate, estimate, "degenerate", confidence, 0, seed)
    if min(x.size, y.size) < 2:  # scipy cannot resample a one-value sample
        return Interval(estimate, NAN, NAN, "undefined", confidence, 0, seed)
    n, m = x.size, y.size
    by_position = n * m <= 30 * (n + m) * math.log2(n + m)  # see _delta_by_position
    data = (np.arange(n), np.arange(m)) if by_position else (x, y)
    statistic = _delta_by_position(x, y) if by_position else _delta
    # One batch size for both ways: the seeded resamples are drawn batch by batch.
    batch = max(1, 2_000_000 // (n + m))  # bounds the pooled rank arrays
    low, high, used = _scipy_bootstrap(
        data,
        statistic,
        method=method,
        paired=False,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        vectorized=True,
        batch=batch,
    )
    return Interval(estimate, low, high, used, confidence, n_resamples, seed)


def holm(pvalues: Sequence[float] | npt.ArrayLike) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in input order (step-down, monotone, capped at 1).

    scipy offers only BH/BY (false_discovery_control), hence this. NaN p-values stay NaN and
    do not count in the number of tests.
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, NAN)
    valid = ~np.isnan(p)
    m = int(valid.sum())
    if m == 0:
        return out.tolist()
    order = np.argsort(p[valid], kind="stable")
    scaled = (m - np.arange(m)) * p[valid][order]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out[valid] = adjusted
    return out.tolist()


def normality(values: npt.ArrayLike) -> StatResult:
    """Shapiro-Wilk test (scipy); NaN for fewer than 3 values or a constant sample."""
    arr = _sample(values)
    if arr.size < 3 or _is_constant(arr):
        return StatResult("shapiro", NAN, NAN, int(arr.size))
    res = stats.shapiro(arr)
    return StatResult("shapiro", float(res.statistic), float(res.pvalue), int(arr.size))


def _kruskal(samples: dict[str, np.ndarray]) -> StatResult:
    """Kruskal-Wallis over the groups with >= 2 values; NaN when < 2 such groups or no spread."""
    usable = [s for s in samples.values() if s.size >= 2]
    n = int(sum(s.size for s in usable))
    if len(usable) < 2 or _is_constant(np.concatenate(usable)):
        return StatResult("kruskal", NAN, NAN, n)
    res = stats.kruskal(*usable)
    return StatResult("kruskal", float(res.statistic), float(res.pvalue), n)


def _pair_test(x: np.ndarray, y: np.ndarray, paired: bool) -> tuple[str, float, float]:
    if not paired:
        if x.size < 2 or y.size < 2:
            return "mannwhitneyu", NAN, NAN
        res = stats.mannwhitneyu(x, y, alternative="two-sided")
        return "mannwhitneyu", float(res.statistic), float(res.pvalue)
    if x.size < 2 or np.all(x == y):
        return "wilcoxon", NAN, NAN
    res = stats.wilcoxon(x, y, alternative="two-sided")
    return "wilcoxon", float(res.statistic), float(res.pvalue)


def compare_tiers(
    df: pd.DataFrame,
    value: str = "score",
    group: str = "tier",
    pairs: Sequence[tuple[Any, Any]] | None = None,
    *,
    paired_by: str | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> TierComparison:
    """Kruskal-Wallis over all groups, then planned pairwise tests, Holm-adjusted.

    Groups are ordered by their ordered categories, else naturally (T2 before T10); the
    default plan is consecutive groups (T0-T1, T1-T2, ...). Rows whose `value` is missing are
    left out (select the rows to compare first). A group with fewer than 2 values gets NaN
    statistics in every test it is part of (and is left out of Kruskal-Wallis).

    Unpaired (default): two-sided Mann-Whitney U on the runs of each group. Paired
    (`paired_by="subtest"`, or another column naming the unit): values are averaged per unit
    and group, and the units present in both groups are compared by the two-sided Wilcoxon
    signed-rank test (zero differences dropped, scipy's default). Use it only when a unit with
    the same label is the same thing in both groups (the same task or subtest configuration
    run under two tiers or models): in scylla's tier files, subtest "01" of T0 and of T1 are
    different configurations, so tiers are compared unpaired. Kruskal-Wallis, Cliff's delta
    and its interval use the same values as the pairwise test (per-unit means when paired).
    """
    _check_confidence(confidence)
    data = df.loc[df[value].notna()]
    order = _ordered_groups(df[group])
    label = {str(g): g for g in order}
    means = (
        data.groupby([group, paired_by], observed=True)[value].mean().unstack(paired_by)
        if paired_by
        else None
    )

    def sample(g: Any) -> np.ndarray:
        if means is None:
            return data.loc[data[group] == g, value].to_numpy(float)
        return means.loc[g].dropna().to_numpy(float) if g in means.index else np.empty(0)

    def matched(ga: Any, gb: Any) -> tuple[np.ndarray, np.ndarray]:
        if means is None:
            return sample(ga), sample(gb)
        if ga not in means.index or gb not in means.index:
            return np.empty(0), np.empty(0)
        both = means.loc[[ga, gb]].T.dropna()
        return both[ga].to_numpy(float), both[gb].to_numpy(float)

    samples = {name: sample(g) for name, g in label.items()}
    planned = list(itertools.pairwise(order)) if pairs is None else list(pairs)
    rows: list[dict[str, Any]] = []
    for pa, pb in planned:
        a, b = str(pa), str(pb)
        if a not in label or b not in label:
            raise ValueError(f"pair ({a}, {b}) names a group not in column {group!r}")
        x, y = matched(label[a], label[b])
        test, statistic, pvalue = _pair_test(x, y, paired=means is not None)
        if min(x.size, y.size) < 2:
            delta, ci = NAN, Interval(NAN, NAN, NAN, "undefined", confidence, 0, seed)
        else:
            delta, ci = cliffs_delta(x, y), cliffs_delta_ci(x, y, confidence, n_resamples, seed)
        rows.append(
            {
                "a": a,
                "b": b,
                "n_a": int(x.size),
                "n_b": int(y.size),
                "test": test,
                "statistic": statistic,
                "pvalue": pvalue,
                "cliffs_delta": delta,
                "cliffs_delta_ci": ci,
            }
        )
    adjusted = holm([r["pvalue"] for r in rows])
    return TierComparison(
        value=value,
        group=group,
        paired_by=paired_by,
        groups=[GroupSize(name, int(s.size)) for name, s in samples.items()],
        kruskal=_kruskal(samples),
        pairs=[PairComparison(pvalue_holm=p, **r) for r, p in zip(rows, adjusted, strict=True)],
    )


# --- judges --------------------------------------------------------------------------------


def ratings_matrix(
    df: pd.DataFrame,
    judge: str = "slot",
    unit: Sequence[str] = ("tier", "subtest", "run"),
    value: str = "score",
) -> pd.DataFrame:
    """Judges x units table of scores (NaN where a judge gave none) from a long frame.

    Rows with a missing value are left out; two scores of one judge for one unit are an error.
    """
    long = df.loc[df[value].notna(), [judge, *unit, value]]
    return long.pivot(index=judge, columns=list(unit), values=value).astype(float)


def _alpha_defined(matrix: np.ndarray) -> bool:
    rated = ~np.isnan(matrix)
    return bool((rated.sum(axis=0) >= 2).any()) and np.unique(matrix[rated]).size >= 2


def krippendorff_alpha(
    ratings: pd.DataFrame | npt.ArrayLike,
    level: AlphaLevel = "interval",
    value_domain: npt.ArrayLike | None = None,
) -> float:
    """Krippendorff's alpha of a judges x units matrix (NaN = no rating) by `krippendorff`.

    NaN when undefined: no unit rated by two judges, or a single value used throughout (the
    expected disagreement is 0, so alpha is 0/0 even though the judges agree).

    Interval alpha of many distinct scores uses the closed form of `_interval_alpha_of`: the
    package builds a values x values coincidence matrix, 36-97 s for 3 judges x 1,000 runs
    with continuous scores here, where the closed form takes milliseconds. The tests check
    that both agree to 1e-12 (the published example and random data with missing ratings).
    """
    matrix = np.asarray(ratings, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"ratings must be judges x units (2-D), got shape {matrix.shape}")
    if not _alpha_defined(matrix):
        return NAN
    if level == "interval" and value_domain is None and matrix.shape[1] > PACKAGE_MAX_UNITS:
        terms = _interval_alpha_terms(matrix)
        return float(_interval_alpha_of(terms, np.arange(matrix.shape[1])))
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(
            krippendorff.alpha(
                reliability_data=matrix, value_domain=value_domain, level_of_measurement=level
            )
        )


def _interval_alpha_terms(matrix: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per unit (column): its count m of pairable ratings, their sum and sum of squares, and
    its within-unit disagreement sum_{i!=j} (a_i - a_j)^2 / (m - 1); all 0 for a unit with
    fewer than two ratings (it is not pairable, but stays a unit that a resample can draw).
    Interval alpha of any multiset of units is a function of these sums."""
    rated = ~np.isnan(matrix)
    m = rated.sum(axis=0).astype(float)
    pairable = m >= 2
    x = np.where(rated & pairable, matrix, 0.0)
    m = np.where(pairable, m, 0.0)
    s1 = x.sum(axis=0)
    s2 = (x * x).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(pairable, 2.0 * (m * s2 - s1 * s1) / (m - 1.0), 0.0)
    return m, s1, s2, within


def _interval_alpha_of(
    terms: tuple[np.ndarray, ...], units: np.ndarray, axis: int = -1
) -> np.ndarray:
    """Interval alpha = 1 - D_o / D_e of the units `units` (indices, resampled with
    replacement), vectorized over leading axes: sums of squared differences over ordered
    pairs are 2 (n sum x^2 - (sum x)^2), so no pair is ever formed."""
    m, s1, s2, within = (t[units.astype(int)] for t in terms)
    n = m.sum(axis=axis)
    total1, total2 = s1.sum(axis=axis), s2.sum(axis=axis)
    between = 2.0 * (n * total2 - total1 * total1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - (within.sum(axis=axis) / n) / (between / (n * (n - 1.0)))


def krippendorff_alpha_ci(
    ratings: pd.DataFrame | npt.ArrayLike,
    level: AlphaLevel = "interval",
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    method: BootstrapMethod = "BCa",
) -> Interval:
    """Bootstrap interval of Krippendorff's alpha, resampling units (columns) with replacement.

    The estimate is the `krippendorff` package's. Interval alpha of each resample is computed
    from per-unit sums (`_interval_alpha_of`, vectorized: 10,000 resamples of 1,000 runs in
    about a second; the package's own cost grows with the square of the distinct scores, so
    it would take minutes); the tests check that formula against the package. Other levels
    call the package on every resample, keeping the value domain of the full data. This is
    the ordinary nonparametric bootstrap over units, not Krippendorff's own algorithm (which
    resamples pairable values). NaN bounds when alpha is undefined in too many resamples.
    """
    _check_confidence(confidence)
    matrix = np.asarray(ratings, dtype=float)
    estimate = krippendorff_alpha(matrix, level)
    if math.isnan(estimate):
        return Interval(NAN, NAN, NAN, "undefined", confidence, 0, seed)
    if level == "interval":
        terms = _interval_alpha_terms(matrix)

        def alpha_of(units: np.ndarray, axis: int = -1) -> npt.ArrayLike:
            return _interval_alpha_of(terms, units, axis)

        data = np.arange(matrix.shape[1])
        vectorized = True
    else:
        domain = np.unique(matrix[~np.isnan(matrix)])

        def alpha_of(units: np.ndarray, axis: int = -1) -> npt.ArrayLike:
            return krippendorff_alpha(matrix[:, units.astype(int)], level, value_domain=domain)

        data = np.arange(matrix.shape[1])
        vectorized = False
    low, high, used = _scipy_bootstrap(
        (data,),
        alpha_of,
        method=method,
        paired=False,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        vectorized=vectorized,
        batch=1_000,
    )
    return Interval(estimate, low, high, used, confidence, n_resamples, seed)


def _correlation(fn: Callable[..., Any], x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if x.size < 3 or _is_constant(x) or _is_constant(y):
        return NAN, NAN
    res = fn(x, y)
    return float(res.statistic), float(res.pvalue)


def judge_bias(
    df: pd.DataFrame,
    judge: str = "slot",
    unit: Sequence[str] = ("tier", "subtest", "run"),
    value: str = "score",
) -> list[JudgeBias]:
    """Each judge against the consensus of the *other* judges (their mean score per unit).

    The judge is left out of its own consensus: with it in, a judge partly agrees with itself,
    which shrinks its deviation by (m - 1) / m for m judges and inflates its correlations.
    Returns mean(score - consensus) and Spearman and Pearson correlations (scipy); units
    with no other judge's score do not count.
    """
    wide = ratings_matrix(df, judge, unit, value).T  # units x judges
    out: list[JudgeBias] = []
    for j in wide.columns:
        others = wide.drop(columns=j)
        consensus = others.mean(axis=1)
        mask = wide[j].notna() & others.notna().any(axis=1)
        x, y = wide.loc[mask, j].to_numpy(float), consensus[mask].to_numpy(float)
        diff = float(np.mean(x - y)) if x.size else NAN
        s_r, s_p = _correlation(stats.spearmanr, x, y)
        p_r, p_p = _correlation(stats.pearsonr, x, y)
        out.append(JudgeBias(str(j), int(x.size), diff, s_r, s_p, p_r, p_p))
    return out


# --- cost against quality ------------------------------------------------------------------


def pareto_frontier(
    points: pd.DataFrame, cost: str = "cost", quality: str = "pass_rate"
) -> pd.DataFrame:
    """Rows no other row dominates (costs no more and passes no less, better in one), by cost.

    Rows with a missing cost or quality are left out; identical points are all kept.
    """
    pts = points.dropna(subset=[cost, quality])
    c = pts[cost].to_numpy(float)
    q = pts[quality].to_numpy(float)
    no_worse = (c[None, :] <= c[:, None]) & (q[None, :] >= q[:, None])  # [i, j]: j vs i
    better = (c[None, :] < c[:, None]) | (q[None, :] > q[:, None])
    dominated = (no_worse & better).any(axis=1)
    return pts.loc[~dominated].sort_values([cost, quality], ascending=[True, False])
