"""Agent failure semantics, driven by the stand-in's modes.

A failed *agent* (bad work, max turns, no output, timeout) is a successful job whose artifacts
record the failure, and the run is judged. An *infrastructure* error (a rate limit here) fails
the job: its outputs are dropped, Snakemake retries it.

One snakemake invocation serves every test of this file: one experiment per mode (runs: 1,
one subtest, one judge), the mode set through the agent's configured environment; the
profile's keep-going lets the other experiments finish while the broken ones fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import (
    ep,
    failed_jobs,
    load,
    one_run_experiment,
    output_of,
    processes_under,
    rp,
    scylla,
    snakemake,
    write_config,
    write_modes,
)

HANG_TIMEOUT = 2


@dataclass
class Outcome:
    dir: Path
    proc: object

    def run(self, name: str):
        return rp(self.dir, ("T0", "00", 1), name=name)

    def log(self, name: str, rule: str = "agent") -> Path:
        return ep(self.dir, name).log(rule, "T0", "00", 1)


@pytest.fixture(scope="module")
def failures(tmp_path_factory) -> Outcome:
    """One invocation, one experiment per failure (keep-going lets the others finish)."""
    wd = tmp_path_factory.mktemp("failures")
    once = write_modes(wd / "modes" / "ratelimit.json", ["agent:rate_limit"])
    write_config(
        wd,
        # the agent's own failures: the job succeeds, the run is recorded and judged
        one_run_experiment("maxturns", env={"CLAUDE_STANDIN_MODE": "max_turns"}, max_turns=5),
        one_run_experiment("bad", env={"CLAUDE_STANDIN_MODE": "bad"}),
        one_run_experiment("nothing", env={"CLAUDE_STANDIN_MODE": "nothing"}),
        one_run_experiment("hang", env={"CLAUDE_STANDIN_MODE": "hang"}, timeout=HANG_TIMEOUT),
        # infrastructure errors: the job fails (and is retried)
        one_run_experiment("ratelimit", env={"CLAUDE_STANDIN_MODE_FILE": str(once)}),
    )
    return Outcome(wd, snakemake(wd))


# ------------------------------------------------------------------ the agent's own failures


def test_agent_failures_do_not_fail_their_jobs(failures):
    failed = failed_jobs(output_of(failures.proc))
    assert failed, "the infrastructure errors of this invocation are reported"
    for name in ("maxturns", "bad", "nothing", "hang"):
        assert not [f for f in failed if f"results/{name}/" in f[1]], (name, failed)
        assert failures.run(name).run_result.is_file(), name
        assert ep(failures.dir, name).report().is_file(), name


def test_max_turns_is_recorded_and_judged(failures):
    r = failures.run("maxturns")
    res = load(r.agent_result)
    assert res["exit_code"] == 1
    assert res["is_error"] is True
    assert res["subtype"] == "error_max_turns"
    assert res["api_calls"] == 5  # --max-turns reached
    assert res["token_stats"]["output_tokens"] > 0
    j = load(r.judge_slot("01").judgment)
    assert j["is_valid"] is True and j["status"] == "complete"
    rr = load(r.run_result)
    assert rr["exit_code"] == 1 and rr["agent_failed"] is False
    assert rr["judge_valid"] is True


def test_bad_work_is_judged_like_any_other(failures):
    r = failures.run("bad")
    res = load(r.agent_result)
    assert res["exit_code"] == 0 and res["is_error"] is False
    assert r.diff.read_text().strip(), "the bad agent's edit is in the diff"
    checks = load(r.checks)
    assert not all(c["passed"] for c in checks.values())
    j = load(r.judge_slot("01").judgment)
    assert j["is_valid"] is True
    assert j["score"] < 1.0
    assert load(r.run_result)["agent_failed"] is False


def test_agent_that_left_nothing_is_not_judged(failures):
    r = failures.run("nothing")
    assert r.agent_output.read_text() == ""
    assert "stopped without producing a result" in r.agent_stderr.read_text()
    res = load(r.agent_result)
    assert res["exit_code"] == 1
    j = load(r.judge_slot("01").judgment)
    assert j["status"] == "agent_failed"
    assert j["is_valid"] is False and j["score"] == 0.0
    assert r.judge_slot("01").response.read_text() == ""  # no LLM call was made
    assert load(r.consensus)["agent_failed"] is True
    rr = load(r.run_result)
    assert rr["agent_failed"] is True
    assert rr["judge_passed"] is False


def test_hanging_agent_is_killed_at_the_timeout(failures):
    r = failures.run("hang")
    timing = load(r.agent_timing)
    assert timing["timed_out"] is True
    assert HANG_TIMEOUT <= timing["agent_duration_seconds"] < HANG_TIMEOUT + 20
    res = load(r.agent_result)
    assert res["timed_out"] is True
    assert res["exit_code"] != 0
    assert load(r.agent_command_log)["commands"][0]["exit_code"] == res["exit_code"]
    assert "hanging" in r.agent_stderr.read_text()
    assert load(r.run_result)["timed_out"] is True


def test_hanging_agent_leaves_no_process_behind(failures):
    assert processes_under(failures.dir) == []


# -------------------------------------------------------------------- infrastructure errors


def test_a_transient_infrastructure_error_is_retried_to_success(failures):
    assert failures.proc.returncode == 0, output_of(failures.proc)[-3000:]
    failed = failed_jobs(output_of(failures.proc))
    per_exp = {}
    for rule, log in failed:
        assert rule == "agent", (rule, log)
        name = log.split("/")[1]
        per_exp[name] = per_exp.get(name, 0) + 1
    # the rate limit: one failed try, then the retry succeeds (auth and the other setup errors
    # stop the scheduler instead: tests/test_fail_fast.py)
    assert per_exp == {"ratelimit": 1}, failed


def test_rate_limit_is_retried_and_the_retry_succeeds(failures):
    r = failures.run("ratelimit")
    out = output_of(failures.proc)
    assert "[rate_limit]" in out  # the first attempt failed the job (shown by the profile)
    res = load(r.agent_result)
    assert res["exit_code"] == 0 and res["api_calls"] > 0
    assert load(r.agent_timing)["attempt"] == 2
    assert "429" not in r.agent_stdout.read_text()
    assert load(r.judge_slot("01").judgment)["is_valid"] is True
    assert r.run_result.is_file()
    log = failures.log("ratelimit").read_text()
    assert "snakemake try 2" in log
    # the status counts the rate-limited attempt (table and json)
    proc = scylla(failures.dir, "status", ep(failures.dir, "ratelimit").dir)
    assert "agent re-runs: 1, of them rate-limited: 1" in proc.stdout, output_of(proc)
    proc = scylla(failures.dir, "status", ep(failures.dir, "ratelimit").dir, "--format", "json")
    [run] = json.loads(proc.stdout)
    assert run["rate_limited"] == 1 and run["status"] == "completed", run


def test_failed_attempts_log_survives_the_retry(failures):
    logs = ep(failures.dir, "ratelimit").logs
    text = "".join(p.read_text() for p in sorted(logs.rglob("*")) if p.is_file())
    assert "snakemake try 1" in text and "rate_limit" in text, text


def test_a_missing_cli_stops_before_any_job(tmp_path):
    """Under the local profile a CLI that is not on PATH is one line at parse time, not three
    failed attempts per run (a dry-run still plans: a submit host may lack the CLI)."""
    write_config(tmp_path, one_run_experiment("nocli", cli="no-such-claude"))
    proc = snakemake(tmp_path)
    out = output_of(proc)
    assert proc.returncode != 0
    assert "agent.cli: 'no-such-claude' is not on PATH" in out, out[-2000:]
    assert "Error in rule" not in out and not (tmp_path / "results").exists()
    assert snakemake(tmp_path, "-n").returncode == 0
