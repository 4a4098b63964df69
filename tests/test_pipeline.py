"""A full run of the `mini` experiment: every artifact of DESIGN.md, its JSON fields, the
workspaces as real git worktrees, and a second run with nothing left to do."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import (
    EXP,
    JUDGE_MODELS,
    MINI_TIERS,
    NOTHING_TO_DO,
    PROFILE,
    RUN_KEYS,
    SECRET,
    agent_cfg,
    ep,
    git,
    load,
    ok,
    output_of,
    rp,
    snakemake,
    tool_env,
)

from scylla.layout import paths

TOKEN_KEYS = {"input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens"}
GRADES = {"S", "A", "B", "C", "D", "F"}


def grade_of(score: float) -> str:
    for grade, floor in (("S", 1.0), ("A", 0.8), ("B", 0.6), ("C", 0.4), ("D", 0.2)):
        if score >= floor:
            return grade
    return "F"


# ----------------------------------------------------------------------------- the run


def test_workflow_profile_is_loaded(finished):
    out = output_of(finished.proc)
    assert f"Using workflow specific profile {PROFILE}" in out
    # the profile's settings are in force: 2 judge jobs per run, agents counted as api_slots
    assert "api_slots" in out


def test_every_artifact_of_every_run_exists(finished):
    for tier, subtest, run in RUN_KEYS:
        r = rp(finished.dir, (tier, subtest, run))
        for f in (*r.agent_outputs.values(), r.agent_result, r.consensus, r.run_result):
            assert f.is_file(), f
        assert set(r.agent_outputs) == {
            "prompt",
            "replay",
            "stdout",
            "stderr",
            "command_log",
            "timing",
            "output",
        }
        for slot in ("01", "02"):
            jp = r.judge_slot(slot)
            for name in ("judgment.json", "response.txt", "stdout.log", "timing.json"):
                assert (jp.dir / name).is_file(), jp.dir / name
        assert r.judge_prompt.is_file() and r.diff.is_file() and r.checks.is_file()
        assert os.access(r.agent_replay, os.X_OK)
        assert r.agent_prompt.read_text() == ep(finished.dir).task_prompt.read_text()


def test_reports_tables_and_saved_config_exist(finished):
    e = ep(finished.dir)
    for tier, spec in MINI_TIERS.items():
        for subtest in spec["subtests"]:
            for ext in ("json", "md"):
                assert e.subtest_report(tier, subtest, ext).is_file()
        for ext in ("json", "md"):
            assert e.tier_report(tier, ext).is_file()
    for ext in ("json", "md"):
        assert e.report(ext).is_file()
    for name in paths.TABLES:
        assert e.table(name).is_file()
    with open(e.table("runs")) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(RUN_KEYS)
    with open(e.table("judges")) as fh:
        assert len(list(csv.DictReader(fh))) == 2 * len(RUN_KEYS)
    legacy = load(e.experiment_json)
    assert legacy["experiment_id"] == EXP
    assert legacy["runs_per_subtest"] == 2
    assert legacy["tiers_to_run"] == ["T0"]
    assert legacy["judge_models"] == list(JUDGE_MODELS)
    saved = load(e.resolved_config)
    assert [x["name"] for x in saved["experiments"]] == [EXP]
    assert saved["experiments"][0]["task"]["resolved"] is True


def test_agent_result_fields(finished):
    for key in RUN_KEYS:
        r = rp(finished.dir, key)
        res = load(r.agent_result)
        assert {"exit_code", "stdout", "stderr", "token_stats", "cost_usd", "api_calls"} <= set(res)
        assert set(res["token_stats"]) == TOKEN_KEYS
        assert res["stdout"] == r.agent_stdout.read_text()
        assert res["stderr"] == r.agent_stderr.read_text()
        # mapped from Claude's JSON: num_turns -> api_calls, total_cost_usd -> cost_usd
        claude = load(r.agent_stdout)
        assert res["api_calls"] == claude["num_turns"] > 0
        assert res["cost_usd"] == pytest.approx(claude["total_cost_usd"]) and res["cost_usd"] > 0
        assert res["token_stats"]["input_tokens"] == claude["usage"]["input_tokens"]
        assert res["token_stats"]["cache_read_tokens"] == claude["usage"]["cache_read_input_tokens"]
        assert res["exit_code"] == (1 if claude["is_error"] else 0)


def test_agent_timing_and_command_log_fields(finished):
    for key in RUN_KEYS:
        r = rp(finished.dir, key)
        timing = load(r.agent_timing)
        assert {"agent_duration_seconds", "measured_at"} <= set(timing)
        assert timing["agent_duration_seconds"] > 0
        assert timing["timed_out"] is False
        log = load(r.agent_command_log)
        assert {"generated_at", "total_commands", "commands"} <= set(log)
        assert log["total_commands"] == len(log["commands"]) == 1
        cmd = log["commands"][0]
        for field in (
            "timestamp",
            "command",
            "cwd",
            "env_vars",
            "exit_code",
            "stdout_file",
            "stderr_file",
            "duration_seconds",
        ):
            assert field in cmd, field
        argv = cmd["command"]
        assert Path(argv[0]).name == "claude-standin"
        for flag in ("--print", "--dangerously-skip-permissions"):
            assert flag in argv
        assert argv[argv.index("--output-format") + 1] == "json"
        assert cmd["exit_code"] == load(r.agent_result)["exit_code"]
        assert cmd["stdout_file"] == "stdout.log" and cmd["stderr_file"] == "stderr.log"


def test_judgment_fields(finished):
    for key in RUN_KEYS:
        r = rp(finished.dir, key)
        for slot, model in zip(("01", "02"), JUDGE_MODELS, strict=True):
            j = load(r.judge_slot(slot).judgment)
            assert {
                "score",
                "passed",
                "grade",
                "reasoning",
                "is_valid",
                "criteria_scores",
            } <= set(j)
            assert 0.0 <= j["score"] <= 1.0
            assert j["is_valid"] is True and j["status"] == "complete"
            assert j["grade"] == grade_of(j["score"])
            assert j["model"] == model
            assert j["criteria_scores"], "criteria_scores empty"
            assert r.judge_slot(slot).response.read_text().strip()
            assert {"judge_duration_seconds", "measured_at"} <= set(load(r.judge_slot(slot).timing))


def test_consensus_follows_the_rules(finished):
    for key in RUN_KEYS:
        r = rp(finished.dir, key)
        js = [load(r.judge_slot(s).judgment) for s in ("01", "02")]
        c = load(r.consensus)
        mean = sum(j["score"] for j in js) / 2
        assert c["score"] == pytest.approx(mean)
        assert c["passed"] == (sum(j["passed"] for j in js) * 2 > 2)
        assert c["grade"] == grade_of(c["score"])
        assert c["is_valid"] is True
        assert len(c["judges"]) == 2


def test_run_result_fields(finished):
    for tier, subtest, run in RUN_KEYS:
        r = rp(finished.dir, (tier, subtest, run))
        res = load(r.run_result)
        agent = load(r.agent_result)
        c = load(r.consensus)
        for field in (
            "run_number",
            "exit_code",
            "cost_usd",
            "duration_seconds",
            "token_stats",
            "judge_score",
            "judge_passed",
            "judge_grade",
            "judge_reasoning",
            "judges",
        ):
            assert field in res, field
        assert res["run_number"] == run
        assert res["exit_code"] == agent["exit_code"]
        assert res["token_stats"] == agent["token_stats"]
        assert res["judge_score"] == c["score"] and res["judge_grade"] == c["grade"]
        assert res["judge_passed"] == c["passed"]
        assert res["cost_usd"] == pytest.approx(agent["cost_usd"] + c["cost_usd"])
        assert res["agent_failed"] is False
        assert [j["model"] for j in res["judges"]] == list(JUDGE_MODELS)
        for j in res["judges"]:
            assert {"model", "score", "passed", "grade", "is_valid"} <= set(j)


def test_secrets_never_reach_the_results(finished):
    leaks = [
        str(p.relative_to(finished.dir))
        for p in (finished.dir / "results").rglob("*")
        if p.is_file() and SECRET.encode() in p.read_bytes()
    ]
    assert leaks == []
    cmd = load(rp(finished.dir, RUN_KEYS[0]).agent_command_log)["commands"][0]
    assert cmd["env_vars"]["ANTHROPIC_API_KEY"] == "<redacted>"
    saved = load(ep(finished.dir).resolved_config)["experiments"][0]
    assert saved["agent"]["env"]["ANTHROPIC_API_KEY"] == "<redacted>"


def test_artifacts_honour_the_umask(finished):
    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    r = rp(finished.dir, RUN_KEYS[0])
    for f in (r.agent_result, r.agent_stdout, r.consensus, r.run_result, ep(finished.dir).report()):
        assert f.stat().st_mode & 0o777 == expected, (f, oct(f.stat().st_mode & 0o777))


def test_second_run_has_nothing_to_do(workdir):
    before = {
        str(p): p.stat().st_mtime_ns for p in (workdir / "results").rglob("*.json") if p.is_file()
    }
    proc = ok(snakemake(workdir))
    assert NOTHING_TO_DO in output_of(proc)
    after = {
        str(p): p.stat().st_mtime_ns for p in (workdir / "results").rglob("*.json") if p.is_file()
    }
    assert after == before


# ----------------------------------------------------------------------- the workspaces


@pytest.mark.parametrize("key", RUN_KEYS, ids=lambda k: f"{k[0]}-{k[1]}-{k[2]}")
def test_workspace_is_its_own_git_worktree_at_the_task_commit(finished, key):
    tier, subtest, run = key
    ws = rp(finished.dir, (tier, subtest, run)).workspace
    task_commit = load(ep(finished.dir).task_marker)["commit"]
    assert Path(git(ws, "rev-parse", "--show-toplevel")).resolve() == ws.resolve()
    # a linked worktree of the experiment's task repository, not a copy or a clone
    common = Path(git(ws, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    assert common.resolve() == (ep(finished.dir).task_repo / ".git").resolve()
    worktrees = git(ep(finished.dir).task_repo, "worktree", "list", "--porcelain")
    assert f"worktree {ws.resolve()}" in worktrees
    files = MINI_TIERS[tier]["subtests"][subtest]
    if not files:  # no resources: the agent starts at the task commit itself
        assert git(ws, "rev-parse", "HEAD") == task_commit
        return
    assert git(ws, "rev-parse", "HEAD^") == task_commit
    assert git(ws, "log", "-1", "--format=%s") == "scylla: subtest resources"
    assert git(ws, "show", "HEAD:CLAUDE.md") == "# hi"
    committed = set(git(ws, "show", "--name-only", "--format=", "HEAD").splitlines())
    assert committed == {"CLAUDE.md", ".claude/settings.json"}
    settings = json.loads(git(ws, "show", "HEAD:.claude/settings.json"))
    assert settings["permissions"]["allow"] == ["Read", "Edit"]
    assert settings["mcpServers"] == {"fs": {"command": "true", "args": []}}


def test_diff_patch_is_the_agents_change(finished):
    for key in RUN_KEYS:
        r = rp(finished.dir, key)
        diff = r.diff.read_text()
        status = git(r.workspace, "status", "--porcelain", "--untracked-files=all", strip=False)
        changed = {line[3:] for line in status.splitlines()}
        for name in changed:
            assert f"b/{name}" in diff or f"a/{name}" in diff, (name, key)
        # the subtest's resources are part of the starting point, never of the agent's diff
        assert "CLAUDE.md" not in diff


def test_replay_script_reproduces_the_agent(workdir):
    r = rp(workdir, ("T0", "00", 1))
    assert "{task_dir}" not in r.agent_replay.read_text()
    # back to the agent's starting point, then re-run the recorded command
    git(r.workspace, "checkout", "--", ".")
    git(r.workspace, "clean", "-fdq")
    # the script records no env value (any may be a secret): export them, as it says
    assert "# export CLAUDE_STANDIN_SOLUTION=" in r.agent_replay.read_text()
    configured = {
        k: v.replace("{task_dir}", str(ep(workdir).task_dir.resolve()))
        for k, v in agent_cfg()["env"].items()
    }
    proc = subprocess.run(
        ["bash", str(r.agent_replay)],
        capture_output=True,
        text=True,
        env={**tool_env(), **configured},
        timeout=60,
        check=False,
    )
    assert proc.returncode == load(r.agent_result)["exit_code"], proc.stderr
    # the stand-in is deterministic: the same command in the same place prints the same bytes
    assert proc.stdout == r.agent_stdout.read_text()
