"""Thin, typed wrappers around the git command line."""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Deterministic identity and dates: the same task directory always becomes the same commit.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "scylla",
    "GIT_AUTHOR_EMAIL": "scylla@localhost",
    "GIT_COMMITTER_NAME": "scylla",
    "GIT_COMMITTER_EMAIL": "scylla@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitError(RuntimeError):
    pass


def git(*args: str, cwd: Path | str, check: bool = True) -> str:
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "core.hooksPath=/dev/null", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} (in {cwd}) failed: {proc.stderr.strip()}")
    return proc.stdout


@contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Serialise git operations that touch one repository's shared metadata."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
