"""The cluster suite: a real one-node SLURM cluster on this machine (slurm-up.sh), brought up
once per session and torn down after it (SCYLLA_KEEP_SLURM=1 keeps it). When it cannot
start, every test here is skipped with the daemon's own error text (`-ra` prints it)."""

from __future__ import annotations

import os

import pytest
from helpers import slurm

LEDGER: list[str] = []


@pytest.fixture(scope="session")
def slurm_cluster():
    import importlib.util

    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'")
    ok, why = slurm.cluster_up()
    if not ok:
        slurm.cluster_down()
        pytest.skip(f"one-node SLURM cluster could not start: {why}")
    try:
        yield
    finally:
        if os.environ.get("SCYLLA_KEEP_SLURM") != "1":
            slurm.cluster_down()


@pytest.fixture
def ledger():
    """Lines for the summary at the end of the session (job ids, timings, what happened)."""
    return LEDGER


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if LEDGER:
        terminalreporter.section("one-node SLURM cluster")
        for line in LEDGER:
            terminalreporter.line(line)
