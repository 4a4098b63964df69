"""Fixtures of the fault-injection suite (see helpers/faults.py); the ledger summary at the end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import helpers as h
import pytest
from helpers import faults as f


@pytest.fixture(scope="session")
def task(tmp_path_factory) -> Path:
    return h.write_task(tmp_path_factory.mktemp("ftask") / "quick")


@pytest.fixture(scope="session")
def base(tmp_path_factory, task) -> Path:
    """The small experiment run to its end once (read-only: tests copy it)."""
    wd = tmp_path_factory.mktemp("fbase") / "wd"
    h.write_config(wd, f.experiment(task))
    f.ok(f.scylla(wd, "run", f.CONFIG))
    return wd


@pytest.fixture
def tree(base, tmp_path) -> Path:
    """A private copy of the finished experiment (`.snakemake` and mtimes included)."""
    wd = h.copy_tree(base, tmp_path / "wd")
    (wd / "calls.jsonl").write_text("")
    return wd


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not f.LEDGER:
        return
    data = f.summary()
    out = Path(os.environ.get("FAULTS_LEDGER", config.rootpath / ".faults-ledger.json"))
    out.write_text(json.dumps(data, indent=1))
    w = terminalreporter
    w.section("fault ledger")
    for e in f.LEDGER:
        w.line(
            f"{e.case:<58} {e.outcome:<34} files {e.files_checksummed:>4}  "
            f"changed {e.bytes_changed}  orphans {e.orphans_left}  calls {e.paid_calls}"
        )
    w.line(
        f"faults tried {data['faults_tried']}, completed-run files checksummed "
        f"{data['files_checksummed']}, bytes changed {data['bytes_changed']}, orphan processes "
        f"left {data['orphans_left']}, paid calls wasted {data['paid_calls_wasted']} ({out})"
    )
