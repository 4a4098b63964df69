"""Every Snakemake profile in profiles/ plans the demo experiment (`snakemake -n --profile`),
and the container profile's `claude` builds the podman command it claims to.

A dry-run needs no cluster, no image and no credentials: the executor plugins are only
loaded (they come with the `dev` extra), the Kubernetes profile's `fs` storage only looks at
local paths. Running the jobs is the image test's business (tests/container/).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import REPO, SECRET, dry, git, one_commit_repo, output_of, write_config

PROFILES = sorted(p.parent.name for p in (REPO / "profiles").glob("*/config.yaml"))
# The Kubernetes profile hands ANTHROPIC_API_KEY to its pods (`envvars:`): Snakemake refuses
# to start, dry-runs included, when it is not set. A dummy is enough to plan.
PROFILE_ENV = {"kubernetes": {"ANTHROPIC_API_KEY": SECRET}}
CLAUDE_IN_CONTAINER = REPO / "profiles" / "container" / "bin" / "claude"


def test_every_profile_is_tested() -> None:
    assert {"default", "slurm", "container", "kubernetes"} <= set(PROFILES)


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_dry_run(profile: str, tmp_path: Path) -> None:
    write_config(tmp_path)
    plan = dry(
        tmp_path,
        "--profile",
        str(REPO / "profiles" / profile),
        env=PROFILE_ENV.get(profile),
    )
    assert plan.counts["agent"] == 4, plan.text[-3000:]
    assert plan.counts["judge"] == 8
    if profile == "container":  # set-threads: an agent container counts 2 cores
        agent_job = plan.text[plan.text.index("rule agent:") :]
        assert "threads: 2" in agent_job.split("\n\n")[0]
    assert not (tmp_path / "results").exists()  # a dry-run writes no result


# ------------------------------------------------------------ the container profile's claude


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    """A run's workspace: a git worktree of a task repository, as scylla makes it."""
    repo = tmp_path / "task" / "repo"
    one_commit_repo(repo, {"a.txt": "a\n"})
    wt = tmp_path / "T0" / "00" / "run_01" / "workspace"
    git(repo, "worktree", "add", "-q", "--detach", str(wt))
    return wt.resolve()


def claude(cwd: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SCYLLA_"))}
    return subprocess.run(
        [str(CLAUDE_IN_CONTAINER), *args],
        cwd=cwd,
        env={**base, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_claude_in_container_command(worktree: Path) -> None:
    proc = claude(
        worktree,
        "--model",
        "claude-sonnet-4-5",
        "--print",
        "fix the bug",
        SCYLLA_CONTAINER_DRY="1",
        ANTHROPIC_API_KEY=SECRET,
        SCYLLA_CALL="call-token",
        SCYLLA_ATTEMPT="attempt-token",
        UNRELATED_TOKEN="not-forwarded",
    )
    assert proc.returncode == 0, output_of(proc)
    argv = proc.stdout.splitlines()
    common = worktree.parents[3] / "task" / "repo" / ".git"
    assert argv[:6] == ["podman", "run", "--rm", "-i", "--pull=never", "--name"]
    assert argv[6].startswith("scylla-call-token-")
    assert argv[7:9] == ["--user", "scylla"]
    if os.getuid() == 0:  # rootful: container uid 1000 (scylla) is the caller
        assert "1000:0:1" in argv
    else:  # rootless: the caller is container uid 1000
        assert "--userns=keep-id:uid=1000,gid=1000" in argv
    pairs = list(zip(argv, argv[1:], strict=False))
    assert ("-v", f"{worktree}:{worktree}") in pairs
    assert ("-v", f"{common}:{common}") in pairs  # the worktree's repository
    assert ("-w", str(worktree)) in pairs
    forwarded = {b for a, b in pairs if a == "-e"}
    assert {"ANTHROPIC_API_KEY", "SCYLLA_CALL", "SCYLLA_ATTEMPT"} <= forwarded
    assert "UNRELATED_TOKEN" not in forwarded and "SCYLLA_CONTAINER_DRY" not in forwarded
    assert argv[-5:] == ["claude", "--model", "claude-sonnet-4-5", "--print", "fix the bug"]
    assert argv[-6] == "localhost/scylla:latest"
    assert SECRET not in proc.stdout + proc.stderr  # names only, never values


def test_claude_in_container_passes_stdin_and_exit_code(worktree: Path, tmp_path: Path) -> None:
    """With a stand-in podman: the judge's prompt on stdin arrives, the exit code comes back."""
    fake = tmp_path / "podman"
    fake.write_text('#!/bin/sh\necho "args: $*"\necho "stdin: $(cat)"\nexit 3\n')
    fake.chmod(0o755)
    proc = claude(
        worktree,
        "--print",
        stdin="judge this",
        SCYLLA_PODMAN=f"{fake} --storage-driver vfs",
        SCYLLA_IMAGE="scylla:test",
    )
    assert proc.returncode == 3, output_of(proc)
    assert "stdin: judge this" in proc.stdout
    assert proc.stdout.startswith("args: --storage-driver vfs run --rm")
    assert "scylla:test claude --print" in proc.stdout
