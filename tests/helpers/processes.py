"""Processes of a working directory: finding them, waiting for a condition, killing them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def processes_under(root: Path, needle: str = "") -> list[int]:
    """Live processes whose cwd is inside `root` (and whose command line holds `needle`)."""
    root = root.resolve()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if (cwd == root or root in cwd.parents) and needle in cmd:
            found.append(int(pid))
    return found


def hanging_agents(workdir: Path) -> dict[tuple[str, str, int], int]:
    """{run: pid} of the stand-in agents running in a run workspace below `workdir`."""
    out = {}
    for pid in processes_under(workdir / "results", "claude-standin"):
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        run_dir = cwd.parents[2]  # the workspace is run_NN/attempts/<k>/workspace
        if cwd.name == "workspace" and run_dir.name.startswith("run_"):
            out[(run_dir.parent.parent.name, run_dir.parent.name, int(run_dir.name[4:]))] = pid
    return out


def wait_for(
    what: str,
    predicate: Callable[[], Any],
    timeout: float = 60,
    proc: subprocess.Popen[Any] | None = None,
    interval: float = 0.2,
) -> Any:
    """The first true value of `predicate()`, polled every `interval` s; fails after
    `timeout` s, or as soon as `proc` (the pipeline waited on) has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the pipeline ended (rc {proc.returncode}) before: {what}")
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for: {what}")


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
