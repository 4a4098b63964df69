"""The figures of an experiment report: one function per figure, each returning a matplotlib
Figure from the report's tables, and `save` writing it as PNG and SVG.

Every figure reads in grey scale: series differ by marker, hatch and line style, not by
colour alone. A figure whose data is not there yet (a partial experiment, one judge) says so
in its plot area instead of failing. matplotlib is imported only here, with the Agg backend:
building reports needs no display.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from cycler import cycler  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from scylla.layout.paths import FIGURES  # noqa: E402
from scylla.reports.figcache import FORMATS  # noqa: E402

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "///", "...", "xxx", "\\\\\\", "ooo", "---", "+++")
GREYS = ("0.15", "0.45", "0.7", "0.9")
TOKEN_LABELS = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_creation_tokens": "cache write",
    "cache_read_tokens": "cache read",
}

STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.grid": True,
    "grid.color": "0.85",
    "axes.prop_cycle": cycler(color=["0.1", "0.4", "0.6", "0.25", "0.5"]),
    "svg.hashsalt": "scylla",  # stable SVG ids: the same data gives the same bytes
    "svg.fonttype": "none",
}


def draw(make: Callable[[], Figure]) -> Figure:
    """Build a figure under the report style (grey scale, grid, stable SVG ids)."""
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        return make()


def _figure(width: float = 6.4, height: float = 3.6) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _err(frame: pd.DataFrame, col: str) -> np.ndarray:
    """Asymmetric error bars from `<col>`, `<col>_low`, `<col>_high` (NaN bounds: none)."""
    mid = frame[col].astype(float).to_numpy()
    low = frame[f"{col}_low"].astype(float).to_numpy()
    high = frame[f"{col}_high"].astype(float).to_numpy()
    return np.nan_to_num(np.vstack([mid - low, high - mid]).clip(min=0))


def pass_rate(tiers: pd.DataFrame, subtests: pd.DataFrame) -> Figure:
    """Pass rate with its 95 % Wilson interval per tier (bars) and per subtest (points)."""
    fig = Figure(figsize=(7.2, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 2.2], sharey=True)
    if tiers.empty or tiers["counted_runs"].sum() == 0:
        _empty(left, "counted runs")
        _empty(right, "counted runs")
        return fig
    x = np.arange(len(tiers))
    for i, (xi, (_, row)) in enumerate(zip(x, tiers.iterrows(), strict=True)):
        left.bar(xi, row["pass_rate"], color="0.8", edgecolor="0.1", hatch=HATCHES[i % 8])
    left.errorbar(x, tiers["pass_rate"], yerr=_err(tiers, "pass_rate"), fmt="none", ecolor="0")
    left.set_xticks(
        x, [f"{t}\nn={n}" for t, n in zip(tiers["tier"], tiers["counted_runs"], strict=True)]
    )
    left.set_ylim(0, 1.05)
    left.set_ylabel("pass rate (95 % Wilson CI)")
    left.set_title("per tier")
    pos = 0
    ticks, labels = [], []
    for i, (tier, group) in enumerate(subtests.groupby("tier", sort=False)):
        xs = np.arange(pos, pos + len(group))
        right.errorbar(
            xs,
            group["pass_rate"],
            yerr=_err(group, "pass_rate"),
            fmt=MARKERS[i % len(MARKERS)],
            color="0",
            mfc="white" if i % 2 else "0.2",
            capsize=2,
            label=tier,
        )
        ticks += list(xs)
        labels += [f"{tier}/{s}" for s in group["subtest"]]
        pos += len(group) + 1
    right.set_xticks(ticks, labels, rotation=90 if len(ticks) > 8 else 0, fontsize=7)
    right.set_title("per subtest")
    right.legend(loc="lower right", fontsize=7)
    return fig


def score_distribution(runs: pd.DataFrame) -> Figure:
    """Consensus scores of the counted runs per tier: box plot with every run as a point."""
    fig, ax = _figure()
    groups = [(t, g["score"].astype(float).to_numpy()) for t, g in runs.groupby("tier", sort=False)]
    groups = [(t, v) for t, v in groups if len(v)]
    if not groups:
        _empty(ax, "scored runs")
        return fig
    ax.boxplot(
        [v for _, v in groups],
        tick_labels=[f"{t}\nn={len(v)}" for t, v in groups],
        widths=0.5,
        medianprops={"color": "0"},
        flierprops={"marker": ""},
    )
    rng = np.random.default_rng(0)  # a fixed jitter: the figure is reproducible
    for i, (_, v) in enumerate(groups, start=1):
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(v)), v, s=10, c="0.35", marker="o", zorder=3)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("consensus score")
    ax.set_title("score distribution per tier")
    return fig


def cost_frontier(tiers: pd.DataFrame) -> Figure:
    """Mean cost per run against pass rate per tier; the cost-quality frontier joined."""
    fig, ax = _figure()
    data = tiers[tiers["counted_runs"] > 0]
    if data.empty:
        _empty(ax, "counted runs")
        return fig
    for i, (_, row) in enumerate(data.iterrows()):
        ax.scatter(
            row["mean_cost_usd"], row["pass_rate"], marker=MARKERS[i % 8], s=50, c="0.2", zorder=3
        )
        ax.annotate(
            row["tier"],
            (row["mean_cost_usd"], row["pass_rate"]),
            xytext=(5, 4),
            textcoords="offset points",
        )
    front = data[data["on_frontier"]].sort_values("mean_cost_usd")
    ax.plot(front["mean_cost_usd"], front["pass_rate"], ls="--", c="0", lw=1, label="frontier")
    ax.set_xlabel("mean cost per run (USD)")
    ax.set_ylabel("pass rate")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="lower right")
    ax.set_title("cost vs pass rate")
    return fig


def judge_agreement(judges: pd.DataFrame, alpha: float | None) -> Figure:
    """Each judge's score against the mean of the other judges on the same run."""
    fig, ax = _figure(4.8, 4.4)
    valid = judges[judges["is_valid"].fillna(False).astype(bool) & judges["score"].notna()]
    pivot = valid.pivot_table(index=["tier", "subtest", "run"], columns="judge", values="score")
    if pivot.shape[1] < 2 or pivot.dropna(thresh=2).empty:
        _empty(ax, "runs with two valid judgments")
        return fig
    for i, judge in enumerate(pivot.columns):
        others = pivot.drop(columns=judge).mean(axis=1)
        both = pivot[judge].notna() & others.notna()
        ax.scatter(
            others[both],
            pivot[judge][both],
            marker=MARKERS[i % 8],
            s=22,
            facecolors="none" if i % 2 else "0.3",
            edgecolors="0",
            label=str(judge),
        )
    ax.plot([0, 1], [0, 1], ls=":", c="0.4", lw=1)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("mean score of the other judges")
    ax.set_ylabel("judge's score")
    title = "judge agreement"
    if alpha is not None and not math.isnan(alpha):
        title += f" (Krippendorff's alpha {alpha:.2f})"
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def cliffs_delta(comparisons: pd.DataFrame) -> Figure:
    """Forest plot of Cliff's delta with its bootstrap interval for each planned tier pair."""
    fig, ax = _figure(6.4, 1.2 + 0.45 * max(len(comparisons), 1))
    data = comparisons.dropna(subset=["cliffs_delta"])
    if data.empty:
        _empty(ax, "tier pairs with scored runs")
        return fig
    y = np.arange(len(data))[::-1]
    err = np.vstack(
        [
            (data["cliffs_delta"] - data["cliffs_delta_ci_low"]).clip(lower=0).fillna(0),
            (data["cliffs_delta_ci_high"] - data["cliffs_delta"]).clip(lower=0).fillna(0),
        ]
    )
    ax.errorbar(data["cliffs_delta"], y, xerr=err, fmt="s", color="0", capsize=3)
    ax.axvline(0, c="0.4", ls="--", lw=1)
    labels = [
        f"{r.a} vs {r.b}  (p_Holm={r.pvalue_holm:.3g})"
        if not math.isnan(r.pvalue_holm)
        else f"{r.a} vs {r.b}"
        for r in data.itertuples()
    ]
    ax.set_yticks(y, labels)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("Cliff's delta (score of the first tier vs the second), 95 % CI")
    ax.set_title("tier comparisons")
    return fig


def cumulative_spend(ledger: pd.DataFrame) -> Figure:
    """What the experiment has paid over time (every attempt: agents and judges)."""
    fig, ax = _figure()
    known = ledger.dropna(subset=["cost_usd"]) if len(ledger) else ledger
    if known.empty:
        _empty(ax, "paid attempts")
        return fig
    known = known.sort_values("at")
    for i, (kind, group) in enumerate(known.groupby("kind", sort=True)):
        ax.step(
            group["at"],
            group["cost_usd"].cumsum(),
            where="post",
            c="0.2",
            ls=("-", "--", ":")[i % 3],
            label=str(kind),
        )
    ax.step(known["at"], known["cost_usd"].cumsum(), where="post", c="0", lw=2, label="total")
    ax.set_ylabel("cumulative spend (USD)")
    ax.set_title("spend over time")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    return fig


def token_breakdown(runs: pd.DataFrame) -> Figure:
    """Mean tokens per counted run by kind, stacked per tier."""
    fig, ax = _figure()
    if runs.empty:
        _empty(ax, "runs")
        return fig
    means = runs.groupby("tier", sort=False)[list(TOKEN_LABELS)].mean()
    bottom = np.zeros(len(means))
    x = np.arange(len(means))
    for i, (col, label) in enumerate(TOKEN_LABELS.items()):
        ax.bar(
            x,
            means[col],
            bottom=bottom,
            color=GREYS[i % 4],
            edgecolor="0",
            hatch=HATCHES[i % 8],
            label=label,
        )
        bottom += means[col].to_numpy()
    ax.set_xticks(x, list(means.index))
    ax.set_ylabel("mean tokens per run")
    ax.set_title("token breakdown per tier")
    ax.legend(fontsize=7)
    return fig


def save(fig: Figure, base: Path) -> list[Path]:
    """Write `base`.png and `base`.svg, each atomically (never a half-written figure)."""
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        for ext in FORMATS:
            path = base.with_suffix(f".{ext}")
            tmp = path.with_name(f".{path.name}.tmp")
            metadata = {"Date": None} if ext == "svg" else {"Software": None}
            fig.savefig(tmp, format=ext, metadata=metadata)
            os.replace(tmp, path)
            written.append(path)
            # the constrained layout is solved by the first save: the second keeps it
            fig.set_layout_engine("none")
    return written


FUNCTIONS: dict[str, Callable[..., Figure]] = {
    "pass_rate": pass_rate,
    "score_distribution": score_distribution,
    "cost_frontier": cost_frontier,
    "judge_agreement": judge_agreement,
    "cliffs_delta": cliffs_delta,
    "cumulative_spend": cumulative_spend,
    "token_breakdown": token_breakdown,
}
assert set(FUNCTIONS) == set(FIGURES), "one function per figure of paths.FIGURES"


def render(name: str, args: tuple, base: Path) -> None:
    """Draw figure `name` from `args` and save it (module level: a worker process can run it)."""
    save(draw(lambda: FUNCTIONS[name](*args)), base)
