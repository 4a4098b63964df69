"""Classify every configured run of a results directory by reading its files directly.

Agent: completed | results | failed | partial | missing
Judge slot: complete | missing | failed | partial | agent_failed
(semantics in DESIGN.md; a corrupt JSON file counts as absent; Snakemake's incomplete
markers count as partial.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scylla import snakemeta
from scylla.config import Experiment
from scylla.paths import ExperimentPaths, RunPaths
from scylla.run_result import agent_failed

AGENT_STATUSES = ("completed", "results", "failed", "partial", "missing")
JUDGE_STATUSES = ("complete", "missing", "failed", "partial", "agent_failed")
NEEDS_WORK = ("results", "failed", "partial", "missing")


@dataclass
class RunStatus:
    tier: str
    subtest: str
    run: int
    status: str
    judges: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "subtest": self.subtest,
            "run": self.run,
            "status": self.status,
            "judges": self.judges,
            "reason": self.reason,
            "cost_usd": self.cost_usd,
        }


def _load(path: Path) -> Any | None:
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError):
        return None


def _nonempty(path: Path) -> bool:
    try:
        return os.stat(path).st_size > 0 and bool(path.read_bytes().strip())
    except OSError:
        return False


def _agent_status(rp: RunPaths, names: set[str], incomplete: set[Path]) -> tuple[str, str, dict]:
    """(status, reason, agent/result.json or {})."""
    agent_outputs = rp.agent_outputs.values()
    if any(p.resolve() in incomplete for p in agent_outputs):
        return "partial", "agent job interrupted (Snakemake incomplete marker)", {}
    if not names:
        return "missing", "never started", {}
    ended = isinstance(_load(rp.agent_timing), dict) and isinstance(
        _load(rp.agent_command_log), dict
    )
    if not ended or not names & {"output.txt", "stderr.log"}:
        return "partial", "agent/ exists but the agent never finished", {}
    result = _load(rp.agent_result) if "result.json" in names else None
    result = result if isinstance(result, dict) else None
    output = rp.agent_output.read_text(errors="replace") if "output.txt" in names else ""
    if agent_failed(result or {}, output):
        return "failed", "the agent left no usable output", result or {}
    if result is None:
        return "results", "agent/result.json missing or corrupt", {}
    run_result = _load(rp.run_result)
    if not isinstance(run_result, dict):
        return "results", "run_result.json missing or corrupt", result
    if not isinstance(_load(rp.consensus), dict):
        return "results", "judge/result.json missing or corrupt", result
    return "completed", "", {"cost_usd": run_result.get("cost_usd", result.get("cost_usd"))}


def _judge_status(rp: RunPaths, slot: str, agent: str, incomplete: set[Path]) -> str:
    jp = rp.judge_slot(slot)
    if any(p.resolve() in incomplete for p in jp.outputs.values()):
        return "partial"
    if agent == "failed":
        return "agent_failed"
    judgment = _load(jp.judgment)
    if isinstance(judgment, dict):
        if judgment.get("status") == "agent_failed":
            return "agent_failed"
        return "complete" if judgment.get("is_valid") else "failed"
    return "partial" if jp.dir.is_dir() else "missing"


def classify(rp: RunPaths, slots: list[str], incomplete: set[Path]) -> tuple[str, str, list, float]:
    try:
        names = set(os.listdir(rp.agent_dir))
    except OSError:
        names = set()
    status, reason, result = _agent_status(rp, names, incomplete)
    judges = [{"slot": s, "status": _judge_status(rp, s, status, incomplete)} for s in slots]
    return status, reason, judges, float(result.get("cost_usd") or 0.0)


def collect(ep: ExperimentPaths, exp: Experiment) -> list[RunStatus]:
    incomplete = snakemeta.incomplete_files(snakemeta.find_workdir(ep.dir))
    out = []
    for key in exp.run_keys():
        rp = ep.run(key.tier, key.subtest, key.run)
        status, reason, judges, cost = classify(rp, exp.slots, incomplete)
        out.append(RunStatus(key.tier, key.subtest, key.run, status, judges, reason, cost))
    return out


def select(
    runs: list[RunStatus],
    tiers: list[str] | None = None,
    subtests: list[str] | None = None,
    run_numbers: list[int] | None = None,
    statuses: list[str] | None = None,
) -> list[RunStatus]:
    """Filter runs; `statuses` matches the agent status or any judge slot status."""

    def keep(r: RunStatus) -> bool:
        if tiers and r.tier not in tiers:
            return False
        if subtests and r.subtest not in subtests:
            return False
        if run_numbers and r.run not in run_numbers:
            return False
        if statuses:
            return r.status in statuses or any(j["status"] in statuses for j in r.judges)
        return True

    return [r for r in runs if keep(r)]


def counts(runs: list[RunStatus]) -> dict[str, dict[str, int]]:
    agent = {s: 0 for s in AGENT_STATUSES}
    judge = {s: 0 for s in JUDGE_STATUSES}
    for r in runs:
        agent[r.status] += 1
        for j in r.judges:
            judge[j["status"]] += 1
    return {"agent": agent, "judge": judge}
