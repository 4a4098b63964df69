"""git in tests: a command's output, and a one-commit repository to make worktrees of."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(cwd: Path, *args: str, strip: bool = True) -> str:
    """`git ARGS` in `cwd` (raises if it fails); its output, stripped unless `strip=False`."""
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout
    return out.strip() if strip else out


def one_commit_repo(repo: Path, files: dict[str, str]) -> str:
    """A new git repository at `repo` holding `files` in one commit; returns the commit."""
    repo.mkdir(parents=True)
    for rel, text in files.items():
        (repo / rel).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", *files)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "task")
    return git(repo, "rev-parse", "HEAD")
