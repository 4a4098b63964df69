"""Promoted files checked against the attempt that made them, and put back when damaged.

A promoted copy (run_NN/agent/*, judge/judge_NN/*) that was emptied, truncated or replaced no
longer matches the size and sha256 its attempt recorded; the attempt's own bytes are put back
(the damaged copy is kept in run_NN/quarantine/). This is free and re-runs nothing downstream:
the restored copy has the attempt's (older) mtime, so nothing below it looks outdated.
"""

from __future__ import annotations

from scylla.layout.paths import RunPaths
from scylla.recovery import archive, attempts


def heal_agent_files(rp: RunPaths) -> list[str]:
    """Restore damaged promoted files (the agent's, and the judge prompt made from them) from
    the current attempt; returns what was put back."""
    from scylla.steps.agent import agent_files, current

    att = current(rp)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    files = agent_files(rp)
    bad = attempts.damaged(att, files)
    done = attempts.restore(att, bad, files, archive.quarantine_dir(rp.dir)) if bad else []
    return done + heal_prompt_files(rp, att)


def heal_prompt_files(rp: RunPaths, att: attempts.Attempt) -> list[str]:
    from scylla.steps.judge_prompt import prompt_files

    made = att.record.get("judge_prompt") or {}
    sums = made.get("sha256") or {}
    out = []
    for role, dest in prompt_files(rp).items():
        staged = att.path(dest.name)
        want = sums.get(role)
        if not want or not dest.exists() or not staged.is_file():
            continue
        if attempts.sha256(dest) != want and attempts.sha256(staged) == want:
            archive.quarantine(rp.dir, [dest], f"damaged {dest.name}")
            attempts.copy_atomic(staged, dest)
            out.append(dest.name)
    return out


def heal_slot_files(rp: RunPaths, slot: str) -> list[str]:
    from scylla.steps.judge_slot import slot_files

    jp = rp.judge_slot(slot)
    att = attempts.current(jp.attempts)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    files = slot_files(jp)
    bad = attempts.damaged(att, files)
    return attempts.restore(att, bad, files, archive.quarantine_dir(rp.dir)) if bad else []
