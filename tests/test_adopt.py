"""`scylla adopt` on copies of a real ProjectScylla directory (../shared/fixtures), in both of
the original tool's layouts: status, regeneration, re-judging and reports work on it like on a
directory scylla made, and no original file is ever rewritten."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import ORIGINAL_FIXTURE, STANDIN, dry, load, output_of, scylla, tool_env, tree_hashes

from scylla.layout import paths
from scylla.recovery import adopt

NAME = "2026-01-20T06-13-07-test-001"
RUN = Path("T0/00/run_01")
JUDGES = ["claude-opus-4-5-20251101", "claude-sonnet-4-5-20250929", "claude-haiku-4-5"]

pytestmark = pytest.mark.skipif(
    not ORIGINAL_FIXTURE.is_dir(), reason=f"{ORIGINAL_FIXTURE} (../shared/fixtures) not present"
)


def copy_original(wd: Path, layout: str) -> Path:
    """The fixture as the original tool left it, under wd/results/ (modification times as the
    fixture has them: its derived files are older than their logs, as after a plain copy)."""
    d = wd / "results" / NAME
    shutil.copytree(ORIGINAL_FIXTURE, d)
    for p in [d, *d.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    if layout == "staged":
        stage = d / "completed" / RUN.parent
        stage.mkdir(parents=True)
        shutil.move(d / RUN, stage / RUN.name)
        (d / "in_progress").mkdir()
    return d


def run_dir(d: Path, layout: str) -> Path:
    return d / "completed" / RUN if layout == "staged" else d / RUN


def originals(d: Path) -> dict[str, str]:
    """Checksums of every file the original tool wrote (what scylla adds left out)."""
    ours = ("config/scylla.json", "task/", "logs/", "tables/", "figures/", "spend.jsonl")
    return {
        k: v
        for k, v in tree_hashes(d).items()
        if not k.startswith(ours) and "scylla_report" not in k and k != ".spend.lock"
    }


@pytest.fixture(params=["flat", "staged"])
def adopted(request, tmp_path: Path) -> tuple[Path, Path, str, dict[str, str]]:
    """(workdir, experiment dir, layout, checksums before adopting), adopted."""
    layout = request.param
    d = copy_original(tmp_path, layout)
    before = originals(d)
    proc = scylla(tmp_path, "adopt", d)
    assert proc.returncode == 0, output_of(proc)
    assert f"{layout} layout" in proc.stdout
    return tmp_path, d, layout, before


def claude_is_the_standin(tmp_path: Path) -> dict[str, str]:
    """The environment in which `claude` (the CLI an adopted config names) is the stand-in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "claude").exists():
        (bin_dir / "claude").symlink_to(STANDIN)
    return {"PATH": f"{bin_dir}{os.pathsep}{tool_env()['PATH']}"}


def statuses(wd: Path, d: Path) -> list[dict]:
    proc = scylla(wd, "status", d, "--format", "json")
    assert proc.returncode == 0, output_of(proc)
    return json.loads(proc.stdout)


def test_dry_run_shows_the_findings_and_writes_nothing(tmp_path: Path):
    d = copy_original(tmp_path, "flat")
    stamp = {str(p): p.stat().st_mtime_ns for p in d.rglob("*")}
    proc = scylla(tmp_path, "adopt", d, "--dry-run", "--format", "json")
    assert proc.returncode == 0, output_of(proc)
    found = json.loads(proc.stdout)
    assert found["experiment_id"] == "test-001" and found["layout"] == "flat"
    assert found["tiers"] == {"T0": 1} and found["runs_found"] == 1
    assert found["statuses"] == {"completed": 1}
    assert [j["model"] for j in found["judges"]] == JUDGES
    assert found["writes"] == ["config/scylla.json", "task/prompt.md", "task/rubric.yaml"]
    # the copy lost the order of modification times: derived files would be re-timed
    assert found["retimed"] > 0
    assert any("T1" in line for line in found["not_mapped"])  # tiers_to_run beyond the disk
    assert {str(p): p.stat().st_mtime_ns for p in d.rglob("*")} == stamp


def test_adopted_directory_is_completed_and_unchanged(adopted):
    wd, d, layout, before = adopted
    saved = load(d / "config" / "scylla.json")["experiments"][0]
    assert saved["name"] == NAME and saved["adopted"]["layout"] == layout
    assert [j["model"] for j in saved["judges"]] == JUDGES
    assert saved["runs"] == 1 and list(saved["tiers"]) == ["T0"]
    # the subtest's workspace configuration, as the original composed it
    assert ".claude/settings.json" in saved["tiers"]["T0"]["subtests"]["00"]["files"]
    [run] = statuses(wd, d)
    assert run["status"] == "completed", run
    assert [j["status"] for j in run["judges"]] == ["complete"] * 3
    assert originals(d) == before  # adopt + status rewrote nothing
    if layout == "staged":
        assert (d / RUN).is_symlink() and os.readlink(d / RUN) == "../../completed/T0/00/run_01"
    # nothing is left for Snakemake to do in the runs: only scylla's own reports are new
    plan = dry(wd, config=d / "config" / "scylla.json")
    assert set(plan.counts) <= {f"adopted_{r}" for r in ("subtest_report", "tier_report")} | {
        "adopted_experiment_report",
        "all",
    }, plan.counts


def test_missing_agent_result_is_regenerated_as_the_original_wrote_it(adopted):
    wd, d, layout, before = adopted
    result = run_dir(d, layout) / "agent" / "result.json"
    original = load(result)
    result.unlink()
    assert statuses(wd, d)[0]["status"] == "results"
    plan = dry(wd, config=d / "config" / "scylla.json")
    assert plan.counts.get("adopted_agent_result") == 1, plan.counts
    paid = {"agent", "judge", "judge_prompt", "adopted_judge_prompt", "adopted_run_result"}
    assert not paid & set(plan.counts), plan.counts
    proc = scylla(wd, "regenerate", d)
    assert proc.returncode == 0, output_of(proc)
    made = load(result)
    assert {k: made[k] for k in original} == original  # stdout and stderr included here
    assert statuses(wd, d)[0]["status"] == "completed"
    after = originals(d)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == {str(result.relative_to(d))}, changed


def test_missing_run_result_is_rebuilt_with_the_original_figures(adopted):
    wd, d, layout, before = adopted
    rd = run_dir(d, layout)
    original = load(rd / "run_result.json")
    (rd / "run_result.json").unlink()
    proc = scylla(wd, "regenerate", d)
    assert proc.returncode == 0, output_of(proc)
    made = load(rd / "run_result.json")
    for key in (
        "run_number",
        "exit_code",
        "token_stats",
        "tokens_input",
        "tokens_output",
        "cost_usd",
        "judge_score",
        "judge_passed",
        "judge_grade",
        "judge_reasoning",
        "duration_seconds",
        "agent_duration_seconds",
        "judge_duration_seconds",
    ):
        assert made[key] == original[key], key
    assert [j["model"] for j in made["judges"]] == JUDGES
    after = originals(d)
    assert {k for k in before if before[k] != after.get(k)} == {
        str((rd / "run_result.json").relative_to(d))
    }


def test_report_gives_the_original_figures_beside_its_reports(adopted):
    wd, d, _layout, before = adopted
    proc = scylla(wd, "report", d, "--format", "json")
    assert proc.returncode == 0, output_of(proc)
    theirs = load(d / "T0" / "00" / "report.json")["summary"]
    ours = load(d / "T0" / "00" / "scylla_report.json")["summary"]
    for key in ("pass_rate", "mean_score", "median_score", "total_cost"):
        assert ours[key] == pytest.approx(theirs[key]), key
    assert ours["grade_distribution"] == theirs["grade_distribution"]
    tier = load(d / "T0" / "scylla_report.json")["summary"]
    assert tier["total_cost"] == pytest.approx(
        load(d / "T0" / "report.json")["summary"]["total_cost"]
    )
    assert json.loads(proc.stdout)["spend"]["spent_usd"] == pytest.approx(0.1351093, abs=1e-6)
    assert originals(d) == before  # the original's report.json|md stay as they are


def test_rejudging_an_adopted_run_keeps_the_original_judgment(adopted, tmp_path: Path):
    wd, d, layout, _before = adopted
    rd = run_dir(d, layout)
    judgment = (rd / "judge" / "judge_02" / "judgment.json").read_bytes()
    prompt = (rd / "judge_prompt.md").read_bytes()
    agent = tree_hashes(rd / "agent")
    calls = wd / "calls.jsonl"
    env = claude_is_the_standin(tmp_path)  # the adopted config names the real CLI
    proc = scylla(wd, "rerun", "judges", d, "--status", "complete", "--judge-slot", "2", env=env)
    assert proc.returncode == 0, output_of(proc)
    kinds = [json.loads(line).get("role") for line in calls.read_text().splitlines()]
    assert kinds == ["judge"], kinds  # one judge call, never the agent
    archived = list(rd.glob("attempts/*/judge/judge_02/judgment.json"))
    assert [p.read_bytes() for p in archived] == [judgment]  # set aside, not lost
    assert load(rd / "judge" / "judge_02" / "judgment.json")["is_valid"] is True
    assert (rd / "judge_prompt.md").read_bytes() == prompt  # the original prompt, reused
    assert tree_hashes(rd / "agent") == agent
    [run] = statuses(wd, d)
    assert run["status"] == "completed" and run["judges"][1]["status"] == "complete"


def test_refusals_are_one_line(tmp_path: Path, finished):
    d = copy_original(tmp_path, "flat")
    assert scylla(tmp_path, "adopt", d).returncode == 0
    again = scylla(tmp_path, "adopt", d)
    assert again.returncode != 0 and "adopted already" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    native = scylla(tmp_path, "adopt", finished.dir / "results" / "mini")
    assert native.returncode != 0 and "written by scylla" in native.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = scylla(tmp_path, "adopt", empty)
    assert proc.returncode != 0 and "not a ProjectScylla experiment directory" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_retime_orders_each_output_after_its_inputs(tmp_path: Path):
    d = copy_original(tmp_path, "flat")
    rp = paths.RunPaths(d / RUN)
    slots = ["01", "02", "03"]
    base = rp.agent_stdout.stat().st_mtime_ns
    os.utime(rp.agent_output, ns=(base, base + 5_000))  # the agent's answer, newest
    os.utime(rp.judge_prompt, ns=(base, base))  # older than what it was made from
    moves = adopt.retime_plan(rp.dir, slots)
    assert (rp.judge_prompt, base, base + 5_000) in moves
    for path, _old, new in moves:
        os.utime(path, ns=(new, new))
    assert adopt.retime_plan(rp.dir, slots) == []  # every output now as new as its inputs
    # so the judges' files follow the prompt they read, the results follow everything
    newest = max(rp.judge_slot(s).judgment.stat().st_mtime_ns for s in slots)
    assert rp.judge_slot("01").judgment.stat().st_mtime_ns >= base + 5_000
    assert rp.run_result.stat().st_mtime_ns >= newest


def test_a_run_in_both_stages_counts_once(tmp_path: Path):
    d = copy_original(tmp_path, "staged")
    shutil.copytree(d / "completed" / "T0", d / "in_progress" / "T0")
    unmapped: list[str] = []
    layout, runs = adopt.find_runs(d, unmapped)
    assert layout == "staged" and [r.stage for r in runs] == ["completed"]
    assert any("both completed/ and in_progress/" in line for line in unmapped)


def test_rerunning_an_adopted_agent_archives_the_original_run(tmp_path: Path):
    """The task repository must be reachable to re-run an agent: a local clone stands in for
    the original's GitHub URL (this machine has no network)."""
    repo = tmp_path / "Hello-World"
    repo.mkdir()
    (repo / "README").write_text("Hello World!\n")
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-qm", "task"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    d = copy_original(tmp_path, "flat")
    cfg = d / "config" / "experiment.json"
    cfg.write_text(json.dumps({**load(cfg), "task_repo": str(repo), "task_commit": head.strip()}))
    assert scylla(tmp_path, "adopt", d).returncode == 0
    stdout = (d / RUN / "agent" / "stdout.log").read_bytes()
    calls = tmp_path / "calls.jsonl"
    # an agent that answers (without the task's solution the stand-in's default is nothing)
    env = {**claude_is_the_standin(tmp_path), "CLAUDE_STANDIN_MODE": "agent:good"}
    proc = scylla(tmp_path, "rerun", "agents", d, "--status", "completed", env=env)
    assert proc.returncode == 0, output_of(proc)
    roles = sorted(json.loads(line)["role"] for line in calls.read_text().splitlines())
    assert roles == ["agent", "judge", "judge", "judge"], roles
    # the paid original, set aside as attempt 1 (the new one is attempt 2)
    assert (d / RUN / "attempts" / "1" / "agent" / "stdout.log").read_bytes() == stdout
    [run] = statuses(tmp_path, d)
    assert run["status"] == "completed", run
    assert (d / RUN / "workspace" / ".git").exists()  # a real worktree of the task commit
