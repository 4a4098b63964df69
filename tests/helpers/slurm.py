"""The one-node SLURM cluster of the cluster tests (tests/cluster): bring-up, teardown, and
the squeue and scontrol views the tests check. The recovery policy after a killed submitter is
scylla's own (scylla.recovery.cluster, called by `scylla run` and `scylla repair`;
docs/slurm.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from scylla.recovery import cluster
from scylla.recovery.cluster import ACTIVE, JOB_PREFIX, Job

from .repo import REPO

HERE = REPO / "tests" / "cluster"  # slurm-up.sh and slurm-down.sh
UP, DOWN = HERE / "slurm-up.sh", HERE / "slurm-down.sh"
__all__ = ["ACTIVE", "JOB_PREFIX", "Job", "cluster_down", "cluster_up", "jobs", "scontrol_job"]


def jobs(workdir: Path | None = None, states: str = "all") -> list[Job]:
    """The scylla jobs squeue knows (finished ones too, for MinJobAge), optionally only those
    working in `workdir`."""
    return cluster.jobs(workdir, states)


def scontrol_job(job_id: str) -> dict[str, str]:
    """`scontrol show job -o ID` as {key: value}."""
    out = subprocess.run(
        ["scontrol", "-o", "show", "job", job_id],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    fields = {}
    for word in out.split():
        key, sep, value = word.partition("=")
        if sep:
            fields[key] = value
    return fields


def cluster_up() -> tuple[bool, str]:
    """(True, "") when the one-node cluster answers; (False, why) otherwise, with the
    script's (and so the daemon's) error text."""
    if os.geteuid() != 0:
        return False, "needs root: slurm-up.sh installs slurm and starts munged/slurmctld/slurmd"
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        return False, "no slurmctld and no apt-get to install it (Debian/Ubuntu only)"
    try:
        proc = subprocess.run(
            ["bash", str(UP)], capture_output=True, text=True, timeout=1500, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return False, f"slurm-up.sh timed out after {exc.timeout}s"
    if proc.returncode != 0:
        return False, (proc.stderr.strip() or proc.stdout.strip())[-3000:]
    return True, ""


def cluster_down() -> None:
    subprocess.run(["bash", str(DOWN)], capture_output=True, text=True, timeout=120, check=False)
