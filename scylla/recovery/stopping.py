"""Stop scheduling new paid jobs after a failure that waiting cannot heal.

The first job that meets one (the agent CLI missing or refusing to run, authentication, the
spend cap) records it in .snakemake/scylla/stop.json with the scheduler it ran under, and asks
that scheduler (its snakemake ancestor process) to stop gracefully: running jobs finish, no
new one starts. Any paid job of the same scheduler that still starts (a retry, a job already
submitted) refuses at once, without a call. A new scheduler is not bound by an old stop.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from signal import SIGTERM
from typing import Any

from scylla.layout import paths
from scylla.util import jsonio, procs

STOP_FILE = paths.STOP_FILE


def scheduler() -> dict[str, int] | None:
    """The snakemake process this job runs under (walking up the parents), or None."""
    pid = os.getppid()
    for _ in range(16):
        if pid <= 1:
            return None
        try:
            words = (procs.PROC / str(pid) / "cmdline").read_bytes().split(b"\0")[:3]
        except OSError:
            return None
        if any(Path(w.decode(errors="replace")).name == "snakemake" for w in words if w):
            ticks = procs.start_ticks(pid)
            return {"pid": pid, "ticks": ticks} if ticks is not None else None
        pid = procs.parent_of(pid) or 0
    return None


def stop(workdir: Path, kind: str, message: str, fix: str, signal: bool = True) -> None:
    """Record why, then ask our scheduler (if `signal`) to stop gracefully (once)."""
    path = Path(workdir) / STOP_FILE
    if read(workdir) is not None:
        return
    mine = scheduler() if signal else None
    jsonio.write_json(
        path,
        {"kind": kind, "message": message, "fix": fix, "scheduler": mine, "pid": os.getpid()},
    )
    if mine is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(mine["pid"], SIGTERM)


def read(workdir: Path) -> dict[str, Any] | None:
    return jsonio.read_json_object(Path(workdir) / STOP_FILE)


def stopped(workdir: Path) -> dict[str, Any] | None:
    """The stop that binds this job: recorded under the scheduler this job runs under."""
    record = read(workdir)
    if record is None:
        return None
    mine = scheduler()
    return record if mine is not None and record.get("scheduler") == mine else None


def clear(workdir: Path) -> dict[str, Any] | None:
    """Forget a recorded stop (a new run starts); returns what it said."""
    record = read(workdir)
    (Path(workdir) / STOP_FILE).unlink(missing_ok=True)
    return record


def line(record: dict[str, Any]) -> str:
    fix = record.get("fix") or ""
    return f"scylla: stopped: {record.get('message')}" + (f" — {fix}" if fix else "")


def reentrant_scheduler_lock() -> None:
    """Let a SIGTERM stop Snakemake gracefully at any moment (call in the Snakemake process,
    before it schedules: rules/common.smk).

    Snakemake (9.27.1) stops gracefully on SIGTERM: its handler takes the job scheduler's
    lock to mark the stop. Python runs a signal handler in the main thread, and the main
    thread holds that lock (a `threading.Lock`) whenever it finishes jobs, so a SIGTERM that
    arrives then waits for a lock its own thread holds, and Snakemake hangs for good, its
    directory locked. scylla sends that SIGTERM: the first Ctrl-C, the death of the `scylla`
    command (PR_SET_PDEATHSIG), a stop() above. The lock becomes an `RLock`: the handler
    re-enters it, marks the stop and returns; every other use is the same. The smallest
    upstream fix is that one line in JobScheduler.__init__ (docs/recovery.md)."""
    import threading

    from scylla.util.scheduling import after_init

    def rlock(scheduler: Any) -> None:
        scheduler._lock = threading.RLock()

    after_init("reentrant_lock", rlock)
