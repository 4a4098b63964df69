"""Reports on the shipped demo's own numbers: every rate says what it counts, and an agent
that failed is a fail (issue: reports researchers can publish from).

The demo is deterministic (the stand-in draws each run's outcome from its path): subtest
T2/01 has two passes and one agent that produced nothing (run 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import output_of, scylla

from scylla import paths


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> paths.ExperimentPaths:
    wd = tmp_path_factory.mktemp("demo")
    proc = scylla(wd, "run", "-q")
    assert proc.returncode == 0, output_of(proc)[-3000:]
    return paths.experiment(wd / "results", "demo")


def summary(path: Path) -> dict:
    return json.loads(path.read_text())["summary"]


def runs_of(ep: paths.ExperimentPaths, tier: str, subtest: str | None = None) -> list[dict]:
    found = sorted((ep.dir / tier).glob(f"{subtest or '*'}/run_*/run_result.json"))
    return [json.loads(p.read_text()) for p in found]


def test_an_agent_that_failed_is_a_fail_in_every_rate(demo):
    failed = runs_of(demo, "T2", "01")[2]
    assert failed["agent_failed"] and failed["judge_grade"] == "F" and not failed["judge_valid"]
    sub = summary(demo.subtest_report("T2", "01"))
    # it used to say pass_rate 1.0 over the two judged runs, with no F anywhere
    assert sub["counted_runs"] == 3 and sub["passed"] == 2
    assert sub["pass_rate"] == pytest.approx(2 / 3)
    assert sub["grade_distribution"]["F"] == 1 and sub["min_grade"] == "F"
    assert sub["mean_score"] == pytest.approx(
        sum(r["judge_score"] for r in runs_of(demo, "T2", "01")) / 3
    )


def test_tier_and_experiment_rates_count_every_finished_run(demo):
    for tier in ("T0", "T1", "T2"):
        runs = runs_of(demo, tier)
        counted = [r for r in runs if r["judge_valid"] or r["agent_failed"]]
        tier_summary = summary(demo.tier_report(tier))
        assert tier_summary["counted_runs"] == len(counted), tier
        assert tier_summary["pass_rate"] == pytest.approx(
            sum(bool(r["judge_passed"]) for r in counted) / len(counted)
        ), tier
        assert sum(tier_summary["grade_distribution"].values()) == len(counted), tier
    whole = summary(demo.report())
    assert whole["counted_runs"] + whole["invalid_judgments"] + whole["infra_excluded"] == 21
    assert whole["missing_runs"] == 0
    assert "agent failure (a fail" in whole["denominators"]
    assert "*Denominators*" in demo.report("md").read_text()
