"""Run a CLI in its own process group with a hard timeout (TERM, then KILL of the group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

KILL_GRACE_SECONDS = 5.0


def base_env(**extra: str) -> dict[str, str]:
    """Our environment with this interpreter's bin dir first on PATH (its python, its CLIs)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra)
    return env


@dataclass(frozen=True)
class ProcessResult:
    argv: list[str]
    cwd: str
    exit_code: int
    stdout: str
    stderr: str
    duration_seconds: float
    timed_out: bool


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    argv: Sequence[str],
    cwd: Path | str,
    env: Mapping[str, str],
    timeout: float,
    stdin_text: str | None = None,
    grace: float = KILL_GRACE_SECONDS,
) -> ProcessResult:
    """Run `argv`; stdin is closed unless `stdin_text` is given.

    Raises FileNotFoundError / PermissionError when the executable cannot be started.
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    timed_out = False
    data = stdin_text.encode() if stdin_text is not None else None
    try:
        out, err = proc.communicate(input=data, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc, grace)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            _kill_group(proc, 0)
            proc.wait()
    # Whatever the group left behind (grandchildren) goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return ProcessResult(
        argv=list(argv),
        cwd=str(cwd),
        exit_code=proc.returncode if not timed_out else 124,
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        duration_seconds=round(time.monotonic() - start, 6),
        timed_out=timed_out,
    )
