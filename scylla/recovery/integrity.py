"""Promoted files checked against the attempt that made them, and put back when damaged.

A promoted copy (run_NN/agent/*, judge/judge_NN/*) that was emptied, truncated or replaced no
longer matches the size and sha256 its attempt recorded; the attempt's own bytes are put back
(the damaged copy is kept in run_NN/quarantine/). This is free and re-runs nothing downstream:
the restored copy has the attempt's (older) mtime, so nothing below it looks outdated.
"""

from __future__ import annotations

from pathlib import Path

from scylla.layout.paths import RunPaths
from scylla.recovery import archive, attempts
from scylla.recovery.agent_attempt import current


def heal_agent_files(rp: RunPaths) -> list[str]:
    """Restore damaged promoted files (the agent's, and the judge prompt made from them) from
    the current attempt; returns what was put back. Under the run's attempts lock: the judge
    slots of one run are concurrent jobs that all heal the same files."""
    att = current(rp)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    with attempts.locked(rp.attempts):
        files = rp.agent_copies
        keep = archive.quarantine_dir(rp.dir)
        bad = attempts.damaged(att, files)
        done = attempts.restore(att, bad, files, keep) if bad else []
        return done + _heal_prompt_files(rp, att, keep)


def _heal_prompt_files(rp: RunPaths, att: attempts.Attempt, keep: Path) -> list[str]:
    """The judge prompt, diff and checks promoted from the attempt (their sums are in its
    record's `judge_prompt` entry, not among the agent's files)."""
    made = att.record.get("judge_prompt") or {}
    recorded = made.get("sha256") or {}
    files = {dest.name: dest for role, dest in rp.prompt_copies.items() if recorded.get(role)}
    sums = {
        dest.name: recorded[role] for role, dest in rp.prompt_copies.items() if recorded.get(role)
    }
    bad = [
        rel for rel, dest in files.items() if dest.is_file() and attempts.sha256(dest) != sums[rel]
    ]
    return attempts.restore(att, bad, files, keep, sums) if bad else []


def heal_slot_files(rp: RunPaths, slot: str) -> list[str]:
    jp = rp.judge_slot(slot)
    att = attempts.current(jp.attempts)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    files = jp.copies
    bad = attempts.damaged(att, files)
    return attempts.restore(att, bad, files, archive.quarantine_dir(rp.dir)) if bad else []
