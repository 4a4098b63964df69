"""How `scylla status` classifies a run (scylla.recovery.status.classify, select, counts) and
why a result is not a clean one (scylla.recovery.failures), on run directories written by
hand: the files decide, nothing runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scylla.layout import paths
from scylla.recovery import failures, status

TOKENS = {
    k: 1 for k in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
}


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))


@pytest.fixture
def run(tmp_path: Path) -> paths.RunPaths:
    return paths.experiment(tmp_path / "results", "mini").run("T0", "00", 1)


def finish_agent(run: paths.RunPaths, output: str = "done") -> None:
    """What rule `agent` leaves when the agent ran to its end."""
    write(run.agent_timing, {"agent_duration_seconds": 3.0})
    write(run.agent_command_log, {"commands": [{"exit_code": 0}]})
    write(run.agent_stderr, "")
    write(run.agent_output, output)


def complete(run: paths.RunPaths, exit_code: int = 0) -> None:
    """A run with every derived record: agent/result.json, judge/result.json, run_result."""
    finish_agent(run)
    write(
        run.agent_result,
        {"exit_code": exit_code, "token_stats": TOKENS, "cost_usd": 0.5, "api_calls": 1},
    )
    write(run.consensus, {"score": 0.8, "passed": True, "grade": "A"})
    write(
        run.run_result,
        {
            "run_number": 1,
            "exit_code": exit_code,
            "cost_usd": 0.7,
            "token_stats": TOKENS,
            "judge_score": 0.8,
            "judge_passed": True,
        },
    )


def judgment(run: paths.RunPaths, slot: str, valid: bool, **fields: object) -> None:
    score = 0.8 if valid else 0.0
    record = {"score": score, "passed": valid, "grade": "A", "is_valid": valid, **fields}
    write(run.judge_slot(slot).judgment, record)


def slots(rs: status.RunStatus) -> dict[str, tuple[str, str]]:
    return {j["slot"]: (j["status"], j["class"]) for j in rs.judges}


# --------------------------------------------------------------------------------- agent


def test_nothing_on_disk_is_missing(run):
    rs = status.classify(run.dir, ["01", "02"], set())
    assert (rs.status, rs.reason, rs.attempts) == ("missing", "never started", 0)
    assert slots(rs) == {"01": ("missing", ""), "02": ("missing", "")}


def test_an_agent_that_never_finished_is_partial(run):
    write(run.agent_stdout, "working...")
    rs = status.classify(run.dir, ["01"], set())
    assert (rs.status, rs.reason) == ("partial", "agent/ exists but the agent never finished")
    assert rs.failure_class == ""


def test_an_incomplete_marker_is_an_interrupted_job_unless_snakemake_is_working(run):
    write(run.agent_stdout, "working...")
    marked = {os.path.abspath(run.agent_output)}
    rs = status.classify(run.dir, ["01"], marked)
    assert rs.status == "partial"
    assert rs.reason == "agent job interrupted (Snakemake incomplete marker)"
    assert (rs.failure_class, rs.failure_reason) == (failures.INFRA, "interrupted")
    live = status.classify(run.dir, ["01"], marked, live=True)
    assert (live.status, live.failure_class) == ("partial", "")
    assert live.reason == "agent job running (snakemake is working here)"


def test_empty_output_is_an_agent_failure_and_its_judges_have_nothing_to_judge(run):
    finish_agent(run, output="")
    rs = status.classify(run.dir, ["01", "02"], set())
    assert (rs.status, rs.reason) == ("failed", "the agent left no usable output")
    assert (rs.failure_class, rs.failure_reason) == (failures.AGENT, "produced nothing")
    assert slots(rs) == {"01": ("agent_failed", "agent"), "02": ("agent_failed", "agent")}


def test_a_finished_agent_without_its_derived_records_has_results(run):
    finish_agent(run)
    rs = status.classify(run.dir, ["01"], set())
    assert (rs.status, rs.reason) == ("results", "agent/result.json missing or corrupt")


def test_a_corrupt_run_result_is_not_completed(run):
    complete(run)
    write(run.run_result, "{ truncated")
    rs = status.classify(run.dir, ["01"], set())
    assert (rs.status, rs.reason) == ("results", "run_result.json missing or corrupt")


def test_completed_run_with_its_cost_from_run_result(run):
    complete(run)
    judgment(run, "01", valid=True, cost_usd=0.1)
    rs = status.classify(run.dir, ["01"], set())
    assert (rs.status, rs.reason, rs.failure_class) == ("completed", "", "")
    assert rs.cost_usd == 0.7  # run_result.json sums agent and judges: not added again
    assert rs.attempts == 1


def test_a_non_zero_exit_is_a_completed_run_that_failed_as_an_agent(run):
    complete(run, exit_code=3)
    rs = status.classify(run.dir, ["01"], set())
    assert rs.status == "completed"
    assert (rs.failure_class, rs.failure_reason) == (failures.AGENT, "exit code 3")


# -------------------------------------------------------------------------------- judges


def test_judge_slot_states(run):
    complete(run)
    judgment(run, "01", valid=True)
    judgment(run, "02", valid=False, error="garbage answer")
    write(run.judge_slot("03").judgment, "{ not json")
    rs = status.classify(run.dir, ["01", "02", "03", "04"], set())
    by_slot = {j["slot"]: j for j in rs.judges}
    assert (by_slot["01"]["status"], by_slot["01"]["class"]) == ("complete", "")
    assert by_slot["02"]["status"] == "failed" and by_slot["02"]["class"] == failures.JUDGE
    assert by_slot["02"]["reason"] == "invalid judgment: garbage answer"
    assert by_slot["03"]["status"] == "failed"
    assert by_slot["03"]["reason"].startswith("judgment.json corrupt")
    assert by_slot["03"]["class"] == ""  # not the judge's verdict: a damaged file
    assert (by_slot["04"]["status"], by_slot["04"]["reason"]) == ("missing", "")


def test_an_interrupted_judge_job_is_partial_infra(run):
    complete(run)
    marked = {os.path.abspath(run.judge_slot("01").response)}
    rs = status.classify(run.dir, ["01"], marked)
    assert rs.status == "completed"
    assert slots(rs) == {"01": ("partial", failures.INFRA)}


# ------------------------------------------------------------------- failure classes


@pytest.mark.parametrize(
    ("result", "output", "expected"),
    [
        ({}, "", (failures.AGENT, "produced nothing")),
        ({"timed_out": True, "exit_code": 1}, "x", (failures.AGENT, "timeout")),
        ({"subtype": "error_max_turns", "exit_code": 1}, "x", (failures.AGENT, "max turns")),
        ({"subtype": "error_max_budget_usd"}, "x", (failures.AGENT, "per-run budget reached")),
        ({"exit_code": 2}, "x", (failures.AGENT, "exit code 2")),
        ({"exit_code": 0, "is_error": True}, "x", (failures.AGENT, "is_error (no subtype)")),
        ({"exit_code": 0}, "x", ("", "")),
        ({"exit_code": 0}, None, ("", "")),  # no output to look at: the result alone decides
    ],
)
def test_agent_failure_class(result, output, expected):
    assert failures.of_agent_result(result, output) == expected


def test_judgment_failure_class():
    assert failures.of_judgment({"status": "agent_failed"}) == (
        failures.AGENT,
        "the agent left nothing to judge",
    )
    assert failures.of_judgment({"is_valid": False, "reasoning": "no JSON"}) == (
        failures.JUDGE,
        "no JSON",
    )
    assert failures.of_judgment({"is_valid": True}) == ("", "")


def test_only_unhealable_infra_failures_are_fatal():
    assert {k for k in failures.KINDS if failures.is_fatal(k)} == {
        "cli_missing",
        "auth",
        "env_refused",
        "spend_cap",
    }
    assert failures.is_fatal("something new") is False
    assert "claude /login" in failures.fix_for("auth")


# ----------------------------------------------------------------- selection and counts


def rs(tier: str, run: int, agent: str, *judges: str, cls: str = "") -> status.RunStatus:
    out = status.RunStatus(tier, "00", run, agent)
    out.judges = [{"slot": f"{i:02d}", "status": s, "class": ""} for i, s in enumerate(judges, 1)]
    out.failure_class = cls
    return out


RUNS = [
    rs("T0", 1, "completed", "complete", "complete"),
    rs("T0", 2, "completed", "complete", "failed"),
    rs("T1", 1, "failed", "agent_failed", "agent_failed", cls="agent"),
    rs("T1", 2, "missing", "missing", "missing", cls="infra"),
]


def keys(runs: list[status.RunStatus]) -> list[tuple[str, int]]:
    return [(r.tier, r.run) for r in runs]


def test_a_status_filter_matches_the_agent_or_any_judge():
    assert keys(status.select(RUNS, statuses=["failed"])) == [("T0", 2), ("T1", 1)]
    assert keys(status.select(RUNS, statuses=["completed"])) == [("T0", 1), ("T0", 2)]


def test_filters_combine():
    assert keys(status.select(RUNS, tiers=["T1"], run_numbers=[2])) == [("T1", 2)]
    assert keys(status.select(RUNS, classes=["agent", "infra"])) == [("T1", 1), ("T1", 2)]
    assert keys(status.select(RUNS, tiers=["T0"], statuses=["missing"])) == []
    assert status.select(RUNS) == RUNS


def test_counts_cover_every_status():
    got = status.counts(RUNS)
    assert got["agent"] == {
        "completed": 2,
        "results": 0,
        "outdated": 0,
        "failed": 1,
        "partial": 0,
        "missing": 1,
    }
    assert got["judge"]["complete"] == 3 and got["judge"]["failed"] == 1
    assert sum(got["judge"].values()) == 8
