"""Promoted files checked against the attempt that made them, and put back when damaged.

A promoted copy (run_NN/agent/*, judge/judge_NN/*) that was emptied, truncated or replaced no
longer matches the size and sha256 its attempt recorded; the attempt's own bytes are put back
(the damaged copy is kept in run_NN/quarantine/). This is free and re-runs nothing downstream:
the restored copy has the attempt's (older) mtime, so nothing below it looks outdated.
"""

from __future__ import annotations

from scylla import archive, attempts
from scylla.paths import RunPaths


def damaged_agent_files(rp: RunPaths) -> list[str]:
    from scylla.agent import agent_files

    att = attempts.newest(rp.attempts)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    return attempts.damaged(att, agent_files(rp))


def heal_agent_files(rp: RunPaths) -> list[str]:
    """Restore damaged promoted agent files from the current attempt; returns what was put back."""
    from scylla.agent import agent_files

    att = attempts.newest(rp.attempts)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    files = agent_files(rp)
    bad = attempts.damaged(att, files)
    return attempts.restore(att, bad, files, archive.quarantine_dir(rp.dir)) if bad else []


def heal_slot_files(rp: RunPaths, slot: str) -> list[str]:
    from scylla.judges.slot import slot_files

    jp = rp.judge_slot(slot)
    att = attempts.newest(jp.attempts)
    if att is None or not att.record.get("promoted_at") or att.retired:
        return []
    files = slot_files(jp)
    bad = attempts.damaged(att, files)
    return attempts.restore(att, bad, files, archive.quarantine_dir(rp.dir)) if bad else []
