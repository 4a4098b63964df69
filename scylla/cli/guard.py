"""Before a command changes an experiment: is anybody else working on it?

Two kinds of life are checked, both from /proc: a snakemake scheduler working in the same
directory (then nothing may change: every command refuses with one line saying what to do),
and attempts still running without a scheduler (the jobs of a killed snakemake, which keep
running and spending). Those are safe to leave: the next job for the same run waits for them
and adopts their result; `--kill-orphans` ends them instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scylla.layout.paths import ExperimentPaths
from scylla.recovery import attempts, snakemeta
from scylla.util import procs


def schedulers(workdir: Path) -> list[int]:
    return procs.snakemake_schedulers(workdir)


def workdir_of(ep: ExperimentPaths) -> Path:
    return snakemeta.find_workdir(ep.dir) or ep.dir.resolve().parent.parent


def in_use_message(pids: list[int], where: Path | str) -> str:
    pid = pids[0]
    return (
        f"scylla: {where} is in use by snakemake (pid {pid}): wait for it to finish, or stop "
        f"it gracefully with `kill -TERM {pid}` (running jobs finish first), then try again"
    )


def refuse_if_in_use(workdir: Path, where: Path | str) -> None:
    pids = schedulers(workdir)
    if pids:
        raise SystemExit(in_use_message(pids, where))


def lock_message(workdir: Path, where: Iterable[Path | str]) -> str:
    """What to say when snakemake found its lock held."""
    pids = schedulers(workdir)
    if pids:
        return in_use_message(pids, ", ".join(map(str, where)))
    dirs = " ".join(map(str, where))
    return (
        "scylla: the directory was left locked by a snakemake that was killed (none is "
        f"running here now): `scylla repair {dirs}` clears it, then run again"
    )


def orphan_attempts(ep: ExperimentPaths) -> dict[Path, list[int]]:
    """{attempt directory: pids} of attempts under `ep` whose processes still run: the agent
    and judge CLIs (they carry the attempt's marker) and the job steps holding the leases."""
    prefix = str(ep.dir.resolve()) + "/"
    found: dict[Path, list[int]] = {}
    for pid, marker in procs.with_marker(procs.ATTEMPT_VAR, prefix, prefix=True).items():
        found.setdefault(Path(marker), []).append(pid)
    workdir = workdir_of(ep)
    for pid, argv in procs.commands_in(workdir, "scylla.steps").items():
        if "--run-dir" not in argv:
            continue
        run = (workdir / argv[argv.index("--run-dir") + 1]).resolve()
        if not str(run).startswith(prefix):
            continue
        roots = [run / "attempts", *run.glob("judge/judge_*/attempts")]
        for root in roots:
            for att in attempts.listing(root):
                if (att.record.get("lease") or {}).get("pid") == pid and att.state == "running":
                    found.setdefault(att.dir.resolve(), []).append(pid)
    return found


def end_orphans(found: dict[Path, list[int]]) -> int:
    n = 0
    for att_dir, pids in found.items():
        procs.terminate(pids, grace=5.0)
        att = attempts.read(att_dir)
        if att is not None and att.state == attempts.RUNNING:
            att.update(state=attempts.INTERRUPTED, ended_at=attempts.now(), error="--kill-orphans")
        n += len(pids)
    return n


def orphan_note(found: dict[Path, list[int]], ep: ExperimentPaths) -> str:
    return (
        f"scylla: {len(found)} attempt(s) of a stopped scheduler are still running under "
        f"{ep.dir}; their jobs wait for them and adopt their results (no second paid call). "
        f"`scylla repair {ep.dir} --kill-orphans` ends them instead."
    )


def add_kill_orphans(p) -> None:
    p.add_argument(
        "--kill-orphans",
        action="store_true",
        help="end attempts a killed scheduler left running (default: their jobs wait for them "
        "and adopt their results)",
    )


def handle_orphans(ep: ExperimentPaths, kill: bool) -> None:
    """Before a command starts jobs: no SLURM job of a killed scheduler may stay alive here
    (scylla.recovery.cluster: queued ones cancelled, running ones waited for, or cancelled with
    --kill-orphans); then end orphaned local attempts (--kill-orphans) or say that the new
    jobs will wait for them."""
    import sys

    from scylla.recovery import cluster

    cluster.recover(
        workdir_of(ep),
        cancel_running=kill,
        say=lambda line: print(f"scylla: {line}", file=sys.stderr),
    )
    found = orphan_attempts(ep) if ep.dir.is_dir() else {}
    if not found:
        return
    if kill:
        n = end_orphans(found)
        print(f"scylla: ended {n} process(es) of {len(found)} orphaned attempt(s)", file=sys.stderr)
    else:
        print(orphan_note(found, ep), file=sys.stderr)
