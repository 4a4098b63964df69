"""Agent failure semantics, driven by the stand-in's modes.

A failed *agent* (bad work, max turns, no output, timeout) is a successful job whose artifacts
record the failure, and the run is judged. An *infrastructure* error (rate limit, auth, CLI
missing) fails the job: its outputs are dropped, its log survives, Snakemake retries it.

Two snakemake invocations serve every test of this file: one experiment per mode (runs: 1,
one subtest, one judge), the mode set through the agent's configured environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import (
    agent_cfg,
    ep,
    experiment_cfg,
    judge_cfg,
    load,
    output_of,
    rp,
    smk,
    write_config,
    write_modes,
)

ONE_SUBTEST = {"T0": {"subtests": {"00": {}}}}
HANG_TIMEOUT = 2


def small(name: str, **agent: object) -> dict:
    return experiment_cfg(
        name,
        tiers=ONE_SUBTEST,
        runs=1,
        agent=agent_cfg(**agent),
        judges=[judge_cfg("claude-opus-4-5-20251101")],
    )


@dataclass
class Outcome:
    dir: Path
    proc: object

    def run(self, name: str):
        return rp(self.dir, "T0", "00", 1, name=name)

    def log(self, name: str, rule: str = "agent") -> Path:
        return ep(self.dir, name).log(rule, "T0", "00", 1)


@pytest.fixture(scope="module")
def agent_failures(tmp_path_factory) -> Outcome:
    """Agents that fail on their own: the pipeline must finish every run."""
    wd = tmp_path_factory.mktemp("agent-failures")
    write_config(
        wd,
        small("maxturns", env={"CLAUDE_STANDIN_MODE": "max_turns"}, max_turns=5),
        small("bad", env={"CLAUDE_STANDIN_MODE": "bad"}),
        small("nothing", env={"CLAUDE_STANDIN_MODE": "nothing"}),
        small("hang", env={"CLAUDE_STANDIN_MODE": "hang"}, timeout=HANG_TIMEOUT),
    )
    return Outcome(wd, smk(wd))


@pytest.fixture(scope="module")
def infra_failures(tmp_path_factory) -> Outcome:
    """Infrastructure errors: jobs fail (and are retried)."""
    wd = tmp_path_factory.mktemp("infra-failures")
    once = write_modes(wd / "modes" / "ratelimit.json", ["agent:rate_limit"])
    write_config(
        wd,
        small("ratelimit", env={"CLAUDE_STANDIN_MODE_FILE": str(once)}),
        small("auth", env={"CLAUDE_STANDIN_MODE": "auth"}),
        small("nocli", cli="no-such-claude"),
    )
    return Outcome(wd, smk(wd))


# ------------------------------------------------------------------ the agent's own failures


def test_agent_failures_do_not_fail_the_pipeline(agent_failures):
    assert agent_failures.proc.returncode == 0, output_of(agent_failures.proc)[-6000:]
    for name in ("maxturns", "bad", "nothing", "hang"):
        assert agent_failures.run(name).run_result.is_file(), name
        assert ep(agent_failures.dir, name).report().is_file(), name


def test_max_turns_is_recorded_and_judged(agent_failures):
    r = agent_failures.run("maxturns")
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


def test_bad_work_is_judged_like_any_other(agent_failures):
    r = agent_failures.run("bad")
    res = load(r.agent_result)
    assert res["exit_code"] == 0 and res["is_error"] is False
    assert r.diff.read_text().strip(), "the bad agent's edit is in the diff"
    checks = load(r.checks)
    assert not all(c["passed"] for c in checks.values())
    j = load(r.judge_slot("01").judgment)
    assert j["is_valid"] is True
    assert j["score"] < 1.0
    assert load(r.run_result)["agent_failed"] is False


def test_agent_that_left_nothing_is_not_judged(agent_failures):
    r = agent_failures.run("nothing")
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


def test_hanging_agent_is_killed_at_the_timeout(agent_failures):
    r = agent_failures.run("hang")
    timing = load(r.agent_timing)
    assert timing["timed_out"] is True
    assert HANG_TIMEOUT <= timing["agent_duration_seconds"] < HANG_TIMEOUT + 20
    res = load(r.agent_result)
    assert res["timed_out"] is True
    assert res["exit_code"] != 0
    assert load(r.agent_command_log)["commands"][0]["exit_code"] == res["exit_code"]
    assert "hanging" in r.agent_stderr.read_text()
    assert load(r.run_result)["timed_out"] is True


def _processes_under(root: Path) -> list[str]:
    """Live processes whose working directory is inside `root`."""
    found = []
    root = root.resolve()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            found.append(f"{pid}: {cmd[:200]} (cwd {cwd})")
    return found


def test_hanging_agent_leaves_no_process_behind(agent_failures):
    assert _processes_under(agent_failures.dir) == []


# -------------------------------------------------------------------- infrastructure errors


def test_infrastructure_errors_fail_the_workflow(infra_failures):
    assert infra_failures.proc.returncode != 0
    out = output_of(infra_failures.proc)
    assert "Error in rule agent" in out


def test_rate_limit_is_retried_and_the_log_survives(infra_failures):
    r = infra_failures.run("ratelimit")
    log = infra_failures.log("ratelimit").read_text()
    assert "rate_limit" in log or "rate limited" in log, log
    assert "attempt 1" in log and "attempt 2" in log, log
    res = load(r.agent_result)
    assert res["exit_code"] == 0 and res["api_calls"] > 0
    assert load(r.agent_timing)["attempt"] == 2
    assert "429" not in r.agent_stdout.read_text()
    assert load(r.judge_slot("01").judgment)["is_valid"] is True
    assert r.run_result.is_file()


def test_auth_failure_fails_after_retries_without_outputs(infra_failures):
    r = infra_failures.run("auth")
    for f in (*r.agent_outputs.values(), r.agent_result, r.run_result):
        assert not f.exists(), f
    log = infra_failures.log("auth").read_text()
    assert "auth" in log.lower()
    assert log.count("INFRASTRUCTURE ERROR") == 3, log  # first try + 2 retries (profile)


def test_missing_cli_fails_with_cli_missing(infra_failures):
    r = infra_failures.run("nocli")
    assert not r.agent_stdout.exists() and not r.run_result.exists()
    log = infra_failures.log("nocli").read_text()
    assert "cli_missing" in log and "no-such-claude" in log
