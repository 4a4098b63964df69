"""Run a CLI under a hard timeout, and leave no process of it behind.

The CLI runs in a session of its own with stdin closed (or fed from a file), stdout and stderr
going to files, not pipes: a descendant that keeps them open cannot hold the call past its
timeout. The call ends when the CLI's own process ends (or the timeout, then TERM and KILL);
whatever it left running is then ended too: every process carrying the call's marker variable
(inherited through `setsid` and double forks), and every orphan re-parented to us (we are a
child subreaper).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scylla.util import procs

KILL_GRACE_SECONDS = 5.0
LEFTOVER_GRACE_SECONDS = 2.0
TIMEOUT_EXIT_CODE = 124


def prepend_path(first: str, path: str) -> str:
    """`first` at the front of a PATH string, and nowhere else in it."""
    rest = [p for p in path.split(os.pathsep) if p and p != first]
    return os.pathsep.join([first, *rest])


def base_env(**extra: str) -> dict[str, str]:
    """Our environment with this interpreter's bin dir first on PATH (its python, its CLIs)."""
    env = dict(os.environ)
    env["PATH"] = prepend_path(str(Path(sys.executable).parent), env.get("PATH", ""))
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
    leftovers: int = 0  # processes it left behind, ended by us


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def end_tree(token: str, proc: subprocess.Popen[bytes] | None, grace: float) -> int:
    """End every process of one call: its marker holders, its group, our re-parented orphans
    (in Snakemake's own process, its children are other jobs: the markers alone find the call's
    leftovers there)."""
    pids = set(procs.with_marker(procs.CALL_VAR, token))
    if proc is not None and proc.poll() is None:
        pids.add(proc.pid)
    if not procs.shared():
        pids |= set(procs.children(os.getpid()))  # orphans re-parented to us
    ended = procs.terminate(pids, grace) if pids else []
    if proc is not None:
        proc.wait()
    return len([p for p in ended if proc is None or p != proc.pid])


def wait(proc: subprocess.Popen[Any], timeout: float) -> int:
    """`proc.wait(timeout)`, woken the moment the process ends. Popen.wait with a timeout
    polls, sleeping up to 50 ms between looks: each call would end ~25 ms late on average.
    On Linux a pidfd becomes readable when the process exits; elsewhere, Popen.wait."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux, or the process is already reaped
        return proc.wait(timeout=timeout)
    try:
        import select

        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if not ready:
        raise subprocess.TimeoutExpired(proc.args, timeout)
    return proc.wait()


def run(
    argv: Sequence[str],
    cwd: Path | str,
    env: Mapping[str, str],
    timeout: float,
    stdin_text: str | None = None,
    grace: float = KILL_GRACE_SECONDS,
    stdout_path: Path | None = None,
    stderr_path: Path | None = None,
) -> ProcessResult:
    """Run `argv` to its end or its timeout; stdin is closed unless `stdin_text` is given.

    stdout/stderr go to the given files (kept) or to temporary ones; both come back as text.
    Raises FileNotFoundError / PermissionError when the executable cannot be started.
    """
    procs.become_subreaper()
    token = os.urandom(16).hex()  # as random as uuid4, without importing uuid (and platform)
    full_env = {**env, procs.CALL_VAR: token}
    with tempfile.TemporaryDirectory(prefix="scylla-call-") as tmp:
        out_path = stdout_path or Path(tmp) / "stdout"
        err_path = stderr_path or Path(tmp) / "stderr"
        for p in (out_path, err_path):
            p.parent.mkdir(parents=True, exist_ok=True)
        stdin: Any = subprocess.DEVNULL
        if stdin_text is not None:
            in_path = Path(tmp) / "stdin"
            in_path.write_text(stdin_text, encoding="utf-8")
            stdin = open(in_path, "rb")  # noqa: SIM115 - closed below
        start = time.monotonic()
        try:
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(
                    list(argv),
                    cwd=cwd,
                    env=full_env,
                    stdin=stdin,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()
        timed_out = False
        try:
            wait(proc, timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        except BaseException:  # interrupted (Ctrl-C, SIGTERM turned into an exception)
            end_tree(token, proc, 0.5)
            raise
        duration = round(time.monotonic() - start, 6)
        leftovers = end_tree(token, proc, grace if timed_out else LEFTOVER_GRACE_SECONDS)
        return ProcessResult(
            argv=list(argv),
            cwd=str(cwd),
            exit_code=TIMEOUT_EXIT_CODE if timed_out else proc.returncode,
            stdout=_read(out_path),
            stderr=_read(err_path),
            duration_seconds=duration,
            timed_out=timed_out,
            leftovers=leftovers,
        )
