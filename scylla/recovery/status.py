"""Classify every configured run of a results directory by reading its files directly.

Agent: completed | results | outdated | failed | partial | missing
Judge slot: complete | outdated | failed | partial | agent_failed | missing
(semantics in docs/recovery.md; a corrupt or incomplete record counts as absent; Snakemake's
incomplete markers and attempts still running count as partial; `outdated` means the recorded
meaning differs from the configuration's: the next run re-runs it, archiving the old attempt.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scylla import records
from scylla.config import Experiment, meaning
from scylla.config.meaning import Meaning
from scylla.layout import paths
from scylla.layout.paths import ExperimentPaths, JudgePaths
from scylla.recovery import attempts, failures, snakemeta, status_cache
from scylla.util import jsonio, procs

AGENT_STATUSES = ("completed", "results", "outdated", "failed", "partial", "missing")
JUDGE_STATUSES = ("complete", "outdated", "failed", "partial", "agent_failed", "missing")

# agent/ files by the names os.listdir gives (the scan lists agent/ once per run)
_OUTPUT_NAME = paths.AGENT_FILES["output"].rsplit("/", 1)[-1]
_RESULT_NAME = paths.AGENT_RESULT.rsplit("/", 1)[-1]
_ENDED_NAMES = {_OUTPUT_NAME, paths.AGENT_FILES["stderr"].rsplit("/", 1)[-1]}


@dataclass
class RunStatus:
    tier: str
    subtest: str
    run: int
    status: str
    judges: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""
    cost_usd: float = 0.0
    attempts: int = 0  # agent attempts made (the current one included)
    earlier_cost_usd: float = 0.0  # spent on attempts that were replaced (agent and judges)
    rate_limited: int = 0  # agent attempts a rate limit failed (waited inside the job, retried)
    # why it is not a clean result: infra (retried, kept out of the statistics), agent (a
    # fail), judge (no valid judgment); "" when it is one, or still in progress
    failure_class: str = ""
    failure_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: its deep copy is most of a 10,000-run JSON status
        out = dict(self.__dict__)
        out["judges"] = [dict(j) for j in self.judges]
        return out


@dataclass(frozen=True)
class Expected:
    """What the configuration means now, per subtest and per judge slot."""

    agent: dict[tuple[str, str], Meaning]
    judges: dict[str, Meaning]

    @classmethod
    def of(cls, exp: Experiment) -> Expected:
        return cls(
            {(t, s): meaning.agent(exp, t, s) for t, s in exp.subtests()},
            {slot: meaning.judge(exp, slot) for slot in exp.slots},
        )


def _marked(run_dir: str, rels: Iterable[str], incomplete: set[str]) -> bool:
    """Whether Snakemake marked any of these outputs incomplete (free when none is)."""
    return bool(incomplete) and any(
        os.path.abspath(os.path.join(run_dir, r)) in incomplete for r in rels
    )


def _attempt_note(att: attempts.Attempt | None) -> str:
    if att is None:
        return ""
    if att.lease_alive():
        pid = (att.record.get("lease") or {}).get("pid")
        return f"attempt {att.number} is running (pid {pid})"
    if att.state == attempts.FINISHED and not att.retired and att.record.get("promoted_at"):
        return (
            f"attempt {att.number} finished after its scheduler stopped and promoted its "
            "files: `scylla repair` clears the marker (no new agent call)"
        )
    if att.state == attempts.FINISHED and not att.retired:
        return (
            f"attempt {att.number} finished after its scheduler stopped: "
            "the next run adopts it (no new agent call)"
        )
    if att.state == attempts.FAILED:
        return f"attempt {att.number} failed: {att.record.get('error', '')}".strip()
    return f"attempt {att.number} was interrupted"


def _failure_kind(att: attempts.Attempt) -> str:
    """What stopped a failed attempt (earlier releases wrote it over the record's `kind`)."""
    rec = att.record
    old = rec.get("kind")
    return rec.get("failure_kind") or (old if old not in ("agent", "judge", None) else "infra")


def _infra(why: str) -> dict[str, Any]:
    return {"class": (failures.INFRA, why)}


def _agent_status(
    run_dir: str,
    names: set[str],
    incomplete: set[str],
    wanted: Meaning | None,
    live: bool = False,
) -> tuple[str, str, dict]:
    """(status, reason, agent result) of one run's agent. Plain strings: runs 10,000 times.
    `live`: a snakemake is working in this directory (its markers are jobs in progress)."""
    join = os.path.join
    att_dir = join(run_dir, paths.ATTEMPTS_DIR)
    if _marked(run_dir, paths.AGENT_FILES.values(), incomplete):
        if live:
            return "partial", "agent job running (snakemake is working here)", {}
        note = _attempt_note(attempts.current(Path(att_dir)))
        return (
            "partial",
            "agent job interrupted (Snakemake incomplete marker)" + (f"; {note}" if note else ""),
            _infra("interrupted"),
        )
    if not names:
        newest = attempts.current(Path(att_dir)) if os.path.isdir(att_dir) else None
        if newest is None or newest.retired and newest.state != attempts.RUNNING:
            return "missing", "never started", {}
        if newest.state == attempts.FAILED:
            kind = _failure_kind(newest)
            return "missing", _attempt_note(newest), _infra(f"{kind}: {newest.record.get('error')}")
        if newest.lease_alive():
            return "partial", _attempt_note(newest), {}
        return "partial", _attempt_note(newest), _infra(_attempt_note(newest))
    timing = jsonio.read_json(join(run_dir, paths.AGENT_FILES["timing"]))
    ended = records.valid_timing(timing) and records.valid_command_log(
        jsonio.read_json(join(run_dir, paths.AGENT_FILES["command_log"]))
    )
    if not ended or timing is None or not names & _ENDED_NAMES:
        return "partial", "agent/ exists but the agent never finished", {}
    status, reason, mine = _finished_status(run_dir, names, timing)
    why = meaning.changes(Meaning.from_dict(timing.get("meaning")), wanted) if wanted else []
    return ("outdated", ", ".join(why), mine) if why else (status, reason, mine)


def _finished_status(run_dir: str, names: set[str], timing: dict) -> tuple[str, str, dict]:
    """completed | results | failed, for an agent that ran to its end."""
    join = os.path.join
    att_dir = join(run_dir, paths.ATTEMPTS_DIR)
    recorded = timing.get("meaning")
    number = timing.get("attempt")
    number = number if isinstance(number, int) else None
    paid = None  # what the attempt cost, for a run whose agent/result.json is not made yet
    if number is not None and recorded is not None:
        att = attempts.read(Path(att_dir) / str(number))
        if att is not None:
            paid = att.cost_usd
            bad = attempts.damaged(att, paths.RunPaths(Path(run_dir)).agent_copies, False)
            if bad:
                why = f"{', '.join(bad)} damaged: restored from attempt {number} on the next run"
                return "results", why, {"attempt": number, "cost_usd": att.cost_usd}
    result = (
        records.read(join(run_dir, paths.AGENT_RESULT), records.valid_agent_result)
        if _RESULT_NAME in names
        else None
    )
    output = (
        jsonio.read_text(join(run_dir, paths.AGENT_FILES["output"]))
        if _OUTPUT_NAME in names
        else ""
    )
    cls, why = failures.of_agent_result(result or {}, output)
    cost = result.get("cost_usd") if result is not None else paid
    mine = {"cost_usd": cost, "attempt": number, "class": (cls, why)}
    if failures.agent_failed(result or {}, output):
        return "failed", "the agent left no usable output", mine
    if result is None:
        return "results", "agent/result.json missing or corrupt", mine
    run_result = records.read(join(run_dir, paths.RUN_RESULT), records.valid_run_result)
    if run_result is None:
        return "results", "run_result.json missing or corrupt", mine
    if records.read(join(run_dir, paths.CONSENSUS), records.valid_consensus) is None:
        return "results", "judge/result.json missing or corrupt", mine
    if not cls and run_result.get("failure_class") == failures.JUDGE:
        cls, why = failures.JUDGE, str(run_result.get("failure_reason") or "")
    cost = run_result.get("cost_usd", result.get("cost_usd"))
    mine = {"cost_usd": cost, "attempt": number, "class": (cls, why), "with_judges": True}
    return "completed", "", mine


def _judge_status(
    run_dir: str,
    slot: str,
    agent: str,
    incomplete: set[str],
    wanted: Meaning | None,
    live: bool = False,
) -> tuple[str, str, int | None, float]:
    """(status, reason, the judge attempt promoted now, its cost) of one judge slot."""
    st, why, judgment = _judge_state(run_dir, slot, agent, incomplete, wanted)
    if live and why.startswith("judge job interrupted"):
        why = "judge job running (snakemake is working here)"
    number = (judgment or {}).get("attempt")
    cost = (judgment or {}).get("cost_usd")
    cost = float(cost) if isinstance(cost, (int, float)) else 0.0
    return st, why, number if isinstance(number, int) else None, cost


def _judge_state(
    run_dir: str, slot: str, agent: str, incomplete: set[str], wanted: Meaning | None
) -> tuple[str, str, dict | None]:
    slot_dir = os.path.join(run_dir, paths.judge_slot_dir(slot))
    if _marked(slot_dir, paths.JUDGE_FILES.values(), incomplete):
        return "partial", "judge job interrupted (Snakemake incomplete marker)", None
    judgment = records.read(
        os.path.join(slot_dir, paths.JUDGE_FILES["judgment"]), records.valid_judgment
    )
    if agent == "failed":
        return "agent_failed", "the agent left nothing to judge", judgment
    if judgment is not None:
        why = meaning.changes(Meaning.from_dict(judgment.get("meaning")), wanted) if wanted else []
        if why:
            return "outdated", ", ".join(why), judgment
        if judgment.get("status") == "agent_failed":
            return "agent_failed", "the agent left nothing to judge", judgment
        if judgment.get("is_valid"):
            return "complete", "", judgment
        why_invalid = judgment.get("error") or judgment.get("reasoning")
        return "failed", f"invalid judgment: {why_invalid}", judgment
    jp = JudgePaths(Path(slot_dir))
    newest = attempts.current(jp.attempts) if os.path.isdir(jp.attempts) else None
    if newest is not None and newest.lease_alive():
        return "partial", f"judge attempt {newest.number} is running", None
    if newest is not None and newest.state == attempts.FAILED:
        kind = _failure_kind(newest)
        error = newest.record.get("error", "")
        return "missing", f"judge attempt {newest.number} failed: {kind}: {error}", None
    made = any(os.path.exists(os.path.join(slot_dir, n)) for n in paths.JUDGE_FILES.values())
    if not made and newest is None:  # at most an attempts/ directory no call was made in
        return "missing", "", None
    if os.path.exists(os.path.join(slot_dir, paths.JUDGE_FILES["judgment"])):
        if newest is not None and newest.state == attempts.FINISHED and not newest.retired:
            return (
                "failed",
                f"judgment.json corrupt: made good from judge attempt {newest.number} on the "
                "next run (no new call)",
                None,
            )
        return "failed", "judgment.json corrupt (re-derived from the paid answer if intact)", None
    if newest is not None and newest.state == attempts.FINISHED and not newest.retired:
        return (
            "failed",
            f"judgment.json missing: judge attempt {newest.number} is promoted again on the "
            "next run (no new call)",
            None,
        )
    return "failed", "no valid judgment.json", None


def _spend(run_dir: str, current: dict[str, int | None]) -> tuple[int, float, int]:
    """(agent attempts made, cost of every attempt that is not a current one, attempts a rate
    limit failed) of one run.

    `current` names the attempts whose files are promoted now ({"agent": k, slot: j}); their
    cost is in the run's own figures. Everything else that was paid for is "earlier": replaced,
    failed or interrupted attempts, and first-release archives.
    """
    run = Path(run_dir)
    root = run / paths.ATTEMPTS_DIR
    count, earlier, limited = 0, 0.0, 0
    for n in attempts.numbers(root):
        d = root / str(n)
        att = attempts.read(d)
        if att is not None:
            count += 1
            if n != current.get("agent"):
                earlier += att.cost_usd or 0.0
            if att.state == attempts.FAILED and _failure_kind(att) == "rate_limit":
                limited += 1
        elif (d / paths.ARCHIVE_NOTE).is_file():  # a first-release archive
            count += 1
            old = records.read(d / paths.AGENT_RESULT, records.valid_agent_result)
            earlier += float(old["cost_usd"]) if old else 0.0
            for j in d.glob(f"{paths.judge_slot_dir('*')}/{paths.JUDGE_FILES['judgment']}"):
                earlier += float((jsonio.read_json_object(j) or {}).get("cost_usd") or 0.0)
        for _slot, att_dir in _judge_attempt_dirs(d):
            earlier += (attempts.read(att_dir) or attempts.Attempt(d, {})).cost_usd or 0.0
    for slot, att_dir in _judge_attempt_dirs(run):
        att = attempts.read(att_dir)
        if att is not None and att.number != current.get(slot):
            earlier += att.cost_usd or 0.0
    return count, round(earlier, 10), limited


def _judge_attempt_dirs(base: Path) -> list[tuple[str, Path]]:
    """(slot, directory) of every judge attempt under base/judge/judge_NN/attempts/ (what
    a glob would find, with plain listings: this runs for every run of a status)."""
    found: list[tuple[str, Path]] = []
    judge_dir = os.path.join(base, paths.JUDGE_DIR)
    try:
        slots = [n for n in os.listdir(judge_dir) if n.startswith("judge_")]
    except OSError:
        return found
    for name in slots:
        root = os.path.join(judge_dir, name, paths.ATTEMPTS_DIR)
        try:
            entries = os.listdir(root)
        except OSError:
            continue
        for entry in entries:
            if os.path.isfile(os.path.join(root, entry, attempts.RECORD)):
                found.append((name.removeprefix("judge_"), Path(root, entry)))
    return found


def spend_of(run_dir: str | Path) -> tuple[int | None, int, float]:
    """(current agent attempt, agent attempts made, cost of the other attempts) of one run,
    from its files alone (what run_result.json records)."""
    run = Path(run_dir)
    timing = jsonio.read_json_object(run / paths.AGENT_FILES["timing"]) or {}
    number = timing.get("attempt") if isinstance(timing.get("attempt"), int) else None
    current: dict[str, int | None] = {"agent": number}
    for slot_dir in run.glob(f"{paths.JUDGE_DIR}/judge_*"):
        judgment = jsonio.read_json_object(slot_dir / paths.JUDGE_FILES["judgment"]) or {}
        got = judgment.get("attempt")
        current[slot_dir.name.removeprefix("judge_")] = got if isinstance(got, int) else None
    made, earlier, _limited = _spend(str(run), current)
    return number, made, earlier


def classify(
    run_dir: str | Path,
    slots: list[str],
    incomplete: set[str],
    expected_agent: Meaning | None = None,
    expected_judges: dict[str, Meaning] | None = None,
    live: bool = False,
) -> RunStatus:
    """The status of one run (tier, subtest and run left for the caller to fill in)."""
    run_dir = str(run_dir)
    try:
        names = set(os.listdir(os.path.join(run_dir, paths.AGENT_DIR)))
    except OSError:
        names = set()
    status, reason, mine = _agent_status(run_dir, names, incomplete, expected_agent, live)
    current: dict[str, int | None] = {"agent": mine.get("attempt")}
    judges = []
    judged = 0.0
    for s in slots:
        wanted = (expected_judges or {}).get(s)
        st, why, number, paid = _judge_status(run_dir, s, status, incomplete, wanted, live)
        current[s] = number
        judged += paid
        judges.append({"slot": s, "status": st, "reason": why, "class": _slot_class(st, why)})
    made, earlier, limited = _spend(run_dir, current)
    cost = float(mine.get("cost_usd") or 0.0)
    if not mine.get("with_judges"):  # no run_result.json sums it up: the judges' part too
        cost += judged
    cls, why = mine.get("class", ("", ""))
    out = RunStatus("", "", 0, status, judges, reason, cost, made or (1 if names else 0), earlier)
    out.failure_class, out.failure_reason = cls, why
    out.rate_limited = limited
    return out


def _slot_class(status: str, reason: str) -> str:
    if status == "agent_failed":
        return failures.AGENT
    if status == "failed" and reason.startswith("invalid judgment"):
        return failures.JUDGE
    if status == "partial" and "interrupted" in reason:
        return failures.INFRA
    if status == "missing" and " failed: " in reason:
        return failures.INFRA
    return ""


def collect(
    ep: ExperimentPaths,
    exp: Experiment,
    expected: Expected | None = None,
    shares: int | None = None,
) -> list[RunStatus]:
    """Every configured run's status; outdated against `expected` (default: `exp` itself).
    `shares`: processes to spread the work over (default: status_cache.auto_shares)."""
    workdir = snakemeta.find_workdir(ep.dir)
    markers = snakemeta.incomplete_files(workdir)
    incomplete = {os.path.abspath(p) for p in markers}
    live = bool(incomplete) and workdir is not None and bool(procs.snakemake_schedulers(workdir))
    from scylla.recovery import stopping

    stop = stopping.read(workdir) if workdir is not None else None
    expected = expected or Expected.of(exp)
    # Settled runs come from the cache; a run with an output Snakemake marked incomplete (a
    # job running or interrupted there) is classified afresh every time.
    cache = status_cache.StatusCache.load(workdir, ep.dir) if workdir is not None else None
    marked = {_run_of(p) for p in incomplete}
    judges_key = "|".join(f"{s}:{_digest(expected.judges.get(s))}" for s in exp.slots)
    slot_dirs = [paths.judge_slot_dir(s) for s in exp.slots]
    root = str(ep.dir)
    keys = list(exp.run_keys())
    names = [f"{k.tier}/{k.subtest}/{paths.run_name(k.run)}" for k in keys]
    wanted = [expected.agent.get((k.tier, k.subtest)) for k in keys]
    keyed: dict[str, str] = {}  # one string per meaning: marshal stores it once in the cache
    meant = [keyed.setdefault(k, k) for k in (f"{_digest(w)}|{judges_key}" for w in wanted)]
    # a run with an output Snakemake marked incomplete is never served from the cache
    todo: list[tuple[str, str, str]] = []  # (name, run directory, meaning key)
    at: dict[int, int] = {}  # run index -> todo index
    for i, name in enumerate(names):
        run_dir = f"{root}/{name}"
        if cache is not None and not (marked and os.path.abspath(run_dir) in marked):
            at[i] = len(todo)
            todo.append((name, run_dir, meant[i]))
    order = list(at)  # todo index -> run index

    def classify_at(i: int) -> RunStatus:
        return classify(
            f"{root}/{names[i]}", exp.slots, incomplete, wanted[i], expected.judges, live
        )

    hits: dict[int, dict[str, Any]] = {}
    misses: status_cache.Misses = {}
    if cache is not None and todo:
        if shares is None:
            shares = status_cache.auto_shares(len(todo))
        hits, misses = status_cache.lookup(
            cache, todo, slot_dirs, lambda t: classify_at(order[t]).as_dict(), shares
        )
    out = []
    for i, key in enumerate(keys):
        t = at.get(i)
        if t is not None and t in hits:
            rs = RunStatus(**hits[t])
        elif t is not None and cache is not None:  # classified by lookup
            fp, fields = misses[t]
            rs = RunStatus(**fields)
            settled = status_cache.settled(rs.status, [j["status"] for j in rs.judges])
            cache.put(names[i], meant[i], fp, rs.as_dict() if settled else None)
        else:
            rs = classify_at(i)
        rs.tier, rs.subtest, rs.run = key.tier, key.subtest, key.run
        if stop is not None:  # kept from starting by a failure that stopped the experiment
            stopped = f"stopped: {stop.get('kind')}: {stop.get('message')}"
            rs.judges = [dict(j) for j in rs.judges]  # not the cached entry's
            if rs.status == "missing" and not rs.failure_class:
                rs.failure_class, rs.failure_reason = failures.INFRA, stopped
            for j in rs.judges:
                if j["status"] == "missing" and not j["class"] and rs.status != "missing":
                    j["class"], j["reason"] = failures.INFRA, stopped
                    if rs.status == "results" and not rs.failure_class:
                        rs.failure_class, rs.failure_reason = failures.INFRA, stopped
        out.append(rs)
    if cache is not None:
        cache.save()
    return out


_RUN_DIR = re.compile(r"^(.*/run_[0-9]+)(?:/|$)")


def _run_of(path: str) -> str:
    """The run directory (…/run_NN) an absolute output path lies in, else the path."""
    m = _RUN_DIR.match(path)
    return m.group(1) if m else path


def _digest(m: Meaning | None) -> str:
    return m.digest if m is not None else "-"


def select(
    runs: list[RunStatus],
    tiers: list[str] | None = None,
    subtests: list[str] | None = None,
    run_numbers: list[int] | None = None,
    statuses: list[str] | None = None,
    classes: list[str] | None = None,
) -> list[RunStatus]:
    """Filter runs; `statuses` matches the agent status or any judge slot status, `classes`
    the run's failure class or any judge slot's."""
    if not (tiers or subtests or run_numbers or statuses or classes):
        return list(runs)

    def keep(r: RunStatus) -> bool:
        if classes and not (
            r.failure_class in classes or any(j.get("class") in classes for j in r.judges)
        ):
            return False
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
