"""Keep earlier attempts instead of deleting them.

Agent and judge attempts live in attempts/ folders from the start (attempts.py); what is left
to archive is what belongs to an attempt but sits at run level: its judging (judge/, the judge
prompt, diff, checks, run_result.json), moved into the attempt it judged when the agent runs
again. Runs written by the first release (no attempt records) are archived as it did: their
files move to run_NN/attempts/<k>/ with an archived.json.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from scylla import records
from scylla.layout import paths
from scylla.layout.paths import QUARANTINE, JudgePaths, RunPaths
from scylla.recovery import attempts
from scylla.util import jsonio
from scylla.util.gitutil import git


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _judging(rp: RunPaths) -> list[Path]:
    """What was derived from one agent attempt at run level and exists: agent/result.json,
    the judge prompt, diff, checks, every judge slot's files and attempts, the consensus and
    run_result.json. Files scylla does not know stay where they are."""
    items = [rp.agent_result, rp.judge_prompt, rp.diff, rp.checks, rp.consensus, rp.run_result]
    for slot_dir in sorted(rp.judge_dir.glob("judge_*")):
        jp = JudgePaths(slot_dir)
        items += [*jp.copies.values(), jp.attempts]
    return [p for p in items if p.exists()]


def _next_attempt_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    target = root / str(max(attempts.numbers(root), default=0) + 1)
    target.mkdir()
    return target


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and attempts.sha256(a) == attempts.sha256(b)


def _move(items: list[Path], run_dir: Path, target: Path) -> list[str]:
    """Move each item to the same relative place under `target`. A file already there with
    the same bytes (a staged copy) makes the moved one redundant; anything else that is
    already there is kept and the newcomer goes to target/displaced/."""
    moved = []
    for item in items:
        if not (item.exists() or item.is_symlink()):
            continue
        rel = item.relative_to(run_dir)
        dest = target / rel
        if dest.exists() and _same_file(item, dest):
            item.unlink()
        else:
            if dest.exists():
                dest = target / "displaced" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(item), str(dest))
        moved.append(str(rel))
    return moved


def _note(target: Path, reason: str, moved: list[str]) -> None:
    jsonio.write_json(
        target / paths.ARCHIVE_NOTE, {"archived_at": _now(), "reason": reason, "moved": moved}
    )


def end_live_judges(rp: RunPaths) -> None:
    """Judges still running on an attempt that is being replaced are pointless: end them."""
    if not rp.judge_dir.is_dir():
        return
    for slot_dir in sorted(rp.judge_dir.glob("judge_*")):
        for att in attempts.listing(JudgePaths(slot_dir).attempts):
            pids = att.live_processes()
            if pids:
                from scylla.util import procs

                procs.terminate(pids, grace=2.0)
            if att.state == attempts.RUNNING:
                att.update(state=attempts.INTERRUPTED, error="its agent attempt was replaced")


def archive_judging(rp: RunPaths) -> Path | None:
    """Before a new agent attempt: move the run-level judging of the previous one into it.

    Returns where it went. Runs of the first release get a numbered archive (with their
    worktree); call this before the new attempt takes its number.
    """
    items = _judging(rp)
    legacy_ws = rp.workspace.is_dir() and not rp.workspace.is_symlink()
    if not items and not legacy_ws:
        return None
    end_live_judges(rp)
    owner = attempts.current(rp.attempts)
    if owner is not None and not owner.record.get("promoted_at"):
        owner = next(
            (a for a in reversed(attempts.listing(rp.attempts)) if a.record.get("promoted_at")),
            None,
        )
    if owner is not None:
        _move(items, rp.dir, owner.dir)
        return owner.dir
    target = _next_attempt_dir(rp.attempts)
    moved = _move([*(p for p in rp.agent_dir.glob("*") if p.is_file()), *items], rp.dir, target)
    if legacy_ws:
        _move_worktree(rp.workspace, target / rp.workspace.name)
        moved.append(rp.workspace.name)
    _note(target, "agent re-run (first-release run)", moved)
    return target


def swap_judging(rp: RunPaths, adopted: attempts.Attempt) -> None:
    """Before an earlier agent attempt becomes current again (its meaning came back): the
    current judging goes to its attempt, and the adopted attempt's judge attempts come back,
    so its judges are adopted too instead of being paid for again."""
    archive_judging(rp)
    for src in sorted(adopted.dir.glob(f"{paths.JUDGE_DIR}/judge_*/{paths.ATTEMPTS_DIR}")):
        dest = rp.dir / src.relative_to(adopted.dir)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), str(dest))


def _move_worktree(src: Path, dest: Path) -> None:
    """`git worktree move` keeps an archived worktree a working git checkout."""
    proc_ok = False
    try:
        common = Path(git("rev-parse", "--git-common-dir", cwd=src).strip())
        repo = (src / common).resolve().parent if not common.is_absolute() else common.parent
        git("worktree", "move", str(src.resolve()), str(dest.resolve()), cwd=repo)
        proc_ok = True
    except Exception:  # not a worktree any more, git missing: a plain move keeps the files
        proc_ok = False
    if not proc_ok and src.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(dest))


def archive_run(rp: RunPaths, reason: str) -> Path | None:
    """`scylla rerun agents`: retire the current agent attempt so the DAG runs a new one.

    Its judging moves into its attempt directory and the promoted copies of its agent files
    go (the attempt keeps the originals), so Snakemake sees the agent's outputs missing.
    Returns the attempt directory, or None when there was nothing to archive.
    """
    from scylla.recovery.agent_attempt import current as current_attempt

    current = current_attempt(rp)
    if current is not None and current.record.get("promoted_at"):
        attempts.retire(rp.attempts, current, reason)
        _move(_judging(rp), rp.dir, current.dir)
        attempts.unpromote(current, rp.agent_copies)
        return current.dir
    items = [*(p for p in rp.agent_dir.glob("*") if p.is_file()), *_judging(rp)]
    if not items:
        return None
    target = _next_attempt_dir(rp.attempts)
    moved = _move(items, rp.dir, target)
    if rp.workspace.is_dir() and not rp.workspace.is_symlink():
        _move_worktree(rp.workspace, target / rp.workspace.name)
    _note(target, reason, moved)
    return target


def archive_judge_slot(rp: RunPaths, slot: str, reason: str) -> Path | None:
    """`scylla rerun judges`: retire the slot's current judge attempt (its files stay in its
    attempt directory; the promoted copies go so the DAG re-judges)."""
    jp = rp.judge_slot(slot)
    if not jp.dir.exists():
        return None
    current = attempts.current(jp.attempts)
    if current is not None and current.record.get("promoted_at"):
        attempts.retire(jp.attempts, current, reason)
        attempts.unpromote(current, jp.copies)
        return current.dir
    # a first-release slot: its files move to run_NN/attempts/<k>/judge/judge_NN/
    target = _next_attempt_dir(rp.attempts)
    moved = _move([jp.dir], rp.dir, target)
    _note(target, reason, moved)
    return target


def quarantine(base: Path, files: list[Path], why: str) -> Path | None:
    """Move files (below `base`: a run or an experiment directory) aside into
    `base`/quarantine/<time>/ (never deleted), so the DAG or a step can make them again."""
    files = [f for f in files if f.exists()]
    if not files:
        return None
    target = quarantine_dir(base)
    moved = _move(files, base, target)
    _note(target, why, moved)
    return target


def quarantine_dir(base: Path) -> Path:
    return base / QUARANTINE / datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")


def corrupt_files(rp: RunPaths, slots: list[str]) -> list[Path]:
    """Derived results and judgments that exist but are not valid records."""
    checks = [
        (rp.agent_result, records.valid_agent_result),
        (rp.consensus, records.valid_consensus),
        (rp.run_result, records.valid_run_result),
    ]
    checks += [(rp.judge_slot(s).judgment, records.valid_judgment) for s in slots]
    return [p for p, ok in checks if p.exists() and not ok(jsonio.read_json(p))]
