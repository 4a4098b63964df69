"""The task repository of an experiment and the isolated git worktree of each run."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scylla.config.specs import TaskSpec
from scylla.layout import paths
from scylla.util import hashing, jsonio
from scylla.util.gitutil import GitError, git, locked

RESOURCES_MESSAGE = "scylla: subtest resources"


def task_identity(task: TaskSpec) -> str:
    return hashing.digest(task.identity)


def ensure_task_repo(task: TaskSpec, repo: Path, marker: Path) -> dict[str, Any]:
    """The task repository, prepared once per experiment (and again if the task changed).

    It is a cache every agent job shares, not a rule output: making it one would hide
    per-run changes from Snakemake (jobs downstream of a re-running job are not re-checked).
    """
    with locked(marker.parent / paths.TASK_LOCK):
        info = jsonio.read_json_object(marker)
        if info and info.get("identity") == task_identity(task) and (repo / ".git").exists():
            return info
        return prepare_task_repo(task, repo, marker)


def prepare_task_repo(task: TaskSpec, repo: Path, marker: Path) -> dict[str, Any]:
    """Make `repo` a git repository holding the task commit; record it in `marker`.

    A URL or a git repository is cloned; a plain directory is copied and committed with a
    fixed identity and date, so the same content always gives the same commit.
    """
    source = task.repo
    repo = repo.resolve()
    if repo.exists():
        shutil.rmtree(repo)
    repo.parent.mkdir(parents=True, exist_ok=True)
    src = Path(source)
    if "://" in source or source.startswith("git@") or (src / ".git").exists():
        git("clone", "--quiet", "--no-checkout", source, str(repo), cwd=repo.parent)
        commit = git("rev-parse", "--verify", f"{task.commit}^{{commit}}", cwd=repo).strip()
        git("checkout", "--quiet", "--detach", commit, cwd=repo)
    else:
        shutil.copytree(src, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        git("init", "--quiet", cwd=repo)
        git("add", "--all", cwd=repo)
        git("commit", "--quiet", "-m", "task", cwd=repo)
        commit = git("rev-parse", "HEAD", cwd=repo).strip()
    info = {
        "source": source,
        "requested_commit": task.commit,
        "identity": task_identity(task),
        "commit": commit,
        "prepared_at": datetime.now(UTC).isoformat(),
    }
    jsonio.write_json(marker, info)
    return info


def _remove_worktree(repo: Path, workspace: Path) -> None:
    git("worktree", "remove", "--force", str(workspace), cwd=repo, check=False)
    if workspace.exists():
        shutil.rmtree(workspace)
    git("worktree", "prune", cwd=repo, check=False)


def create_worktree(repo: Path, commit: str, workspace: Path, files: dict[str, str]) -> str:
    """A fresh worktree of `commit` at `workspace` with the subtest's files committed.

    Returns the commit the agent starts from (the diff base). Any earlier workspace is
    removed first, so a retried job starts clean.
    """
    repo, workspace = repo.resolve(), workspace.resolve()
    add = ["worktree", "add", "--quiet", "--detach", str(workspace), commit]
    with locked(repo / ".git" / paths.WORKTREE_LOCK):
        if workspace.exists():
            _remove_worktree(repo, workspace)
        workspace.parent.mkdir(parents=True, exist_ok=True)
        # Pruned only when git refuses (a workspace deleted by hand is still registered):
        # a prune reads every registered worktree, under the lock every agent job takes.
        try:
            git(*add, cwd=repo)
        except GitError:
            git("worktree", "prune", cwd=repo, check=False)
            git(*add, cwd=repo)
    head = _assert_own_worktree(workspace, "HEAD")
    for rel, text in sorted(files.items()):
        target = workspace / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if not files:
        return head
    git("add", "--all", "--force", *sorted(files), cwd=workspace)
    git("commit", "--quiet", "--allow-empty", "-m", RESOURCES_MESSAGE, cwd=workspace)
    return git("rev-parse", "HEAD", cwd=workspace).strip()


def _assert_own_worktree(workspace: Path, also: str) -> str:
    """Never let git walk up into an enclosing repository (the project's own, say). Returns
    what `git rev-parse <also>` says, asked in the same call."""
    top, answer = git("rev-parse", "--show-toplevel", also, cwd=workspace).splitlines()
    if Path(top).resolve() != workspace.resolve():
        raise RuntimeError(f"{workspace} is not its own git worktree (git toplevel: {top})")
    return answer.strip()


def capture_changes(workspace: Path) -> dict[str, str]:
    """The workspace after the agent: git status, the diff (new files included), deletions."""
    workspace = workspace.resolve()
    if not (workspace / ".git").exists():
        return {"status": "(workspace not available)", "diff": "", "deleted": ""}
    git_dir = Path(_assert_own_worktree(workspace, "--absolute-git-dir"))
    status = git("status", "--porcelain=v1", "--untracked-files=all", cwd=workspace)
    # Diff against HEAD including untracked files, without touching the real index.
    index = workspace.parent / ".scylla-diff-index"
    env_index = {"GIT_INDEX_FILE": str(index)}
    try:
        shutil.copyfile(git_dir / "index", index)
        subprocess.run(
            ["git", "add", "--all", "--intent-to-add", "."],
            cwd=workspace,
            env={**os.environ, **env_index},
            capture_output=True,
            check=False,
        )
        diff = subprocess.run(
            ["git", "diff", "--no-color", "--no-ext-diff", "HEAD"],
            cwd=workspace,
            env={**os.environ, **env_index},
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        ).stdout
    finally:
        index.unlink(missing_ok=True)
    deleted = git("diff", "--name-only", "--diff-filter=D", "HEAD", cwd=workspace)
    return {"status": status, "diff": diff, "deleted": deleted}
