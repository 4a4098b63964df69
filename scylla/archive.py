"""Archive an earlier attempt of a run (or of one judge slot) instead of deleting it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from scylla import jsonio
from scylla.paths import RunPaths


def _next_attempt_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
    target = root / str(max(taken, default=0) + 1)
    target.mkdir()
    return target


def _move(items: list[Path], run_dir: Path, target: Path) -> list[str]:
    moved = []
    for item in items:
        if item.exists():
            dest = target / item.relative_to(run_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(item), str(dest))
            moved.append(str(item.relative_to(run_dir)))
    return moved


def archive_run(rp: RunPaths, reason: str) -> Path | None:
    """Move agent/, judge/, the judge prompt and run_result.json to attempts/<k>/.

    The worktree is left alone: the next agent job recreates it from the task commit.
    Returns the attempt directory, or None when there was nothing to archive.
    """
    items = [rp.agent_dir, rp.judge_dir, rp.judge_prompt, rp.diff, rp.checks, rp.run_result]
    if not any(p.exists() for p in items):
        return None
    target = _next_attempt_dir(rp.attempts)
    moved = _move(items, rp.dir, target)
    jsonio.write_json(
        target / "archived.json",
        {"archived_at": datetime.now(UTC).isoformat(), "reason": reason, "moved": moved},
    )
    return target


def archive_judge_slot(rp: RunPaths, slot: str, reason: str) -> Path | None:
    jp = rp.judge_slot(slot)
    items = [jp.dir, rp.consensus, rp.run_result]
    if not jp.dir.exists():
        return None
    target = _next_attempt_dir(rp.attempts)
    # The consensus and run_result are rebuilt from the slots; keep copies, not moves.
    moved = _move([jp.dir], rp.dir, target)
    for item in items[1:]:
        if item.exists():
            dest = target / item.relative_to(rp.dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, dest)
    jsonio.write_json(
        target / "archived.json",
        {"archived_at": datetime.now(UTC).isoformat(), "reason": reason, "moved": moved},
    )
    return target


def corrupt_files(rp: RunPaths, slots: list[str]) -> list[Path]:
    """Derived results and judgments that exist but do not parse as a JSON object."""
    candidates = [rp.agent_result, rp.consensus, rp.run_result]
    candidates += [rp.judge_slot(s).judgment for s in slots]
    return [p for p in candidates if p.exists() and jsonio.read_json_object(p) is None]


def quarantine_corrupt(rp: RunPaths, slots: list[str]) -> list[str]:
    """Move result files that exist but do not parse to attempts/<k>/ (reason: corrupt).

    A corrupt file that still exists looks finished to Snakemake; once it is moved aside
    the DAG rebuilds it. Only derived results and judgments qualify, never agent logs.
    """
    corrupt = corrupt_files(rp, slots)
    if not corrupt:
        return []
    target = _next_attempt_dir(rp.attempts)
    moved = _move(corrupt, rp.dir, target)
    jsonio.write_json(
        target / "archived.json",
        {"archived_at": datetime.now(UTC).isoformat(), "reason": "corrupt", "moved": moved},
    )
    return moved
