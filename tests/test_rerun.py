"""What `snakemake -n` plans after something is lost or changed, and what a run then touches.

Each test works on a private copy of the finished `mini` experiment (`workdir`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from helpers import (
    EXP,
    REPO,
    RUN_KEYS,
    downstream_of_runs,
    dry,
    edit_experiment,
    load,
    ok,
    output_of,
    read_config,
    rp,
    snakemake,
    tree_hashes,
)

RUN = ("T0", "00", 1)


def test_lost_agent_result_regenerates_from_the_logs_only(workdir):
    r = rp(workdir, RUN)
    old = load(r.agent_result)
    r.agent_result.unlink()

    plan = dry(workdir)
    # one cheap job re-derives it (with the run's consensus and result): no agent, no judge
    assert plan.counts == downstream_of_runs(1)
    assert plan.runs("run_result") == {RUN}
    assert [w["subtest"] for w in plan.wildcards("subtest_report")] == ["00"]

    agent_files = tree_hashes(r.agent_dir)
    judge_files = tree_hashes(r.judge_dir)
    proc = ok(snakemake(workdir, str(r.agent_result.relative_to(workdir))))
    assert "rule agent:" not in output_of(proc) and "rule judge:" not in output_of(proc)
    assert load(r.agent_result) == old
    # nothing else of the run was touched
    assert tree_hashes(r.judge_dir) == judge_files
    assert {k: v for k, v in tree_hashes(r.agent_dir).items() if k != "result.json"} == agent_files


def test_lost_judgment_reruns_only_that_judge(workdir):
    r = rp(workdir, RUN)
    r.judge_slot("02").judgment.unlink()
    plan = dry(workdir)
    assert plan.counts == {"judge": 1, **downstream_of_runs(1)}
    assert plan.wildcards("judge") == [
        {"experiment": EXP, "tier": "T0", "subtest": "00", "run": "01", "slot": "02"}
    ]
    assert plan.runs("run_result") == {RUN}


def test_lost_run_directory_reruns_that_runs_whole_chain(workdir):
    shutil.rmtree(rp(workdir, RUN).dir)
    plan = dry(workdir)
    assert plan.counts == {
        "agent": 1,
        "judge_prompt": 1,
        "judge": 2,
        **downstream_of_runs(1),
    }
    for rule in ("agent", "judge_prompt", "judge", "run_result"):
        assert plan.runs(rule) == {RUN}, rule
    assert sorted(w["slot"] for w in plan.wildcards("judge")) == ["01", "02"]


def _edit_rule_bodies(smk_file: Path) -> int:
    """Change the code of every rule (a no-op statement / shell prefix); return how many."""
    text = smk_file.read_text()
    text, n_run = re.subn(r"(\n    run:\n)", r"\1        _edited_by_test = True\n", text)
    text, n_shell = re.subn(r"(\n    shell:\n)", r'\1        "true && " +\n', text)
    smk_file.write_text(text)
    return n_run + n_shell


def test_editing_rule_code_reruns_nothing(workdir, tmp_path):
    flow = tmp_path / "workflow"
    flow.mkdir()
    shutil.copy2(REPO / "Snakefile", flow / "Snakefile")
    for sub in ("rules", "profiles", "config", "scylla", "envs"):
        if (REPO / sub).exists():
            shutil.copytree(
                REPO / sub, flow / sub, ignore=shutil.ignore_patterns("__pycache__", "tasks")
            )
    edited = {f.name: _edit_rule_bodies(f) for f in sorted((flow / "rules").glob("*.smk"))}
    assert edited["agent.smk"] >= 1 and edited["judge.smk"] >= 3, edited
    # the same task as the finished experiment (the copied workflow holds no tasks)
    edit_experiment(workdir, task=str(REPO / "config" / "tasks" / "textstats"))

    plan = dry(workdir, snakefile=flow / "Snakefile")
    assert f"Using workflow specific profile {flow / 'profiles' / 'default'}" in plan.text
    assert plan.counts == {}


def test_changing_one_subtests_model_reruns_exactly_its_runs(workdir):
    tiers = read_config(workdir)["experiments"][0]["tiers"]
    tiers["T0"]["subtests"]["01"]["model"] = "claude-opus-4-5-20251101"
    edit_experiment(workdir, tiers=tiers)
    plan = dry(workdir)
    changed = {("T0", "01", 1), ("T0", "01", 2)}
    assert plan.runs("agent") == changed
    assert plan.counts["agent"] == 2
    for rule in ("judge_prompt", "run_result"):
        assert plan.runs(rule) == changed, rule
    assert plan.counts["judge"] == 4
    assert [w["subtest"] for w in plan.wildcards("subtest_report")] == ["01"]
    # the saved configuration records the new model; nothing else is planned
    assert set(plan.counts) == {
        "agent",
        "judge_prompt",
        "judge",
        "run_result",
        "subtest_report",
        "tier_report",
        "experiment_report",
        "experiment_config",
        "all",
    }


def test_changing_the_agent_timeout_reruns_no_run(workdir):
    agent = read_config(workdir)["experiments"][0]["agent"]
    agent["timeout"] = 45
    edit_experiment(workdir, agent=agent)
    plan = dry(workdir)
    # Documented choice: execution limits do not change what a run means. Only the saved
    # copy of the configuration (config/*.json) is refreshed.
    assert set(plan.counts) <= {"experiment_config", "all"}, plan.counts


def test_adding_a_judge_runs_only_the_new_slot(workdir):
    before = {key: tree_hashes(rp(workdir, key).agent_dir) for key in RUN_KEYS}
    old_slots = {
        key: {s: tree_hashes(rp(workdir, key).judge_slot(s).dir) for s in ("01", "02")}
        for key in RUN_KEYS
    }
    prompts = {key: rp(workdir, key).judge_prompt.read_bytes() for key in RUN_KEYS}
    judges = read_config(workdir)["experiments"][0]["judges"]
    judges.append({"adapter": "claude-code", "cli": "claude-standin", "model": "sonnet"})
    edit_experiment(workdir, judges=judges)

    plan = dry(workdir)
    n = len(RUN_KEYS)
    assert {k: v for k, v in plan.counts.items() if k != "experiment_config"} == {
        "judge": n,
        "run_result": n,
        "subtest_report": 2,
        "tier_report": 1,
        "experiment_report": 1,
        "all": 1,
    }
    assert {w["slot"] for w in plan.wildcards("judge")} == {"03"}
    assert plan.runs("judge") == set(RUN_KEYS)

    ok(snakemake(workdir))
    for key in RUN_KEYS:
        r = rp(workdir, key)
        assert tree_hashes(r.agent_dir) == before[key], key
        assert r.judge_prompt.read_bytes() == prompts[key]
        for s in ("01", "02"):
            assert tree_hashes(r.judge_slot(s).dir) == old_slots[key][s]
        j3 = load(r.judge_slot("03").judgment)
        assert j3["is_valid"] is True and j3["judge_number"] == 3
        c = load(r.consensus)
        assert len(c["judges"]) == 3
        assert len(load(r.run_result)["judges"]) == 3
    assert dry(workdir).counts == {}
