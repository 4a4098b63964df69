"""Changes of meaning: visible before anything runs, confirmed, archived, exact; and
formatting-only edits cost nothing (reproductions 2 and 3)."""

from __future__ import annotations

import json
import shutil

import helpers as h
import pytest
import yaml
from helpers import faults as f

from scylla.recovery import attempts

SUB01 = [k for k in f.RUNS if k[1] == "01"]


@pytest.fixture
def moved(tree, tmp_path):
    """The tree with its task copied next to it (so a test may edit the task)."""
    task = tmp_path / "task" / "quick"
    shutil.copytree(_task_of(tree), task)
    h.write_config(tree, f.experiment(task))
    return tree, task


def _task_of(tree):
    cfg = yaml.safe_load((tree / f.CONFIG).read_text())
    return cfg["experiments"][0]["task"]


def _status(wd, *extra):
    proc = f.ok(f.scylla(wd, "status", "results/mini", "--format", "json", *extra))
    return h.by_run(json.loads(proc.stdout))


def _plan(wd, config=f.CONFIG):
    proc = f.ok(f.snakemake(wd, "-n", config=config))
    return h.parse_plan(h.output_of(proc))


def _edit(wd, name="new.yaml", **changes):
    cfg = yaml.safe_load((wd / f.CONFIG).read_text())
    exp = cfg["experiments"][0]
    for key, value in changes.items():
        if key == "sub01_model":
            exp["tiers"]["T0"]["subtests"]["01"]["model"] = value
        else:
            exp[key] = value
    (wd / name).write_text(yaml.safe_dump(cfg))
    return name


def test_a_model_change_is_shown_asked_archived_and_exact(moved):
    wd, _task = moved
    case = f.Case("subtest model override", wd, protect=[k for k in f.RUNS if k not in SUB01])
    new = _edit(wd, sub01_model="opus")
    before = {k: f.run_files(f.rp(wd, k).dir) for k in SUB01}
    rows = _status(wd, "--config", new)
    assert {k for k, r in rows.items() if r["status"] == "outdated"} == set(SUB01)
    assert {rows[k]["reason"] for k in SUB01} == {"model changed"}
    # status agrees with what snakemake would re-run
    assert _plan(wd, new).runs("agent") == set(SUB01)
    refused = f.scylla(wd, "run", new)
    assert refused.returncode == 2, h.output_of(refused)
    assert "2 run(s) will run their agent again" in refused.stderr
    assert "model changed" in refused.stderr and "--yes" in refused.stderr
    assert case.new_calls() == []
    f.ok(f.scylla(wd, "run", new, "--yes"))
    for key in SUB01:
        run = f.rp(wd, key)
        old = attempts.read(run.attempts / "1")
        assert old.retired and "superseded" in old.record["retired"]["reason"]
        # every file of the old attempt kept: its agent files and the judging it had
        kept = f.run_files(old.dir)
        for rel, digest in before[key].items():
            if rel.startswith("agent/") and rel != "agent/result.json":
                assert kept[rel] == digest, rel
        assert (old.dir / "judge" / "judge_01" / "judgment.json").is_file()
        assert (old.dir / "run_result.json").is_file()
        assert json.loads(run.agent_result.read_text())["model"] == "opus"
    agents = [c for c in case.new_calls() if c["role"] == "agent"]
    assert len(agents) == 2
    rows = _status(wd)
    assert all(rows[k]["earlier_cost_usd"] > 0 for k in SUB01)
    assert _plan(wd, new).counts == {}
    case.close("2 of 4 runs re-run after --yes; attempts kept")


@pytest.mark.parametrize(
    "spelling", ["relative", "absolute"], ids=["saved-config-relative", "saved-config-absolute"]
)
def test_both_spellings_of_the_saved_config_see_the_same_bookkeeping(tree, spelling):
    """Reproduction 2: resuming with results/X/config/scylla.json (any spelling) must plan
    exactly what the original config would, and a model change must reach every run."""
    case = f.Case(f"{spelling} saved-config spelling", tree, protect=f.RUNS)
    saved = h.ep(tree).resolved_config
    arg = str(saved.resolve()) if spelling == "absolute" else str(saved.relative_to(tree))
    plan = h.parse_plan(h.output_of(f.ok(f.scylla(tree, "run", arg, "--", "-n"))))
    assert plan.counts == {}, plan.counts
    changed = h.parse_plan(
        h.output_of(f.ok(f.scylla(tree, "run", arg, "--model", "opus", "--", "-n")))
    )
    assert changed.counts.get("agent") == len(f.RUNS), changed.text[-3000:]
    case.close("nothing planned; a model change reaches 4/4 runs")


def test_a_rubric_change_rejudges_and_keeps_the_old_judgments(moved):
    wd, task = moved
    case = f.Case("rubric meaning change", wd)
    rubric = task / "rubric.yaml"
    data = yaml.safe_load(rubric.read_text())
    data["grading"]["pass_threshold"] = 0.7
    rubric.write_text(yaml.safe_dump(data))
    rows = _status(wd, "--config", f.CONFIG)
    assert {j["status"] for r in rows.values() for j in r["judges"]} == {"outdated"}
    assert {r["status"] for r in rows.values()} == {"completed"}
    f.ok(f.scylla(wd, "run", f.CONFIG, "--yes"))
    assert {c["role"] for c in case.new_calls()} == {"judge"}
    for key in f.RUNS:
        slot = f.rp(wd, key).judge_slot("01")
        assert attempts.numbers(slot.attempts) == [1, 2]
        assert attempts.read(slot.attempts / "1").retired
    case.close("judges re-run, old judge attempts kept")


def test_formatting_only_edits_cost_nothing(moved):
    """Reproduction 3: a comment-only rubric edit re-ran every judge (42 paid calls)."""
    wd, task = moved
    case = f.Case("formatting-only edits (rubric, prompt, config)", wd, protect=f.RUNS)
    rubric = task / "rubric.yaml"
    text = rubric.read_text()
    lines = text.splitlines()
    # a comment, key quoting and indentation-free whitespace: the same YAML data
    rubric.write_text(
        "# reviewed on 2026-11-23\n"
        + "\n".join(lines).replace(
            'scoring_type: "checklist"', "scoring_type: checklist   # the default"
        )
        + "\n\n\n"
    )
    prompt = task / "prompt.md"
    prompt.write_text(prompt.read_text().rstrip("\n") + "   \n\n")
    cfg = yaml.safe_load((wd / f.CONFIG).read_text())
    exp = cfg["experiments"][0]
    cfg["experiments"][0] = dict(reversed(list(exp.items())))  # key order
    (wd / f.CONFIG).write_text("# my experiment\n" + yaml.safe_dump(cfg, indent=4))
    assert {r["status"] for r in _status(wd, "--config", f.CONFIG).values()} <= {"completed"}
    assert _plan(wd).counts.keys() <= {"experiment_config", "all"}
    proc = f.ok(f.scylla(wd, "run", f.CONFIG))
    assert "will run their agent again" not in proc.stderr
    wasted = len(case.new_calls())
    case.close("no digest changed", wasted=wasted)
    assert wasted == 0


def test_switching_back_to_an_earlier_config_costs_nothing(tree):
    """Config A, then B (--yes: paid), then A again: A's attempts are adopted again, judges
    included; only what B changed was ever paid for."""
    case = f.Case("config A -> B -> A", tree, protect=[k for k in f.RUNS if k not in SUB01])
    before = {k: f.rp(tree, k).agent_output.read_bytes() for k in SUB01}
    b = _edit(tree, sub01_model="opus")
    f.ok(f.scylla(tree, "run", b, "--yes"))
    paid_for_b = len(case.new_calls())
    assert len([c for c in case.new_calls() if c["role"] == "agent"]) == 2
    f.ok(f.scylla(tree, "run", f.CONFIG, "--yes"))
    assert len(case.new_calls()) == paid_for_b, case.new_calls()[paid_for_b:]
    for key in SUB01:
        run = f.rp(tree, key)
        assert run.agent_output.read_bytes() == before[key]
        assert json.loads(run.agent_timing.read_text())["attempt"] == 1
    assert {r["status"] for r in _status(tree).values()} <= {"completed", "failed"}
    assert _plan(tree).counts == {}
    case.close("switched back: 0 calls for A the second time")


def test_a_judge_model_change_says_model_changed(tree):
    cfg = yaml.safe_load((tree / f.CONFIG).read_text())
    cfg["experiments"][0]["judges"][0]["model"] = "sonnet"
    (tree / "j.yaml").write_text(yaml.safe_dump(cfg))
    rows = _status(tree, "--config", "j.yaml")
    assert {r["judges"][0]["reason"] for r in rows.values()} <= {"model changed", ""}
    assert {r["judges"][0]["status"] for r in rows.values()} <= {"outdated", "agent_failed"}
