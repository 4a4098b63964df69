"""A bad configuration stops `snakemake -n` with a message naming the key; nothing is written."""

from __future__ import annotations

import pytest
from pipeline_helpers import experiment_cfg, output_of, smk, write_config


def _bad_unknown_agent_key():
    exp = experiment_cfg()
    exp["agent"]["colour"] = "blue"
    return exp


def _bad_task():
    return experiment_cfg(task="config/tasks/no-such-task")


@pytest.mark.parametrize(
    "exp,words",
    [
        (experiment_cfg(runs=0), ["['runs']", "minimum of 1"]),
        (_bad_unknown_agent_key(), ["'colour' was unexpected", "['agent']"]),
        (_bad_task(), ["task", "no-such-task", "is not a task directory"]),
    ],
    ids=["runs-0", "unknown-key", "missing-task"],
)
def test_bad_config_fails_the_dry_run_and_writes_nothing(tmp_path, exp, words):
    write_config(tmp_path, exp)
    proc = smk(tmp_path, "-n")
    out = output_of(proc)
    assert proc.returncode != 0, out[-3000:]
    for word in words:
        assert word in out, (word, out[-3000:])
    assert "Traceback (most recent call last)" not in out  # a message, not a crash
    assert not (tmp_path / "results").exists()
