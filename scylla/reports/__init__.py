"""Reports at subtest, tier and experiment level (report.json + report.md), the experiment's
CSV tables and its figures, built from the run artifacts alone.

- `frames`: the artifacts as tables (runs, judgments, criteria, paid attempts);
- `stats`: the statistics (intervals, pass@k, tier comparisons, judge agreement, frontier);
- `figures`: one function per figure, PNG and SVG;
- here: what each report counts (DENOMINATORS), the summaries and the files they go to.
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
import os
import re
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scylla.config import Experiment
from scylla.judging.grading import GRADE_ORDER
from scylla.layout import paths
from scylla.layout.paths import FIGURES, TABLES, ExperimentPaths
from scylla.records import TOKEN_KEYS
from scylla.reports import figcache, stats
from scylla.reports.frames import judge_frame, ledger_frame, run_frame
from scylla.util import jsonio

__all__ = [
    "DENOMINATORS",
    "run_frame",
    "scored_runs",
    "summarize",
    "write_all",
    "write_experiment",
    "write_subtest",
    "write_tier",
]

DENOMINATORS = (
    "pass_rate, scores and grades count every finished run: a valid judgment, or an agent "
    "failure (a fail: score 0, grade F). Excluded and counted apart: infrastructure failures "
    "(infra_excluded: retried, not a result), runs whose judgments are all invalid "
    "(invalid_judgments) and runs not finished yet (missing_runs: the report is partial)."
)

# Every bootstrap: the original tool's 10,000 resamples, seed 42 (each interval states its own).
EXPERIMENT_RESAMPLES = stats.DEFAULT_RESAMPLES


def statistics_note() -> dict[str, Any]:
    return {
        "confidence": stats.DEFAULT_CONFIDENCE,
        "seed": stats.DEFAULT_SEED,
        "pass_rate": "Wilson score interval",
        "scores": f"BCa bootstrap, {stats.DEFAULT_RESAMPLES:,} resamples",
        "cost_of_pass": f"percentile bootstrap over runs, {stats.DEFAULT_RESAMPLES:,} resamples",
        "pass_at_k": (
            "unbiased estimator 1 - C(n-c,k)/C(n,k) per subtest; tiers: mean over subtests"
        ),
        "consistency": "1 - sample standard deviation / mean of the scores",
        "tier_comparisons": (
            "Kruskal-Wallis over tiers, then two-sided Mann-Whitney U on consecutive tiers, "
            "Holm-Bonferroni corrected; Cliff's delta with a BCa bootstrap interval "
            f"({EXPERIMENT_RESAMPLES:,} resamples)"
        ),
        "judge_agreement": (
            "Krippendorff's alpha (interval) over valid judgments, bootstrap over runs "
            f"({EXPERIMENT_RESAMPLES:,} resamples); each judge against the mean of the others"
        ),
    }


# -- what is counted ------------------------------------------------------------------------


def _kinds(df: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(present, valid judgment, agent failure, infra failure) of every run of a non-empty
    frame: the masks every denominator is made of."""
    agent_fail = df["agent_failed"].fillna(False).astype(bool) | (df["failure_class"] == "agent")
    valid = df["judge_valid"].fillna(False).astype(bool)
    return df["present"], valid, agent_fail, df["failure_class"] == "infra"


def scored_runs(df: pd.DataFrame) -> pd.DataFrame:
    """The runs every rate counts (see DENOMINATORS), agent failures scored 0 / F / fail."""
    if not len(df):
        return df
    present, valid, agent_fail, infra = _kinds(df)
    keep = present & (valid | agent_fail) & ~infra
    out = df[keep].copy()
    failed = agent_fail[keep] & ~valid[keep]
    out.loc[failed, "score"] = 0.0
    out.loc[failed, "passed"] = False
    out.loc[failed, "grade"] = "F"
    out["score"] = out["score"].astype(float)
    out["passed"] = out["passed"].astype(bool)
    return out


def _num(v: Any) -> Any:
    """JSON has no NaN or infinity: an undefined figure is null."""
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _interval(iv: stats.Interval) -> dict[str, Any]:
    d = {k: _num(v) for k, v in iv.to_dict().items()}
    d.pop("estimate")
    return d


class Intervals:
    """Computes each bootstrap interval a summary asks for (`KeptIntervals` keeps them)."""

    def __call__(
        self, name: str, compute: Callable[..., stats.Interval], *args: Any, **kwargs: Any
    ) -> stats.Interval:
        return compute(*args, **kwargs)


class KeptIntervals(Intervals):
    """The bootstrap intervals of one report (`scope`: "experiment", a tier, or a tier's
    subtest), kept by a digest of their data and of the code computing them
    (reports/figcache): a report rebuilt from unchanged runs draws no resample. Without a
    working directory holding `.snakemake/`, each is computed."""

    def __init__(self, ep: ExperimentPaths, scope: str) -> None:
        from scylla.recovery import snakemeta

        workdir = snakemeta.find_workdir(ep.dir)
        self.cache = figcache.Cache.beside(workdir, ep.dir.name, "intervals")
        self.scope = re.sub(r"[^\w-]", "_", scope)  # no dot: entries are name.digest.json

    def __call__(
        self, name: str, compute: Callable[..., stats.Interval], *args: Any, **kwargs: Any
    ) -> stats.Interval:
        if self.cache is None:
            return compute(*args, **kwargs)
        entry = f"{self.scope}-{name}"
        named = [x for item in sorted(kwargs.items()) for x in item]
        digest = figcache.key(name, (compute, *args, *named), figcache.STATISTICS)
        kept = self.cache.load(entry, digest, "json")
        if kept is not None:
            try:
                return stats.Interval(**json.loads(kept))
            except (ValueError, TypeError):  # damaged: computed again below
                pass
        interval = compute(*args, **kwargs)
        self.cache.keep(entry, digest, "json", json.dumps(interval.to_dict()).encode())
        return interval


def pass_at_k(scored: pd.DataFrame) -> dict[str, float]:
    """pass@k of one subtest (k = 1..runs counted), or the mean over the subtests of a tier
    or experiment for every k all of them reach."""
    curves = [stats.pass_at_k_curve(g["passed"]) for _, g in scored.groupby(["tier", "subtest"])]
    curves = [c for c in curves if c]
    if not curves:
        return {}
    top = min(len(c) for c in curves)
    return {str(k): float(np.mean([c[k] for c in curves])) for k in range(1, top + 1)}


def summarize(df: pd.DataFrame, intervals: Intervals | None = None) -> dict[str, Any]:
    """Pass rate and score statistics, with intervals, over finished runs (agent failures are
    fails; infra failures and runs with only invalid judgments are left out, counted apart).
    `intervals`: where the bootstrap intervals come from (KeptIntervals: kept ones)."""
    ci = intervals or Intervals()
    scored = scored_runs(df)
    grades = scored["grade"].value_counts().to_dict() if len(scored) else {}
    ordered = [g for g in GRADE_ORDER if g in grades]
    n = len(scored)
    if len(df):
        present, valid, agent_fail, infra = _kinds(df)
        counts = {
            "judged_runs": int((present & valid).sum()),
            # judgments all invalid, agent fine: neither a pass nor a fail (the judges failed)
            "invalid_judgments": int((present & ~valid & ~agent_fail & ~infra).sum()),
            "infra_excluded": int((present & infra).sum()),
            "missing_runs": int((~present).sum()),
        }
    else:
        counts = dict.fromkeys(
            ("judged_runs", "invalid_judgments", "infra_excluded", "missing_runs"), 0
        )
    scores = scored["score"].to_numpy(float) if n else np.array([])
    passes = int(scored["passed"].sum()) if n else 0
    mean = float(scores.mean()) if n else 0.0
    total_cost = float(df["cost_usd"].sum()) if len(df) else 0.0
    # cost of a pass: what every finished run cost over the counted passes (runs resampled
    # whole for its interval; a run that is not counted is never a pass)
    paid = df[df["present"]] if len(df) else df
    paid_passed = (
        paid.index.isin(scored.index[scored["passed"]]) if n else np.zeros(len(paid), bool)
    )
    return {
        "total_runs": int(len(df)),
        "runs_present": int(df["present"].sum()) if len(df) else 0,
        "counted_runs": n,  # the denominator of pass_rate and of the score statistics
        "judged_runs": counts["judged_runs"],
        "agent_failed_runs": int(df["agent_failed"].fillna(False).astype(bool).sum())
        if len(df)
        else 0,
        "invalid_judgments": counts["invalid_judgments"],
        "infra_excluded": counts["infra_excluded"],
        "missing_runs": counts["missing_runs"],
        "denominators": DENOMINATORS,
        "passed": passes,
        "pass_rate": passes / n if n else 0.0,
        "pass_rate_ci": _interval(stats.wilson_interval(passes, n)),
        "pass_at_k": pass_at_k(scored) if n else {},
        "mean_score": mean,
        "mean_score_ci": _interval(ci("mean_score", stats.bootstrap_ci, scores, np.mean)),
        "median_score": float(np.median(scores)) if n else 0.0,
        "median_score_ci": _interval(ci("median_score", stats.bootstrap_ci, scores, np.median)),
        "std_dev": float(scores.std(ddof=0)) if n else 0.0,
        "consistency": _num(stats.consistency(scores)) if n else None,
        "total_cost": total_cost,
        # runs whose agent was killed before its final answer: their cost is unknown and left
        # out of total_cost (never counted as 0 in a mean)
        "runs_with_unknown_cost": int(
            (df["present"] & df["cost_usd"].isna()).sum() if len(df) else 0
        ),
        # what was spent on attempts these results replaced (never dropped from the spend)
        "earlier_attempts_cost": float(df["earlier_attempts_cost_usd"].sum()) if len(df) else 0.0,
        "attempts": int(df["attempts"].sum()) if len(df) else 0,
        "mean_cost_per_pass": total_cost / passes if passes else None,
        "cost_of_pass_ci": _interval(
            ci(
                "cost_of_pass",
                stats.cost_of_pass_ci,
                paid["cost_usd"].fillna(0.0).to_numpy(float),
                paid_passed,
            )
        )
        if len(paid)
        else None,
        "grade_distribution": {g: int(grades[g]) for g in ordered},
        "modal_grade": max(ordered, key=lambda g: grades[g]) if ordered else None,
        "min_grade": ordered[-1] if ordered else None,
        "max_grade": ordered[0] if ordered else None,
    }


def summary_row(summary: dict[str, Any]) -> dict[str, Any]:
    """The flat columns of a subtest or tier (tables, and the Markdown tables)."""
    row = {
        "runs": summary["total_runs"],
        "counted_runs": summary["counted_runs"],
        "judged": summary["judged_runs"],
        "passed": summary["passed"],
    }
    for key in ("pass_rate", "mean_score", "median_score"):
        ci = summary[f"{key}_ci"]
        row |= {key: summary[key], f"{key}_low": ci["low"], f"{key}_high": ci["high"]}
    cop = summary.get("cost_of_pass_ci") or {}
    row |= {
        "std_dev": summary["std_dev"],
        "consistency": summary["consistency"],
        "cost_usd": summary["total_cost"],
        "mean_cost_usd": summary["total_cost"] / summary["runs_present"]
        if summary["runs_present"]
        else None,
        "cost_per_pass": summary["mean_cost_per_pass"],
        "cost_per_pass_low": cop.get("low"),
        "cost_per_pass_high": cop.get("high"),
    }
    row |= {f"pass_at_{k}": v for k, v in summary["pass_at_k"].items()}
    return row


# -- Markdown -------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "" if math.isnan(v) else f"{v:.3f}"
    return "" if v is None else str(v)


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "(no rows)\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(map(_fmt, row)) + " |")
    return "\n".join(lines) + "\n"


def _ci(value: Any, low: Any, high: Any) -> str:
    if value is None:
        return ""
    if low is None or high is None or (isinstance(low, float) and math.isnan(low)):
        return _fmt(value)
    return f"{_fmt(value)} [{_fmt(low)}, {_fmt(high)}]"


def _ci_table(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Each `key` with its interval in one column: 0.667 [0.208, 0.939]."""
    out = rows[keys].copy()
    for col in ("pass_rate", "mean_score", "median_score", "cost_per_pass"):
        if col in rows:
            out[col] = [
                _ci(*r)
                for r in zip(rows[col], rows[f"{col}_low"], rows[f"{col}_high"], strict=True)
            ]
    return out


def _summary_md(title: str, summary: dict[str, Any]) -> str:
    skip = {"denominators", "pass_rate_ci", "mean_score_ci", "median_score_ci", "cost_of_pass_ci"}
    rows = []
    for k, v in summary.items():
        if isinstance(v, dict) or v is None or k in skip:
            continue
        ci = summary.get(f"{k}_ci") or (
            summary.get("cost_of_pass_ci") if k == "mean_cost_per_pass" else None
        )
        rows.append({"metric": k, "value": _ci(v, ci["low"], ci["high"]) if ci else _fmt(v)})
    if summary.get("pass_at_k"):
        ks = ", ".join(f"pass@{k} {v:.3f}" for k, v in summary["pass_at_k"].items())
        rows.append({"metric": "pass_at_k", "value": ks})
    note = f"\n*Denominators*: {summary['denominators']}\n" if "denominators" in summary else ""
    note += "*Intervals*: 95 % (pass rate: Wilson; scores: BCa bootstrap; cost per pass: "
    note += "percentile bootstrap over runs).\n"
    return (
        f"# {title}\n\n**Generated**: {_now()}\n\n## Summary\n\n"
        + _md_table(pd.DataFrame(rows))
        + note
    )


# -- subtest and tier reports ---------------------------------------------------------------


def write_subtest(
    ep: ExperimentPaths, exp: Experiment, tier: str, subtest: str, runs: pd.DataFrame | None = None
) -> None:
    # its own runs only: reading the whole tier made every subtest report read every run of it
    df = (
        run_frame(ep, exp, tier, subtest)
        if runs is None
        else _runs_of(_tier_runs(runs, tier), subtest)
    )
    summary = summarize(df, KeptIntervals(ep, f"{tier}-{subtest}"))
    table = df[
        ["run", "score", "passed", "grade", "judge_valid", "cost_usd", "attempts"]
        + ["earlier_attempts_cost_usd"]
    ]
    report = {
        "subtest_id": subtest,
        "tier_id": tier,
        "description": exp.subtest(tier, subtest).get("description", ""),
        "summary": summary,
        "token_stats": _tokens(df),
        "children": [
            {
                "run_number": int(run),
                "score": score,
                "passed": passed,
                "report": f"./{paths.run_name(run)}/{paths.RUN_RESULT}",
            }
            for run, score, passed in df[["run", "score", "passed"]].itertuples(
                index=False, name=None
            )
        ],
        "generated_at": _now(),
    }
    jsonio.write_json(ep.subtest_report(tier, subtest), report)
    md = _summary_md(f"Subtest Report: {tier}/{subtest}", summary) + "\n## Runs\n\n"
    jsonio.write_text(ep.subtest_report(tier, subtest, "md"), md + _md_table(table))


def _tokens(df: pd.DataFrame) -> dict[str, int]:
    return {k: int(df[k].sum()) if len(df) else 0 for k in TOKEN_KEYS}


def _report_summary(rep: dict[str, Any], runs: Callable[[], pd.DataFrame]) -> dict[str, Any]:
    """A subtest or tier report's summary as this release writes it; for a report of an older
    release (no intervals), or none yet, the summary of `runs()` made again."""
    s = rep.get("summary")
    if isinstance(s, dict) and "pass_rate_ci" in s:
        return s
    return summarize(runs())


def _runs_of(df: pd.DataFrame, subtest: str) -> pd.DataFrame:
    return df[df["subtest"] == subtest]


def _tier_runs(runs: pd.DataFrame, tier: str) -> pd.DataFrame:
    return runs[runs["tier"] == tier]


def _subtest_rows(ep: ExperimentPaths, exp: Experiment, tier: str) -> pd.DataFrame:
    """The tier's subtests, from their reports (the tier report's inputs)."""
    rows = []
    for sid in exp.subtests_of(tier):
        rep = jsonio.read_json_object(ep.subtest_report(tier, sid)) or {}
        s = _report_summary(rep, functools.partial(run_frame, ep, exp, tier, sid))
        rows.append({"tier": tier, "subtest": sid, **summary_row(s)})
    return pd.DataFrame(rows)


def write_tier(
    ep: ExperimentPaths, exp: Experiment, tier: str, runs: pd.DataFrame | None = None
) -> None:
    subs = _subtest_rows(ep, exp, tier)
    df = run_frame(ep, exp, tier) if runs is None else runs[runs["tier"] == tier]
    summary = summarize(df, KeptIntervals(ep, tier))
    best = subs.sort_values(["mean_score", "pass_rate"], ascending=False).iloc[0]
    report = {
        "tier_id": tier,
        "summary": summary,
        "best_subtest": {"subtest_id": best["subtest"], "score": float(best["mean_score"])},
        "token_stats": _tokens(df),
        "children": [
            {k: _num(v) for k, v in row.items()} for row in subs.to_dict(orient="records")
        ],
        "generated_at": _now(),
    }
    jsonio.write_json(ep.tier_report(tier), report)
    keys = ["subtest", "runs", "counted_runs", "pass_rate", "mean_score", "cost_usd"]
    md = _summary_md(f"Tier Report: {tier}", summary) + "\n## Subtests\n\n"
    md += _md_table(_ci_table(subs, keys))
    links = "\n".join(f"- [{s}](./{s}/{ep.report_stem}.md)" for s in subs["subtest"])
    jsonio.write_text(ep.tier_report(tier, "md"), md + "\n## Subtest Reports\n\n" + links + "\n")


# -- the experiment -------------------------------------------------------------------------


def _comparisons(scored: pd.DataFrame, tiers: list[str]) -> tuple[dict[str, Any], pd.DataFrame]:
    frame = scored.assign(tier=pd.Categorical(scored["tier"], categories=tiers, ordered=True))
    result = stats.compare_tiers(frame, "score", "tier", n_resamples=EXPERIMENT_RESAMPLES)
    pairs = result.pairs_frame()
    if pairs.empty:
        pairs = pd.DataFrame(columns=["a", "b", "cliffs_delta", "pvalue_holm"])
    pairs.insert(0, "metric", "score")
    kw = {k: _num(v) for k, v in result.kruskal.to_dict().items()}
    return {"kruskal_wallis": kw, "pairs": _records(pairs)}, pairs


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _num(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _agreement(judges: pd.DataFrame, intervals: Intervals) -> dict[str, Any]:
    valid = judges[judges["is_valid"].fillna(False).astype(bool) & judges["score"].notna()]
    if valid.empty:
        return {"krippendorff_alpha": None, "ci": None, "judges": [], "runs": 0}
    valid = valid.assign(score=valid["score"].astype(float))
    matrix = stats.ratings_matrix(valid, judge="judge")
    ci = intervals(
        "judge_agreement", stats.krippendorff_alpha_ci, matrix, n_resamples=EXPERIMENT_RESAMPLES
    )
    return {
        "krippendorff_alpha": _num(ci.estimate),
        "ci": _interval(ci),
        "runs": int(matrix.shape[1]),
        "judges": [
            {k: _num(v) for k, v in b.to_dict().items()}
            for b in stats.judge_bias(valid, judge="judge")
        ],
    }


def write_experiment(
    ep: ExperimentPaths,
    exp: Experiment,
    runs: pd.DataFrame | None = None,
    pool: Executor | None = None,
    early: _Early | None = None,
) -> None:
    runs = run_frame(ep, exp) if runs is None else runs
    early = early or _Early.start(ep, runs, pool)
    scored = early.scored
    tier_rows = []
    for tier in exp.tiers:
        rep = jsonio.read_json_object(ep.tier_report(tier)) or {}
        s = _report_summary(rep, functools.partial(_tier_runs, runs, tier))
        best = (rep.get("best_subtest") or {}).get("subtest_id")
        tier_rows.append({"tier": tier, **summary_row(s), "best_subtest": best})
    tier_df = pd.DataFrame(tier_rows)
    front = stats.pareto_frontier(
        tier_df[tier_df["counted_runs"] > 0], cost="mean_cost_usd", quality="pass_rate"
    )
    tier_df["on_frontier"] = tier_df["tier"].isin(front["tier"])
    sub_df = pd.concat([_subtest_rows(ep, exp, t) for t in exp.tiers], ignore_index=True)
    judges, criteria = judge_frame(ep, exp)
    drawn = early.figures
    drawn.draw("pass_rate", tier_df, sub_df)
    drawn.draw("cost_frontier", tier_df)
    comparisons, pairs = _comparisons(scored, list(exp.tiers))
    drawn.draw("cliffs_delta", pairs)
    agreement = _agreement(judges, early.intervals) if len(judges) else {"krippendorff_alpha": None}
    drawn.draw("judge_agreement", judges, agreement.get("krippendorff_alpha"))
    frames = {
        "runs": runs,
        "judges": judges,
        "criteria": criteria,
        "subtests": sub_df,
        "tiers": tier_df,
        "comparisons": pairs,
    }
    for name in TABLES:
        jsonio.write_text(ep.table(name), frames[name].to_csv(index=False))
    figures = drawn.done()
    summary = early.summary()
    present = int(runs["present"].sum()) if len(runs) else 0
    report = {
        "experiment": exp.name,
        # a report of an experiment that is not finished says so, with the counts
        "partial": present < len(runs),
        "runs": {"configured": int(len(runs)), "with_results": present},
        "spend": spend_section(ep, exp),
        "summary": summary,
        "statistics": statistics_note(),
        "token_stats": _tokens(runs),
        "tiers": _records(tier_df),
        "comparisons": comparisons,
        "judge_agreement": agreement,
        "frontier": list(front["tier"]),
        "tables": {name: str(ep.table(name).relative_to(ep.dir)) for name in TABLES},
        "figures": figures,
        "report_stem": ep.report_stem,
        "generated_at": _now(),
    }
    jsonio.write_json(ep.report(), report)
    jsonio.write_text(ep.report("md"), _experiment_md(exp, report, tier_df, pairs))


def _experiment_md(
    exp: Experiment, report: dict[str, Any], tier_df: pd.DataFrame, pairs: pd.DataFrame
) -> str:
    md = _summary_md(f"Experiment Report: {exp.name}", report["summary"])
    runs = report["runs"]
    if report["partial"]:
        md += f"\n**Partial**: {runs['with_results']} of {runs['configured']} runs have results.\n"
    if report["spend"]["stopped_by_spend_cap"]:
        sp = report["spend"]
        md += f"\n**Stopped by the spend cap**: ${sp['spent_usd']:.2f} of ${sp['cap_usd']:.2f}.\n"
    keys = ["tier", "runs", "counted_runs", "pass_rate", "mean_score", "median_score"]
    keys += ["consistency", "cost_usd", "cost_per_pass", "on_frontier", "best_subtest"]
    md += "\n## Tiers\n\n" + _md_table(_ci_table(tier_df, keys))
    kw = report["comparisons"]["kruskal_wallis"]
    md += "\n## Tier comparisons (scores)\n\n"
    md += f"Kruskal-Wallis: H = {_fmt(kw['statistic'])}, p = {_fmt(kw['pvalue'])}, "
    md += f"n = {kw['n']}.\n\n"
    if len(pairs) and "cliffs_delta_ci_low" in pairs:
        table = pairs[["a", "b", "n_a", "n_b", "pvalue", "pvalue_holm"]].copy()
        table["cliffs_delta"] = [
            _ci(*r)
            for r in zip(
                pairs["cliffs_delta"],
                pairs["cliffs_delta_ci_low"],
                pairs["cliffs_delta_ci_high"],
                strict=True,
            )
        ]
        md += _md_table(table)
    ag = report["judge_agreement"]
    md += "\n## Judge agreement\n\n"
    if ag.get("krippendorff_alpha") is None:
        md += "Undefined: fewer than two valid judgments on any run, or a single score used.\n"
    else:
        ci = ag["ci"]
        alpha = _ci(ag["krippendorff_alpha"], ci["low"], ci["high"])
        md += f"Krippendorff's alpha (interval): {alpha}"
        md += f" over {ag['runs']} runs.\n\n"
        md += _md_table(pd.DataFrame(ag["judges"]))
    md += "\n## Statistics\n\n"
    md += "".join(f"- {k}: {v}\n" for k, v in report["statistics"].items())
    md += "\n## Figures\n\n"
    md += "".join(f"![{name}]({path})\n\n" for name, path in report["figures"].items())
    md += "## Tier Reports\n\n"
    md += "\n".join(f"- [{t}](./{t}/{report['report_stem']}.md)" for t in exp.tiers) + "\n"
    return md


class _Figures:
    """Draws the figures of FIGURES as their data becomes ready: in a worker process when one
    is given (`scylla report`: drawing overlaps the experiment statistics), else here. A
    figure whose data and drawing code are those of a kept one is copied (reports/figcache),
    so a report rebuilt from unchanged data neither draws nor imports matplotlib."""

    def __init__(self, ep: ExperimentPaths, pool: Executor | None) -> None:
        from scylla.recovery import snakemeta

        self.ep, self.pool = ep, pool
        self.cache = figcache.Cache.beside(snakemeta.find_workdir(ep.dir), ep.dir.name)
        self.pending: list[tuple[Any, str, str, Path]] = []

    def draw(self, name: str, *args: Any) -> None:
        base = self.ep.figure(name, "png").with_suffix("")
        digest = figcache.key(name, args)
        if self.cache is not None and self.cache.restore(name, digest, base):
            return
        from scylla.reports import figures

        if self.pool is None:
            figures.render(name, args, base)
            self._keep(name, digest, base)
        else:
            future = self.pool.submit(figures.render, name, args, base)
            self.pending.append((future, name, digest, base))

    def _keep(self, name: str, digest: str, base: Path) -> None:
        if self.cache is not None:
            self.cache.store(name, digest, base)

    def done(self) -> dict[str, str]:
        """Waits for every figure; returns name -> the PNG, relative to the report."""
        for future, name, digest, base in self.pending:
            future.result()
            self._keep(name, digest, base)
        return {n: str(self.ep.figure(n, "png").relative_to(self.ep.dir)) for n in FIGURES}


@dataclass
class _Early:
    """The experiment-level work that needs only the runs, started before the subtest and
    tier reports: in the worker process (when there is one) the experiment's summary and the
    figures of runs alone are made while this process summarizes subtests and tiers."""

    runs: pd.DataFrame
    scored: pd.DataFrame
    figures: _Figures
    intervals: Intervals
    _summary: Any

    @classmethod
    def start(cls, ep: ExperimentPaths, runs: pd.DataFrame, pool: Executor | None) -> _Early:
        scored = scored_runs(runs)
        drawn = _Figures(ep, pool)
        drawn.draw("score_distribution", scored)
        drawn.draw("token_breakdown", scored)
        drawn.draw("cumulative_spend", ledger_frame(ep))
        intervals = KeptIntervals(ep, "experiment")
        summary = pool.submit(summarize, runs, intervals) if pool is not None else None
        return cls(runs, scored, drawn, intervals, summary)

    def summary(self) -> dict[str, Any]:
        if self._summary is not None:
            return self._summary.result()
        return summarize(self.runs, self.intervals)


def spend_section(ep: ExperimentPaths, exp: Experiment) -> dict[str, Any]:
    """Everything paid (replaced and failed attempts included), the cap, whether it stopped
    the experiment, and how many attempts have an unknown cost."""
    from scylla import spend

    s = spend.spent(ep)
    cap = spend.cap_of(exp)
    return {
        "spent_usd": round(s.total, 6),
        "cap_usd": cap,
        "stopped_by_spend_cap": cap is not None and s.total >= cap,
        "attempts_of_unknown_cost": s.unknown,
    }


def write_all(ep: ExperimentPaths, exp: Experiment) -> None:
    """Every report of the experiment from the run artifacts on disk (no job of any kind):
    a partial experiment gets partial reports, labelled so."""
    runs = run_frame(ep, exp)
    if (os.cpu_count() or 1) < 2:
        pool = None
    else:  # a fresh interpreter (never a fork of this one): it imports matplotlib meanwhile
        spawn = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn)
        pool.submit(_import_figures)
    try:
        early = _Early.start(ep, runs, pool)
        for tier, subtest in exp.subtests():
            write_subtest(ep, exp, tier, subtest, runs)
        for tier in exp.tiers:
            write_tier(ep, exp, tier, runs)
        write_experiment(ep, exp, runs, pool, early)
    finally:
        if pool is not None:
            pool.shutdown()


def _import_figures() -> None:
    import scylla.reports.figures  # noqa: F401
