"""scylla.agents.workspace.create_worktree on a real git repository: the agent's starting
point, including a path whose earlier worktree was removed without git knowing."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import git, one_commit_repo

from scylla.agents.workspace import create_worktree


def _registered(repo: Path, ws: Path) -> int:
    listing = git(repo, "worktree", "list", "--porcelain").splitlines()
    return listing.count(f"worktree {ws.resolve()}")


def test_a_workspace_at_the_task_commit_and_one_with_the_subtests_files(tmp_path):
    repo = tmp_path / "repo"
    commit = one_commit_repo(repo, {"notes.txt": "hello\n"})
    ws = tmp_path / "run_01" / "workspace"
    assert create_worktree(repo, commit, ws, {}) == commit
    assert git(ws, "rev-parse", "HEAD") == commit
    assert Path(git(ws, "rev-parse", "--show-toplevel")).resolve() == ws.resolve()
    with_files = tmp_path / "run_02" / "workspace"
    head = create_worktree(repo, commit, with_files, {"CLAUDE.md": "# hi"})
    assert head == git(with_files, "rev-parse", "HEAD") != commit
    assert git(with_files, "rev-parse", "HEAD^") == commit


def test_a_workspace_removed_without_git_is_made_again_at_its_path(tmp_path):
    repo = tmp_path / "repo"
    commit = one_commit_repo(repo, {"notes.txt": "hello\n"})
    ws = tmp_path / "run_01" / "workspace"
    create_worktree(repo, commit, ws, {})
    (ws / "notes.txt").write_text("the agent's change\n")
    create_worktree(repo, commit, ws, {})  # a retried job: starts clean
    assert (ws / "notes.txt").read_text() == "hello\n"
    shutil.rmtree(ws)  # by hand: git still has it registered
    assert _registered(repo, ws) == 1
    assert create_worktree(repo, commit, ws, {}) == commit
    assert (ws / "notes.txt").read_text() == "hello\n" and _registered(repo, ws) == 1
