"""Money: a spend cap that stops cleanly and resumes, forecasts before paying, and costs that
are unknown are never counted as 0 (issue: money and failure classes)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import yaml
from helpers import REPO, experiment_cfg, scylla

from scylla import spend
from scylla.layout import paths


def files_of(run_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and "workspace" not in p.parts and p.name != "heartbeat"
    }


def test_the_spend_cap_stops_cleanly_and_raising_it_finishes_the_rest(tmp_path):
    exp = experiment_cfg(task=str(REPO / "config" / "tasks" / "textstats"), max_cost_usd=0.3)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"experiments": [exp]}))
    # One paid call at a time, and one job at a time: `--parallel 1` alone runs a finished
    # agent's judge prompt beside the next agent, which can then spend the cap before the
    # first run is judged. With `--cores 1` the first run is judged before the next agent.
    first = scylla(tmp_path, "run", "cfg.yaml", "--parallel", "1", "--", "--cores", "1")
    assert first.returncode != 0
    stop = [line for line in first.stderr.splitlines() if line.startswith("scylla: stopped:")]
    assert len(stop) == 1 and "spend cap" in stop[0] and "--max-cost" in stop[0], first.stderr
    ep = paths.experiment(tmp_path / "results", "mini")
    spent = spend.spent(ep).total
    one_job = max(c for cs in spend.spent(ep).agent_costs.values() for c in cs)
    assert 0.3 <= spent <= 0.3 + one_job  # at most the one job running with --parallel 1
    table = scylla(tmp_path, "status", "results/mini").stdout
    assert "stopped by the spend cap" in table, table
    report = json.loads(ep.report().read_text())
    assert report["partial"] and report["spend"]["stopped_by_spend_cap"], report["spend"]
    assert "Stopped by the spend cap" in ep.report("md").read_text()
    rows = json.loads(scylla(tmp_path, "status", "results/mini", "--format", "json").stdout)
    done = [r for r in rows if r["status"] in ("completed", "failed")]
    assert done and len(done) < len(rows)
    for r in rows:  # what the cap kept from running is infra, and says so; never a failure
        if r not in done:
            assert r["failure_class"] == "infra" and "spend_cap" in r["failure_reason"], r
        assert "failed" not in {j["status"] for j in r["judges"]}, r
    # status counts every dollar the ledger has: runs still waiting for judges included
    counted = sum(r["cost_usd"] + r["earlier_cost_usd"] for r in rows)
    assert abs(counted - spent) < 1e-6, (counted, spent)
    kept = {
        (r["tier"], r["subtest"], r["run"]): files_of(ep.run(r["tier"], r["subtest"], r["run"]).dir)
        for r in done
    }
    # a rerun under the same cap stops the same way: one line, no job report, nothing paid
    rerun = scylla(tmp_path, "rerun", "agents", "results/mini", "--status", "missing")
    said = rerun.stdout + rerun.stderr
    assert rerun.returncode != 0 and said.count("scylla: stopped:") == 1, said
    assert "RuleException" not in said and "Trying to restart" not in said, said
    assert spend.spent(ep).total == spent
    # raise the cap: the rest is run, what was finished is untouched
    again = scylla(tmp_path, "run", "cfg.yaml", "--max-cost", "100")
    assert again.returncode == 0, again.stdout + again.stderr
    rows = json.loads(scylla(tmp_path, "status", "results/mini", "--format", "json").stdout)
    assert {r["status"] for r in rows} <= {"completed", "failed"}
    for key, before in kept.items():
        now = files_of(ep.run(*key).dir)
        assert {k: v for k, v in now.items() if k in before} == before, key


def test_a_dry_run_forecasts_the_cost_of_the_rerun(tmp_path):
    """The demo, one tier deleted: the dry-run's forecast within 25 % of what it then costs."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["experiments"][0]["agent"]["env"]["CLAUDE_STANDIN_DELAY"] = "0"
    cfg["experiments"][0]["task"] = str(REPO / "config" / "tasks" / "textstats")
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump(cfg))
    assert scylla(tmp_path, "run", "demo.yaml").returncode == 0
    ep = paths.experiment(tmp_path / "results", "demo")
    shutil.rmtree(ep.dir / "T1")
    dry = scylla(tmp_path, "run", "demo.yaml", "--", "-n")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    m = re.search(r"(\d+) agent run\(s\), (\d+) judge call\(s\) ≈ \$([0-9.]+)", dry.stdout)
    assert m, dry.stdout[-2000:]
    forecast = float(m.group(3))
    before = spend.spent(ep).total
    assert scylla(tmp_path, "run", "demo.yaml").returncode == 0
    actual = spend.spent(ep).total - before
    assert abs(forecast - actual) <= 0.25 * actual, (forecast, actual)
    (tmp_path / "forecast.json").write_text(json.dumps({"forecast": forecast, "actual": actual}))
    print(f"forecast ${forecast:.4f} vs actual ${actual:.4f}")


def test_a_killed_agent_has_an_unknown_cost_not_zero(tmp_path):
    exp = experiment_cfg(task=str(REPO / "config" / "tasks" / "textstats"), runs=1)
    exp["tiers"] = {"T0": {"subtests": {"00": {}}}}
    exp["agent"]["timeout"] = 2
    exp["agent"]["env"]["CLAUDE_STANDIN_MODE"] = "agent:hang"
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({"experiments": [exp]}))
    assert scylla(tmp_path, "run", "cfg.yaml").returncode == 0
    run = paths.experiment(tmp_path / "results", "mini").run("T0", "00", 1)
    result = json.loads(run.agent_result.read_text())
    assert result["cost_usd"] is None and result["cost_known"] is False
    assert json.loads(run.run_result.read_text())["cost_usd"] is None
    report = json.loads(paths.experiment(tmp_path / "results", "mini").report().read_text())
    assert '"runs_with_unknown_cost": 1' in json.dumps(report), report
