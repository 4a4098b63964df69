"""Setup errors stop the experiment after the first job with one line naming the cause and
the fix; nothing is recorded as an agent failure; status says `infra` and why."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from helpers import REPO, SCYLLA, STANDIN, experiment_cfg, scylla, tool_env

CASES = {
    "root": ("root_refusal", "refuses to run as root", "non-root user"),
    "auth": ("auth", "not authenticated", "claude /login"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_setup_error_stops_after_one_job(tmp_path, case):
    mode, cause, fix = CASES[case]
    exp = experiment_cfg(task=str(REPO / "config" / "tasks" / "textstats"))
    exp["agent"]["env"]["CLAUDE_STANDIN_MODE"] = f"agent:{mode}"
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"experiments": [exp]}))
    proc = scylla(tmp_path, "run", "cfg.yaml", "--parallel", "1")
    assert proc.returncode != 0
    stopped = [line for line in proc.stderr.splitlines() if line.startswith("scylla: stopped:")]
    assert len(stopped) == 1 and cause in stopped[0] and fix in stopped[0], proc.stderr
    said = proc.stdout + proc.stderr
    for noise in ("Error in rule", "RuleException", "CalledProcessError", "Trying to restart"):
        assert noise not in said, said  # snakemake's failed-job report and retries are muted
    assert "WorkflowError" not in said and "Will exit after" not in said, said
    calls = (tmp_path / "calls.jsonl").read_text().splitlines()
    assert len(calls) == 1, calls  # one paid call was tried, then nothing
    rows = json.loads(scylla(tmp_path, "status", "results/mini", "--format", "json").stdout)
    assert "failed" not in {r["status"] for r in rows}  # not recorded as an agent failure
    assert {r["failure_class"] for r in rows} == {"infra"}, rows  # none started; why: infra
    tried = [r for r in rows if r["failure_reason"].startswith(("env_refused", "auth"))]
    assert len(tried) == 1 and tried[0]["status"] == "missing", rows
    assert all(r["failure_reason"].startswith("stopped: ") for r in rows if r not in tried)
    only = json.loads(
        scylla(tmp_path, "status", "results/mini", "--reason", "infra", "--format", "json").stdout
    )
    assert len(only) == len(rows)
    # fixed: the next run goes on (the stop of the earlier scheduler does not bind it)
    exp["agent"]["env"].pop("CLAUDE_STANDIN_MODE")
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"experiments": [exp]}))
    again = scylla(tmp_path, "run", "cfg.yaml", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_answer_that_mentions_a_rate_limit_is_not_one(tmp_path):
    """The evidence is the CLI's error fields, never the agent's prose."""
    from scylla.agents.base import Usage
    from scylla.agents.claude_code import classify_failure
    from scylla.util.process import ProcessResult

    prose = "I hit max turns; the 429 rate limit docs say to back off."
    result = ProcessResult(["claude"], ".", 1, "{}", "", 1.0, False)
    usage = Usage(exit_code=1, is_error=True, subtype="error_max_turns", result_text=prose)
    classify_failure(result, usage)  # no InfraError: an agent result


def test_a_cli_gone_missing_stops_before_any_job_and_status_says_infra(tmp_path):
    """The agent CLI disappears between two runs of an experiment (uninstalled, PATH
    changed): one line before any job, and status names it as the infra reason."""
    import os

    from scylla.layout import paths
    from scylla.recovery import archive

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "my-claude"
    wrapper.write_text(f'#!/bin/sh\nexec {STANDIN} "$@"\n')
    wrapper.chmod(0o755)
    exp = experiment_cfg(task=str(REPO / "config" / "tasks" / "textstats"), runs=1)
    exp["agent"]["cli"] = "my-claude"
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"experiments": [exp]}))
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    first = subprocess.run(
        [str(SCYLLA), "run", "cfg.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**tool_env(), "PATH": path},
    )
    assert first.returncode == 0, first.stdout + first.stderr
    ep = paths.experiment(tmp_path / "results", "mini")
    archive.archive_run(ep.run("T0", "00", 1), "test: run it again")
    wrapper.unlink()  # gone
    proc = scylla(tmp_path, "run", "cfg.yaml")
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1, proc.stderr
    assert "'my-claude' is not on PATH" in proc.stderr
    rows = json.loads(scylla(tmp_path, "status", "results/mini", "--format", "json").stdout)
    row = next(r for r in rows if (r["tier"], r["subtest"]) == ("T0", "00"))
    assert row["status"] == "missing" and row["failure_class"] == "infra", row
    assert "cli_missing" in row["failure_reason"], row
