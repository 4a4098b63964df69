"""The other agent adapters (oracle, nop, command, replay), one experiment each, one run."""

from __future__ import annotations

import json

import pytest
from helpers import EXP, ep, load, one_run_experiment, output_of, rp, snakemake, write_config

RESULT_LINE = json.dumps(
    {
        "type": "result",
        "result": "ok",
        "num_turns": 1,
        "total_cost_usd": 0.01,
        "usage": {"input_tokens": 1, "output_tokens": 2},
    }
)
SCRIPT = f"echo done > DONE.txt; echo '{RESULT_LINE}'"
# The brief's inline form: the JSON's braces sit in the argv template itself.
COMMAND_INLINE = ["bash", "-c", SCRIPT]


@pytest.fixture(scope="module")
def adapters(finished, tmp_path_factory):
    wd = tmp_path_factory.mktemp("adapters")
    script = wd / "agent.sh"
    script.write_text(SCRIPT + "\n")
    source = ep(finished.dir)
    write_config(
        wd,
        one_run_experiment("oracle", adapter="oracle"),
        one_run_experiment("nop", adapter="nop"),
        one_run_experiment("command", adapter="command", command=["bash", str(script)]),
        one_run_experiment("inline", adapter="command", command=COMMAND_INLINE),
        one_run_experiment("replay", adapter="replay", replay_from=str(source.dir)),
    )
    proc = snakemake(wd)
    return wd, finished.dir, proc


def test_every_adapter_experiment_finishes(adapters):
    wd, _, proc = adapters
    for name in ("oracle", "nop", "command", "replay"):
        assert ep(wd, name).report().is_file(), (name, output_of(proc)[-4000:])


def run_of(wd, name):
    return rp(wd, ("T0", "00", 1), name=name)


def test_oracle_passes_every_check_and_scores_high(adapters):
    wd, _, _ = adapters
    r = run_of(wd, "oracle")
    checks = load(r.checks)
    assert checks and all(c["passed"] for c in checks.values()), {
        k: c["passed"] for k, c in checks.items()
    }
    assert r.diff.read_text().strip()
    j = load(r.judge_slot("01").judgment)
    assert j["is_valid"] is True and j["score"] >= 0.8 and j["passed"] is True
    rr = load(r.run_result)
    assert rr["judge_score"] >= 0.8 and rr["judge_passed"] is True
    assert rr["exit_code"] == 0 and rr["agent_failed"] is False


def test_nop_changes_nothing(adapters):
    wd, _, _ = adapters
    r = run_of(wd, "nop")
    assert r.diff.read_text() == ""
    assert load(r.agent_result)["exit_code"] == 0
    baseline = load(ep(wd, "nop").baseline)["results"]
    assert {k: c["passed"] for k, c in load(r.checks).items()} == {
        k: c["passed"] for k, c in baseline.items()
    }
    assert load(r.run_result)["judge_passed"] is False


def test_command_adapter_output_is_parsed_and_its_change_captured(adapters):
    wd, _, _ = adapters
    r = run_of(wd, "command")
    res = load(r.agent_result)
    assert res["exit_code"] == 0
    assert res["cost_usd"] == pytest.approx(0.01)
    assert res["api_calls"] == 1
    assert res["token_stats"]["input_tokens"] == 1 and res["token_stats"]["output_tokens"] == 2
    diff = r.diff.read_text()
    assert "DONE.txt" in diff and "+done" in diff
    cmd = load(r.agent_command_log)["commands"][0]["command"]
    assert cmd[0].endswith("bash") and cmd[1].endswith("agent.sh")


def test_command_template_may_hold_literal_braces(adapters):
    wd, _, _ = adapters
    r = run_of(wd, "inline")
    res = load(r.agent_result)
    assert res["cost_usd"] == pytest.approx(0.01) and res["api_calls"] == 1
    assert "DONE.txt" in r.diff.read_text()


def test_replay_reemits_the_recorded_run(adapters):
    wd, source_dir, _ = adapters
    r = run_of(wd, "replay")
    old = rp(source_dir, ("T0", "00", 1), name=EXP)
    assert r.agent_stdout.read_bytes() == old.agent_stdout.read_bytes()
    assert r.diff.read_text() == old.diff.read_text()
    new_res, old_res = load(r.agent_result), load(old.agent_result)
    for field in ("exit_code", "token_stats", "cost_usd", "api_calls"):
        assert new_res[field] == old_res[field], field
    assert load(r.checks).keys() == load(old.checks).keys()
    assert {k: c["passed"] for k, c in load(r.checks).items()} == {
        k: c["passed"] for k, c in load(old.checks).items()
    }
