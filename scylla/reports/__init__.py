"""Reports at subtest, tier and experiment level (report.json + report.md) and CSV tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from scylla import jsonio
from scylla.config import Experiment
from scylla.grading import GRADE_ORDER
from scylla.paths import TABLES, ExperimentPaths

TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


def run_frame(ep: ExperimentPaths, exp: Experiment, tier: str | None = None) -> pd.DataFrame:
    """One row per run (judge-valid or not) of the experiment, or of one tier."""
    rows = []
    for key in exp.run_keys():
        if tier is not None and key.tier != tier:
            continue
        data = jsonio.read_json_object(ep.run(key.tier, key.subtest, key.run).run_result) or {}
        tokens = data.get("token_stats") or {}
        rows.append(
            {
                "experiment": exp.name,
                "tier": key.tier,
                "subtest": key.subtest,
                "run": key.run,
                "present": bool(data),
                "score": data.get("judge_score"),
                "passed": data.get("judge_passed"),
                "grade": data.get("judge_grade"),
                "judge_valid": data.get("judge_valid", False),
                "agent_failed": data.get("agent_failed", False),
                "failure_class": data.get("failure_class") or "",
                "exit_code": data.get("exit_code"),
                "cost_usd": data.get("cost_usd", 0.0),
                "attempts": data.get("attempts", 1 if data else 0),
                "earlier_attempts_cost_usd": data.get("earlier_attempts_cost_usd", 0.0),
                "agent_cost_usd": data.get("agent_cost_usd", 0.0),
                "judge_cost_usd": data.get("judge_cost_usd", 0.0),
                "duration_seconds": data.get("duration_seconds", 0.0),
                "api_calls": data.get("api_calls", 0),
                **{k: tokens.get(k, 0) for k in TOKEN_KEYS},
            }
        )
    return pd.DataFrame(rows)


DENOMINATORS = (
    "pass_rate, scores and grades count every finished run: a valid judgment, or an agent "
    "failure (a fail: score 0, grade F). Excluded and counted apart: infrastructure failures "
    "(infra_excluded: retried, not a result), runs whose judgments are all invalid "
    "(invalid_judgments) and runs not finished yet (missing_runs: the report is partial)."
)


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
    return out


def summarize(df: pd.DataFrame) -> dict[str, Any]:
    """Pass rate and score statistics over finished runs (agent failures are fails; infra
    failures and runs with only invalid judgments are left out and counted apart)."""
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
    mean = float(scored["score"].mean()) if n else 0.0
    std = float(scored["score"].std(ddof=0)) if n else 0.0
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
        "passed": int(scored["passed"].astype(bool).sum()) if n else 0,
        "pass_rate": float(scored["passed"].astype(bool).mean()) if n else 0.0,
        "mean_score": mean,
        "median_score": float(scored["score"].median()) if n else 0.0,
        "std_dev": std,
        "consistency": max(0.0, 1.0 - std / mean) if mean else 0.0,
        "total_cost": float(df["cost_usd"].sum()) if len(df) else 0.0,
        # runs whose agent was killed before its final answer: their cost is unknown and left
        # out of total_cost (never counted as 0 in a mean)
        "runs_with_unknown_cost": int(
            (df["present"] & df["cost_usd"].isna()).sum() if len(df) else 0
        ),
        # what was spent on attempts these results replaced (never dropped from the spend)
        "earlier_attempts_cost": float(df["earlier_attempts_cost_usd"].sum()) if len(df) else 0.0,
        "attempts": int(df["attempts"].sum()) if len(df) else 0,
        "mean_cost_per_pass": float(df["cost_usd"].sum()) / int(scored["passed"].astype(bool).sum())
        if n and scored["passed"].astype(bool).any()
        else None,
        "grade_distribution": {g: int(grades[g]) for g in ordered},
        "modal_grade": max(ordered, key=lambda g: grades[g]) if ordered else None,
        "min_grade": ordered[-1] if ordered else None,
        "max_grade": ordered[0] if ordered else None,
    }


def _tokens(df: pd.DataFrame) -> dict[str, int]:
    return {k: int(df[k].sum()) if len(df) else 0 for k in TOKEN_KEYS}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "(no rows)\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)


def _summary_md(title: str, summary: dict[str, Any]) -> str:
    rows = pd.DataFrame(
        [
            {"metric": k, "value": v}
            for k, v in summary.items()
            if not isinstance(v, dict) and v is not None and k != "denominators"
        ]
    )
    note = f"\n*Denominators*: {summary['denominators']}\n" if "denominators" in summary else ""
    return f"# {title}\n\n**Generated**: {_now()}\n\n## Summary\n\n" + _md_table(rows) + note


def write_subtest(ep: ExperimentPaths, exp: Experiment, tier: str, subtest: str) -> None:
    df = run_frame(ep, exp, tier)
    df = df[df["subtest"] == subtest]
    summary = summarize(df)
    runs = df[
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
                "run_number": int(r["run"]),
                "score": r["score"],
                "passed": r["passed"],
                "report": f"./run_{int(r['run']):02d}/run_result.json",
            }
            for _, r in df.iterrows()
        ],
        "generated_at": _now(),
    }
    jsonio.write_json(ep.subtest_report(tier, subtest), report)
    md = _summary_md(f"Subtest Report: {tier}/{subtest}", summary) + "\n## Runs\n\n"
    jsonio.write_text(ep.subtest_report(tier, subtest, "md"), md + _md_table(runs))


def _subtest_rows(ep: ExperimentPaths, exp: Experiment, tier: str) -> pd.DataFrame:
    rows = []
    for sid in exp.tiers[tier]["subtests"]:
        rep = jsonio.read_json_object(ep.subtest_report(tier, sid)) or {"summary": {}}
        s = rep["summary"]
        rows.append(
            {
                "tier": tier,
                "subtest": sid,
                "runs": s.get("total_runs", 0),
                "judged": s.get("judged_runs", 0),
                "pass_rate": s.get("pass_rate", 0.0),
                "mean_score": s.get("mean_score", 0.0),
                "std_dev": s.get("std_dev", 0.0),
                "cost_usd": s.get("total_cost", 0.0),
            }
        )
    return pd.DataFrame(rows)


def write_tier(ep: ExperimentPaths, exp: Experiment, tier: str) -> None:
    subs = _subtest_rows(ep, exp, tier)
    df = run_frame(ep, exp, tier)
    summary = summarize(df)
    best = subs.sort_values(["mean_score", "pass_rate"], ascending=False).iloc[0]
    report = {
        "tier_id": tier,
        "summary": summary,
        "best_subtest": {"subtest_id": best["subtest"], "score": float(best["mean_score"])},
        "token_stats": _tokens(df),
        "children": subs.to_dict(orient="records"),
        "generated_at": _now(),
    }
    jsonio.write_json(ep.tier_report(tier), report)
    md = _summary_md(f"Tier Report: {tier}", summary) + "\n## Subtests\n\n" + _md_table(subs)
    links = "\n".join(f"- [{s}](./{s}/report.md)" for s in subs["subtest"])
    jsonio.write_text(ep.tier_report(tier, "md"), md + "\n## Subtest Reports\n\n" + links + "\n")


def write_experiment(ep: ExperimentPaths, exp: Experiment) -> None:
    runs = run_frame(ep, exp)
    tiers = []
    for tier in exp.tiers:
        s = summarize(runs[runs["tier"] == tier])
        rep = jsonio.read_json_object(ep.tier_report(tier)) or {}
        tiers.append(
            {
                "tier": tier,
                "runs": s["total_runs"],
                "judged": s["judged_runs"],
                "pass_rate": s["pass_rate"],
                "mean_score": s["mean_score"],
                "std_dev": s["std_dev"],
                "cost_usd": s["total_cost"],
                "cost_per_pass": s["mean_cost_per_pass"],
                "best_subtest": (rep.get("best_subtest") or {}).get("subtest_id"),
            }
        )
    tier_df = pd.DataFrame(tiers)
    sub_df = pd.concat([_subtest_rows(ep, exp, t) for t in exp.tiers], ignore_index=True)
    judges = _judge_frame(ep, exp)
    frames = {"runs": runs, "judges": judges, "subtests": sub_df, "tiers": tier_df}
    for name in TABLES:
        path = ep.table(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        jsonio.write_text(path, frames[name].to_csv(index=False))
    summary = summarize(runs)
    present = int(runs["present"].sum()) if len(runs) else 0
    report = {
        "experiment": exp.name,
        # a report of an experiment that is not finished says so, with the counts
        "partial": present < len(runs),
        "runs": {"configured": int(len(runs)), "with_results": present},
        "spend": spend_section(ep, exp),
        "summary": summary,
        "token_stats": _tokens(runs),
        "tiers": tier_df.to_dict(orient="records"),
        "tables": {name: str(ep.table(name).relative_to(ep.dir)) for name in TABLES},
        "generated_at": _now(),
    }
    jsonio.write_json(ep.report(), report)
    md = _summary_md(f"Experiment Report: {exp.name}", summary)
    if report["partial"]:
        md += f"\n**Partial**: {present} of {len(runs)} runs have results.\n"
    if report["spend"]["stopped_by_spend_cap"]:
        sp = report["spend"]
        md += f"\n**Stopped by the spend cap**: ${sp['spent_usd']:.2f} of ${sp['cap_usd']:.2f}.\n"
    md += "\n## Tiers\n\n"
    md += _md_table(tier_df) + "\n## Tier Reports\n\n"
    md += "\n".join(f"- [{t}](./{t}/report.md)" for t in exp.tiers) + "\n"
    jsonio.write_text(ep.report("md"), md)


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
    for tier, subtest in exp.subtests():
        write_subtest(ep, exp, tier, subtest)
    for tier in exp.tiers:
        write_tier(ep, exp, tier)
    write_experiment(ep, exp)


def _judge_frame(ep: ExperimentPaths, exp: Experiment) -> pd.DataFrame:
    rows = []
    for key in exp.run_keys():
        rp = ep.run(key.tier, key.subtest, key.run)
        for slot in exp.slots:
            j = jsonio.read_json_object(rp.judge_slot(slot).judgment) or {}
            rows.append(
                {
                    "tier": key.tier,
                    "subtest": key.subtest,
                    "run": key.run,
                    "slot": slot,
                    "model": j.get("model"),
                    "status": j.get("status"),
                    "score": j.get("score"),
                    "passed": j.get("passed"),
                    "is_valid": j.get("is_valid"),
                    "cost_usd": j.get("cost_usd", 0.0),
                }
            )
    return pd.DataFrame(rows)
