"""Live processes, read from /proc: who is alive, who carries a marker, who runs snakemake.

Every agent, judge and check process scylla starts carries marker variables in its
environment (inherited by whatever it spawns, `setsid` and double forks included), so the
whole tree of one call or one attempt can be found and ended even after its parent died.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
PR_SET_CHILD_SUBREAPER = 36

# The marker variables (see process.run and attempts.Attempt).
CALL_VAR = "SCYLLA_CALL"
ATTEMPT_VAR = "SCYLLA_ATTEMPT"


def host() -> str:
    return os.uname().nodename  # gethostname(), without importing socket for it


def boot_id() -> str:
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (pid reuse changes it)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields after the last ')' are fixed
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has ended
        return None
    return int(fields[19])


def parent_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def children(pid: int) -> list[int]:
    """Live direct children of `pid` (orphans re-parented to a subreaper included)."""
    return [p for p in _pids() if parent_of(p) == pid and start_ticks(p) is not None]


def alive(pid: int, ticks: int | None = None) -> bool:
    """Whether `pid` runs (and is the same process: started at `ticks`, when given)."""
    now = start_ticks(pid)
    return now is not None and (ticks is None or now == ticks)


def has_thread(pid: int, tid: int) -> bool:
    """Whether thread `tid` (a native id) still runs in process `pid`."""
    return (PROC / str(pid) / "task" / str(tid)).is_dir()


def environ(pid: int) -> dict[str, str]:
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    out = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[key.decode(errors="replace")] = value.decode(errors="replace")
    return out


def _pids() -> Iterable[int]:
    for name in os.listdir(PROC):
        if name.isdigit():
            yield int(name)


def with_marker(var: str, value: str = "", prefix: bool = False) -> dict[int, str]:
    """{pid: marker value} of live processes whose environment has `var` (= `value`, or
    starting with `value` when `prefix`). Our own process is never included."""
    me = os.getpid()
    needle = f"{var}=".encode()
    found = {}
    for pid in _pids():
        if pid == me:
            continue
        try:
            raw = (PROC / str(pid) / "environ").read_bytes()
        except OSError:
            continue
        if needle not in raw:
            continue
        got = environ(pid).get(var)
        if got is None or start_ticks(pid) is None:
            continue
        if not value or got == value or (prefix and got.startswith(value)):
            found[pid] = got
    return found


def terminate(pids: Iterable[int], grace: float = 5.0) -> list[int]:
    """SIGTERM, then SIGKILL after `grace` seconds, to each pid (and its process group when it
    leads one). Returns the pids that were alive. Our own children are reaped."""
    targets = [p for p in set(pids) if p != os.getpid() and alive(p)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in targets:
            _signal(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 2.0)
        while time.monotonic() < deadline:
            _reap(targets)
            if not any(alive(p) for p in targets):
                return targets
            time.sleep(0.05)
    _reap(targets)
    return targets


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _reap(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


_shared = False


def share_process() -> None:
    """This process is Snakemake's own (its Snakefile was parsed here): jobs run in its threads
    beside every other job's process. From now on scylla neither makes it a subreaper nor ends
    its children: they are other jobs, not orphans of a call (see process.end_tree)."""
    global _shared
    _shared = True


def shared() -> bool:
    return _shared


def become_subreaper() -> bool:
    """Orphaned descendants (double forks, `setsid` daemons) re-parent to this process instead
    of init, so they stay findable and killable. Linux only; False where unsupported, and in a
    process shared with other jobs (`share_process`)."""
    if _shared:
        return False
    try:
        import ctypes  # here: only a step's process needs it

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _working_in(workdir: Path) -> dict[int, list[str]]:
    """{pid: argv} of live processes (not us) whose working directory is `workdir`."""
    target = os.path.realpath(workdir)
    found = {}
    for pid in _pids():
        if pid == os.getpid():
            continue
        try:
            cmd = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(PROC / str(pid) / "cwd")
        except OSError:
            continue
        if os.path.realpath(cwd) == target and start_ticks(pid) is not None:
            found[pid] = [c.decode(errors="replace") for c in cmd if c]
    return found


def snakemake_schedulers(workdir: Path) -> list[int]:
    """Live snakemake processes working in `workdir` (plain or started by scylla); not the
    snakemake a cluster job runs for its one job (`--target-jobs`: scylla.recovery.cluster's)."""
    return [
        pid
        for pid, words in _working_in(workdir).items()
        if any(Path(w).name == "snakemake" for w in words[:3])
        and "scylla.steps" not in words
        and "--target-jobs" not in words
    ]


def commands_in(workdir: Path, needle: str) -> dict[int, list[str]]:
    """{pid: argv} of live processes working in `workdir` whose command line has `needle`."""
    return {pid: words for pid, words in _working_in(workdir).items() if needle in words}
