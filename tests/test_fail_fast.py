"""Setup errors stop the experiment after the first job with one line naming the cause and
the fix; nothing is recorded as an agent failure; status says `infra` and why."""

from __future__ import annotations

import json

import pytest
import yaml
from pipeline_helpers import REPO, experiment_cfg, scylla

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
    assert "Error in rule" not in proc.stdout + proc.stderr  # snakemake's noise is muted
    calls = (tmp_path / "calls.jsonl").read_text().splitlines()
    assert len(calls) == 1, calls  # one paid call was tried, then nothing
    rows = json.loads(scylla(tmp_path, "status", "results/mini", "--format", "json").stdout)
    assert "failed" not in {r["status"] for r in rows}  # not recorded as an agent failure
    infra = [r for r in rows if r["failure_class"] == "infra"]
    assert len(infra) == 1 and infra[0]["status"] == "missing", rows
    assert infra[0]["failure_reason"].startswith(("env_refused", "auth")), infra[0]
    only = json.loads(
        scylla(tmp_path, "status", "results/mini", "--reason", "infra", "--format", "json").stdout
    )
    assert [(r["tier"], r["subtest"], r["run"]) for r in only] == [
        (infra[0]["tier"], infra[0]["subtest"], infra[0]["run"])
    ]
    # fixed: the next run goes on (the stop of the earlier scheduler does not bind it)
    exp["agent"]["env"].pop("CLAUDE_STANDIN_MODE")
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"experiments": [exp]}))
    again = scylla(tmp_path, "run", "cfg.yaml", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_answer_that_mentions_a_rate_limit_is_not_one(tmp_path):
    """The evidence is the CLI's error fields, never the agent's prose."""
    from scylla.adapters.base import Usage
    from scylla.adapters.claude_code import classify_failure
    from scylla.process import ProcessResult

    prose = "I hit max turns; the 429 rate limit docs say to back off."
    result = ProcessResult(["claude"], ".", 1, "{}", "", 1.0, False)
    usage = Usage(exit_code=1, is_error=True, subtype="error_max_turns", result_text=prose)
    classify_failure(result, usage)  # no InfraError: an agent result
