"""A results directory written by an earlier release keeps working: the first release
(2fab610) re-runs no agent or judge after the upgrade, and its first-release runs are
archived the old way when they are re-run; one written by the rules just before the last
change of a rule's params plans nothing at all."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile

import helpers as h
import pytest
from helpers import faults as f

FIRST_RELEASE = "2fab610"
# The last rules whose judge_prompt had `params.spec_file` (unused since it became a run:
# block): a derived param, which Snakemake does not record, so removing it re-plans nothing.
BEFORE_SPEC_FILE_REMOVED = "5e7baf9"


def written_by(commit: str, tmp_path, task):
    """A finished experiment, made by the Snakefile and rules of `commit`."""
    src = tmp_path / commit
    got = subprocess.run(
        ["git", "-C", str(h.REPO), "archive", commit], capture_output=True, check=False
    )
    if got.returncode != 0:
        pytest.skip(f"commit {commit} is not in this clone's history (a shallow clone?)")
    src.mkdir()
    with tarfile.open(fileobj=io.BytesIO(got.stdout)) as tar:
        tar.extractall(src, filter="data")
    wd = tmp_path / "wd"
    h.write_config(wd, f.experiment(task))
    f.ok(f.snakemake(wd, snakefile=src / "Snakefile"))
    (wd / "calls.jsonl").write_text("")
    return wd


@pytest.fixture
def legacy(tmp_path, task):
    return written_by(FIRST_RELEASE, tmp_path, task)


def test_upgrading_reruns_no_paid_work(legacy):
    derived = ("agent/result.json", "judge/result.json", "run_result.json")
    case = f.Case(
        "first-release results directory, upgraded", legacy, protect=f.RUNS, rederived=derived
    )
    plan = h.parse_plan(h.output_of(f.ok(f.snakemake(legacy, "-n"))))
    # No paid job. The first release derived agent/result.json, the consensus and
    # run_result.json in three rules; one rule makes them now, so Snakemake (its `input`
    # trigger) derives them once more, from the same paid files: cheap, and the same values.
    cheap = {"run_result", "subtest_report", "tier_report", "experiment_report"}
    assert set(plan.counts) <= {"experiment_config", "all", *cheap}, plan.counts
    rows = h.by_run(
        json.loads(f.ok(f.scylla(legacy, "status", "results/mini", "--format", "json")).stdout)
    )
    assert {r["status"] for r in rows.values()} <= {"completed", "failed"}
    f.ok(f.scylla(legacy, "run", f.CONFIG))
    assert case.new_calls() == []
    assert f.ok(f.snakemake(legacy, "-n")).returncode == 0
    case.close("0 agent or judge jobs after the upgrade")


def test_rules_of_the_commit_before_plan_nothing_now(tmp_path, task):
    """Removing a derived param (judge_prompt's spec_file) plans no job on a directory the
    rules before it made: no judge prompt is made again, so no judge is called again."""
    wd = written_by(BEFORE_SPEC_FILE_REMOVED, tmp_path, task)
    out = h.output_of(f.ok(f.snakemake(wd, "-n")))
    assert "Nothing to be done" in out, out[-2000:]
