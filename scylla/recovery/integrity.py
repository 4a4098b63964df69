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
    the current attempt; returns what was put back. The judge slots of one run are concurrent
    jobs that all look: the files are hashed outside any lock (nothing is damaged, usually),
    and a repair happens under the run's attempts lock, after looking again."""
    att = current(rp)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    prompt_files, prompt_sums = _prompt_copies(rp, att)
    if not any(_damaged(rp, att, prompt_files, prompt_sums)):
        return []
    with attempts.locked(rp.attempts):
        agent_bad, prompt_bad = _damaged(rp, att, prompt_files, prompt_sums)
        if not agent_bad and not prompt_bad:
            return []  # another job put them back meanwhile
        # one restore, so one archived.json lists every file set aside
        files = {**rp.agent_copies, **prompt_files}
        keep = archive.quarantine_dir(rp.dir)
        return attempts.restore(att, [*agent_bad, *prompt_bad], files, keep, prompt_sums)


def _prompt_copies(rp: RunPaths, att: attempts.Attempt) -> tuple[dict[str, Path], dict[str, str]]:
    """The judge prompt, diff and checks promoted from the attempt, with the sums its record
    holds for them in its `judge_prompt` entry (they are not among the agent's files)."""
    recorded = (att.record.get("judge_prompt") or {}).get("sha256") or {}
    files, sums = {}, {}
    for role, dest in rp.prompt_copies.items():
        if recorded.get(role):
            files[dest.name], sums[dest.name] = dest, recorded[role]
    return files, sums


def _damaged(
    rp: RunPaths, att: attempts.Attempt, prompt_files: dict[str, Path], sums: dict[str, str]
) -> tuple[list[str], list[str]]:
    """(damaged agent files, damaged prompt files) of the attempt's promoted copies."""
    agent = attempts.damaged(att, rp.agent_copies)
    prompt = [
        rel
        for rel, dest in prompt_files.items()
        if dest.is_file() and attempts.sha256(dest) != sums[rel]
    ]
    return agent, prompt


def heal_slot_files(rp: RunPaths, slot: str) -> list[str]:
    jp = rp.judge_slot(slot)
    att = attempts.current(jp.attempts)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    files = jp.copies
    bad = attempts.damaged(att, files)
    return attempts.restore(att, bad, files, archive.quarantine_dir(rp.dir)) if bad else []
