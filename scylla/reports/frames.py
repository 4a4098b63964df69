"""The experiment's run artifacts as tables (pandas): one row per run, per judgment, per
judged criterion, per paid attempt. Reports, statistics and figures are built from these only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from scylla import spend
from scylla.config import Experiment
from scylla.layout.paths import ExperimentPaths
from scylla.records import TOKEN_KEYS
from scylla.util import jsonio


def _judged_by_original(data: dict) -> bool:
    """The original tool's run_result.json has no judge_valid: its judges[] say, where they
    carry is_valid, else a judge score counts as a valid judgment (as the original counted)."""
    judges = [j for j in data.get("judges") or [] if isinstance(j, dict)]
    scored = isinstance(data.get("judge_score"), int | float)
    return scored and all(j.get("is_valid", True) for j in judges)


def run_frame(
    ep: ExperimentPaths, exp: Experiment, tier: str | None = None, subtest: str | None = None
) -> pd.DataFrame:
    """One row per configured run (finished or not) of the experiment, of one tier, or of one
    subtest of that tier."""
    rows = []
    for key in exp.run_keys():
        if (tier is not None and key.tier != tier) or (
            subtest is not None and key.subtest != subtest
        ):
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
                "judge_valid": data.get("judge_valid", _judged_by_original(data)),
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


def _judgments(ep: ExperimentPaths, exp: Experiment):
    for key in exp.run_keys():
        rp = ep.run(key.tier, key.subtest, key.run)
        for slot in exp.slots:
            yield key, slot, jsonio.read_json_object(rp.judge_slot(slot).judgment) or {}


def judge_frame(ep: ExperimentPaths, exp: Experiment) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per judgment slot of every run, one row per criterion a judge scored)."""
    rows: list[dict[str, Any]] = []
    criteria: list[dict[str, Any]] = []
    for key, slot, j in _judgments(ep, exp):
        where = {"tier": key.tier, "subtest": key.subtest, "run": key.run, "slot": slot}
        model = j.get("model") or exp.judge_spec(slot).model
        rows.append(
            {
                **where,
                "judge": f"{slot}:{model}",
                "model": model,
                "status": j.get("status"),
                "score": j.get("score"),
                "passed": j.get("passed"),
                "grade": j.get("grade"),
                "is_valid": j.get("is_valid"),
                "cost_usd": j.get("cost_usd", 0.0),
            }
        )
        scores = j.get("criteria_scores")
        if not j.get("is_valid") or not isinstance(scores, dict):
            continue
        for name, c in scores.items():
            if isinstance(c, dict):
                criteria.append(
                    {
                        **where,
                        "model": model,
                        "criterion": name,
                        "score": c.get("score"),
                        "achieved": c.get("achieved"),
                        "max": c.get("max"),
                    }
                )
    columns = ["tier", "subtest", "run", "slot", "model", "criterion", "score", "achieved", "max"]
    return pd.DataFrame(rows), pd.DataFrame(criteria, columns=columns)


def ledger_frame(ep: ExperimentPaths) -> pd.DataFrame:
    """Every paid attempt (agent or judge): when it ended, its kind and cost (NaN: unknown)."""
    entries = spend.entries(ep, write=False)
    frame = pd.DataFrame(entries, columns=["attempt", "kind", "cost_usd", "at"])
    frame["cost_usd"] = pd.to_numeric(frame["cost_usd"], errors="coerce")
    frame["at"] = pd.to_datetime(frame["at"], errors="coerce", utc=True, format="ISO8601")
    return frame.dropna(subset=["at"])
