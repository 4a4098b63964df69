"""Classify every configured run of a results directory by reading its files directly.

Agent: completed | results | failed | partial | missing
Judge slot: complete | missing | failed | partial | agent_failed
(semantics in DESIGN.md; a corrupt JSON file counts as absent; Snakemake's incomplete
markers count as partial.)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scylla import jsonio, paths, snakemeta
from scylla.config import Experiment
from scylla.paths import ExperimentPaths
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
        return asdict(self)


def _marked(run_dir: str, rels: Iterable[str], incomplete: set[str]) -> bool:
    """Whether Snakemake marked any of these outputs incomplete (free when none is)."""
    return bool(incomplete) and any(
        os.path.abspath(os.path.join(run_dir, r)) in incomplete for r in rels
    )


def _agent_status(run_dir: str, names: set[str], incomplete: set[str]) -> tuple[str, str, dict]:
    """(status, reason, {cost_usd}) of one run's agent. Plain strings: this runs 10,000 times."""
    join = os.path.join
    if _marked(run_dir, paths.AGENT_FILES.values(), incomplete):
        return "partial", "agent job interrupted (Snakemake incomplete marker)", {}
    if not names:
        return "missing", "never started", {}
    ended = isinstance(
        jsonio.read_json(join(run_dir, paths.AGENT_FILES["timing"])), dict
    ) and isinstance(jsonio.read_json(join(run_dir, paths.AGENT_FILES["command_log"])), dict)
    if not ended or not names & {"output.txt", "stderr.log"}:
        return "partial", "agent/ exists but the agent never finished", {}
    result = jsonio.read_json(join(run_dir, paths.AGENT_RESULT)) if "result.json" in names else None
    result = result if isinstance(result, dict) else None
    output = (
        jsonio.read_text(join(run_dir, paths.AGENT_FILES["output"]))
        if "output.txt" in names
        else ""
    )
    if agent_failed(result or {}, output):
        return "failed", "the agent left no usable output", result or {}
    if result is None:
        return "results", "agent/result.json missing or corrupt", {}
    run_result = jsonio.read_json(join(run_dir, paths.RUN_RESULT))
    if not isinstance(run_result, dict):
        return "results", "run_result.json missing or corrupt", result
    if not isinstance(jsonio.read_json(join(run_dir, paths.CONSENSUS)), dict):
        return "results", "judge/result.json missing or corrupt", result
    return "completed", "", {"cost_usd": run_result.get("cost_usd", result.get("cost_usd"))}


def _judge_status(run_dir: str, slot: str, agent: str, incomplete: set[str]) -> str:
    slot_dir = os.path.join(run_dir, paths.judge_slot_dir(slot))
    if _marked(slot_dir, paths.JUDGE_FILES.values(), incomplete):
        return "partial"
    if agent == "failed":
        return "agent_failed"
    judgment = jsonio.read_json(os.path.join(slot_dir, paths.JUDGE_FILES["judgment"]))
    if isinstance(judgment, dict):
        if judgment.get("status") == "agent_failed":
            return "agent_failed"
        return "complete" if judgment.get("is_valid") else "failed"
    return "partial" if os.path.isdir(slot_dir) else "missing"


def classify(
    run_dir: str | Path, slots: list[str], incomplete: set[str]
) -> tuple[str, str, list, float]:
    run_dir = str(run_dir)
    try:
        names = set(os.listdir(os.path.join(run_dir, paths.AGENT_DIR)))
    except OSError:
        names = set()
    status, reason, result = _agent_status(run_dir, names, incomplete)
    judges = [{"slot": s, "status": _judge_status(run_dir, s, status, incomplete)} for s in slots]
    return status, reason, judges, float(result.get("cost_usd") or 0.0)


def collect(ep: ExperimentPaths, exp: Experiment) -> list[RunStatus]:
    markers = snakemeta.incomplete_files(snakemeta.find_workdir(ep.dir))
    incomplete = {os.path.abspath(p) for p in markers}
    out = []
    root = str(ep.dir)
    for key in exp.run_keys():
        run_dir = os.path.join(root, key.tier, key.subtest, paths.run_name(key.run))
        status, reason, judges, cost = classify(run_dir, exp.slots, incomplete)
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
