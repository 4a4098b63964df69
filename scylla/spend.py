"""What an experiment has spent, its cap, and what the rest will cost.

Every paid attempt (agent or judge, current, replaced, failed) records its cost in its
attempt.json; the experiment's ledger (results/<experiment>/spend.jsonl, one line per finished
attempt, appended under a lock) makes the sum cheap enough to check before every paid job.
The ledger is rebuilt from the attempt records when it is missing.

The cap (`max_cost_usd`) is checked before a new paid attempt begins: at or past it the job
refuses, and the scheduler stops starting paid jobs (scylla.recovery.stopping). Jobs already running
finish, so the spend can pass the cap by at most what those jobs cost: at most `api_slots`
jobs at a time, each bounded by `agent.max_cost_usd_per_run` when that is set.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scylla.layout import paths
from scylla.layout.paths import ExperimentPaths
from scylla.recovery import attempts
from scylla.util import jsonio

LEDGER = paths.SPEND_LEDGER
LOCK = paths.SPEND_LOCK


def ledger_path(ep: ExperimentPaths) -> Path:
    return ep.dir / LEDGER


def _attempt_records(ep: ExperimentPaths) -> Iterable[attempts.Attempt]:
    patterns = (
        f"{paths.TIER_PATTERN}/*/run_*/{paths.ATTEMPTS_DIR}/*/{attempts.RECORD}",
        f"{paths.TIER_PATTERN}/*/run_*/{paths.JUDGE_DIR}/judge_*/{paths.ATTEMPTS_DIR}/*/{attempts.RECORD}",
        f"{paths.TIER_PATTERN}/*/run_*/{paths.ATTEMPTS_DIR}/*/{paths.JUDGE_DIR}/judge_*/"
        f"{paths.ATTEMPTS_DIR}/*/{attempts.RECORD}",
    )
    for pattern in patterns:
        for rec in ep.dir.glob(pattern):
            att = attempts.read(rec.parent)
            if att is not None and att.record.get("kind"):
                yield att


def _entry(ep: ExperimentPaths, att: attempts.Attempt) -> dict:
    where = str(att.dir.resolve().relative_to(ep.dir.resolve()))
    return {
        # attempts move (judging is archived into its agent attempt): the token stays
        "key": att.record.get("token") or where,
        "attempt": where,
        "kind": att.record.get("kind"),
        "cost_usd": att.cost_usd,
        "at": att.record.get("ended_at") or attempts.now(),
    }


def _originals(ep: ExperimentPaths) -> Iterable[dict]:
    """Agent runs made before scylla (an adopted directory: no attempt record, only the
    original tool's agent/result.json): what each cost is in that file."""
    pattern = f"{paths.TIER_PATTERN}/*/run_*/{paths.AGENT_RESULT}"
    for result in sorted(ep.dir.glob(pattern)):
        run = result.parent.parent
        if (run / paths.ATTEMPTS_DIR).is_dir():
            continue
        data = jsonio.read_json_object(result) or {}
        cost = data.get("cost_usd")
        timing = jsonio.read_json_object(run / paths.AGENT_FILES["timing"]) or {}
        where = str(run.relative_to(ep.dir))
        yield {
            "key": f"original:{where}",
            "attempt": where,
            "kind": "agent",
            "cost_usd": cost if isinstance(cost, int | float) else None,
            "at": timing.get("measured_at") or attempts.now(),
        }


def _built(ep: ExperimentPaths) -> str:
    """The ledger as the records on disk tell it: every finished or failed attempt, and the
    agent runs made before scylla."""
    made = [
        _entry(ep, att)
        for att in _attempt_records(ep)
        if att.state in (attempts.FINISHED, attempts.FAILED)
    ]
    return "".join(json.dumps(e) + "\n" for e in [*made, *_originals(ep)])


def record(ep: ExperimentPaths, att: attempts.Attempt) -> None:
    """Add a finished attempt's cost to the ledger (None: unknown, counted as such)."""
    line = _entry(ep, att)
    path = ledger_path(ep)
    if _ensure(ep):
        return  # the new ledger was built from the attempt records, this one's included
    with open(path, "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json.dumps(line) + "\n")


def _ensure(ep: ExperimentPaths) -> bool:
    """Build the ledger from the attempt records when there is none (True: built now)."""
    path = ledger_path(ep)
    if path.exists():
        return False
    ep.dir.mkdir(parents=True, exist_ok=True)
    with open(ep.dir / LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return False
        jsonio.write_text(path, _built(ep))
        return True


@dataclass
class Spent:
    total: float = 0.0
    unknown: int = 0  # attempts whose cost is not known (a killed CLI left no answer)
    agent_costs: dict[str, list[float]] = field(default_factory=dict)  # per tier
    judge_costs: list[float] = field(default_factory=list)


def entries(ep: ExperimentPaths, write: bool = True) -> list[dict]:
    """Every paid attempt once (the ledger's last line for it): attempt, kind, cost_usd (None:
    unknown), at. Without a ledger it is read from the attempt records (and written, unless
    `write` is False)."""
    if write:
        _ensure(ep)
    text = jsonio.read_text(ledger_path(ep)) if ledger_path(ep).exists() else _built(ep)
    latest: dict[str, dict] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and "attempt" in entry:
            latest[str(entry.get("key") or entry["attempt"])] = entry
    return list(latest.values())


def spent(ep: ExperimentPaths, write: bool = True) -> Spent:
    """Everything paid so far, from the ledger (see `entries`)."""
    out = Spent()
    for entry in entries(ep, write):
        name = str(entry["attempt"])
        cost = entry.get("cost_usd")
        if not isinstance(cost, int | float):
            out.unknown += 1
            continue
        out.total += float(cost)
        if entry.get("kind") == "agent":
            out.agent_costs.setdefault(name.split("/", 1)[0], []).append(float(cost))
        elif entry.get("kind") == "judge":
            out.judge_costs.append(float(cost))
    return out


def cap_of(exp) -> float | None:
    cap = exp.max_cost_usd
    return float(cap) if isinstance(cap, int | float) else None


def over_cap(ep: ExperimentPaths, exp) -> str | None:
    """Why no new paid attempt may begin (None: it may)."""
    cap = cap_of(exp)
    if cap is None:
        return None
    total = spent(ep).total
    if total >= cap:
        return f"the experiment has spent ${total:.2f} of its ${cap:.2f} spend cap"
    return None


def refuse_over_cap(ep: ExperimentPaths, exp) -> None:
    """Before a new paid attempt: at or past the cap, refuse (fatal: the scheduler stops)."""
    why = over_cap(ep, exp)
    if why is not None:
        from scylla.agents.base import InfraError

        raise InfraError("spend_cap", why)


@dataclass(frozen=True)
class Forecast:
    agent_runs: int
    judge_calls: int
    usd: float | None
    basis: int  # finished agent attempts the means come from

    def line(self) -> str:
        what = f"{self.agent_runs} agent run(s), {self.judge_calls} judge call(s)"
        if self.usd is None:
            return f"{what}: no cost forecast yet (no finished run to base it on)"
        return f"{what} ≈ ${self.usd:.2f} (based on {self.basis} finished run(s))"


def forecast(
    ep: ExperimentPaths, agent_runs: dict[str, int], judge_calls: int, write: bool = False
) -> Forecast:
    """The cost of `agent_runs` ({tier: runs}) and `judge_calls`: the mean agent cost per run
    of each tier where the tier has finished runs (experiment-wide otherwise) and the mean
    cost of a judge call so far."""
    import statistics  # here: most commands and every step never forecast

    s = spent(ep, write=write)
    every = [c for costs in s.agent_costs.values() for c in costs]
    if not every and agent_runs:
        return Forecast(sum(agent_runs.values()), judge_calls, None, 0)
    total = 0.0
    for tier, n in agent_runs.items():
        costs = s.agent_costs.get(tier) or every
        total += n * statistics.fmean(costs) if costs else 0.0
    if judge_calls:
        total += judge_calls * (statistics.fmean(s.judge_costs) if s.judge_costs else 0.0)
    return Forecast(sum(agent_runs.values()), judge_calls, total, len(every))


def work_left(runs) -> tuple[dict[str, int], int]:
    """({tier: agent runs}, judge calls) that the next `scylla run` does, from statuses."""
    agents: dict[str, int] = {}
    judges = 0
    for r in runs:
        if r.status in ("missing", "partial", "outdated"):
            agents[r.tier] = agents.get(r.tier, 0) + 1
            judges += len(r.judges)
            continue
        judges += sum(j["status"] in ("missing", "partial", "outdated") for j in r.judges)
    return agents, judges


def summary_lines(ep: ExperimentPaths, exp, runs, stop: dict | None = None) -> list[str]:
    """The cap and the forecast, for `scylla status`."""
    out = []
    s = spent(ep, write=False)
    cap = cap_of(exp)
    if cap is not None:
        line = f"cap:    ${s.total:.2f} of ${cap:.2f} spent"
        if (stop or {}).get("kind") == "spend_cap" or s.total >= cap:
            line += " — stopped by the spend cap (raise max_cost_usd or --max-cost to go on)"
        out.append(line)
    if s.unknown:
        out.append(
            f"        {s.unknown} attempt(s) of unknown cost "
            "(no final answer to read it from: killed, refused or crashed)"
        )
    agents, judges = work_left(runs)
    if agents or judges:
        out.append("left:   " + forecast(ep, agents, judges).line())
    return out
