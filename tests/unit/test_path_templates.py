"""Path templates and targets (scylla.layout.paths, scylla.layout.targets): the files of a
run, the Snakemake templates and their wildcards both ways, with Snakemake's own wildcard
functions (snakemake.io) and the workflow's constraints."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from snakemake.io import apply_wildcards, regex_from_filepattern, update_wildcard_constraints

from scylla.config import Experiment
from scylla.layout import paths, targets

KEY = ("T0", "00", 1)
WILDCARDS = {"experiment": "mini", "tier": "T0", "subtest": "00", "run": "01", "slot": "02"}


def experiment(tiers: dict, runs: int = 2, slots: tuple[int, ...] = (1, 2)) -> Experiment:
    """Just what the targets read: tiers, runs, judge slots (no resolution needed)."""
    return Experiment(
        {"name": "mini", "runs": runs, "tiers": tiers, "judges": [{"slot": s} for s in slots]}
    )


def regex(template: str | Path) -> re.Pattern[str]:
    """The regular expression Snakemake matches a file against, constraints applied."""
    constrained = update_wildcard_constraints(str(template), paths.WILDCARD_CONSTRAINTS, {})
    return re.compile(regex_from_filepattern(constrained))


def rule_outputs(run: paths.RunPaths, slot: paths.JudgePaths) -> list[Path]:
    """Every rule output of a run (one judge slot's): templates or concrete paths alike."""
    files = [*run.agent_outputs.values(), run.agent_result, run.judge_prompt, run.diff]
    return [*files, run.checks, *slot.outputs.values(), run.consensus, run.run_result]


def run_templates(t: paths.Templates) -> list[Path]:
    return rule_outputs(t.run, t.slot)


# ---------------------------------------------------------------------------------- names


def test_run_and_slot_names():
    assert paths.run_name(3) == "run_03" and paths.run_name("07") == "run_07"
    assert paths.run_name("{run}") == "run_{run}"  # a template stays a template
    assert paths.two(5) == "05" and paths.two("{slot}") == "{slot}"
    assert paths.judge_slot_dir(2) == "judge/judge_02"


def test_the_files_of_a_run(tmp_path):
    rp = paths.experiment(tmp_path / "results", "mini").run(*KEY)
    assert rp.dir == tmp_path / "results" / "mini" / "T0" / "00" / "run_01"
    files = targets.run_files(rp, experiment({"T0": {"subtests": {"00": {}}}}))
    rel = [str(f.relative_to(rp.dir)) for f in files]
    assert rel[:8] == [*paths.AGENT_FILES.values(), "agent/result.json"]
    assert rel[8] == "judge_prompt.md"
    assert rel[9:17] == [
        f"judge/judge_{s}/{n}" for s in ("01", "02") for n in paths.JUDGE_FILES.values()
    ]
    assert rel[17:] == ["judge/result.json", "run_result.json"]
    assert len(set(rel)) == len(rel)


def test_experiment_paths(tmp_path):
    ep = paths.experiment(tmp_path, "mini")
    assert ep.log("agent", "T0", "00", 1) == tmp_path / "mini/logs/T0/00/run_01/agent.log"
    assert ep.log("experiment_report") == tmp_path / "mini/logs/experiment_report.log"
    assert ep.subtest_report("T0", "01", "md") == tmp_path / "mini/T0/01/report.md"
    assert ep.table("runs") == tmp_path / "mini/tables/runs.csv"
    adopted = paths.experiment(tmp_path, "mini", paths.ADOPTED_REPORT_STEM)
    assert adopted.tier_report("T1") == tmp_path / "mini/T1/scylla_report.json"
    assert paths.log_history("logs/agent.log") == Path("logs/agent.attempts.log")


# -------------------------------------------------------------------- templates, wildcards


def test_templates_filled_in_are_the_concrete_paths():
    rp = paths.experiment("results", "mini").run(*KEY)
    concrete = rule_outputs(rp, rp.judge_slot(2))
    for template, path in zip(run_templates(paths.Templates("results")), concrete, strict=True):
        assert apply_wildcards(str(template), WILDCARDS) == str(path)


def test_wildcards_round_trip_through_snakemakes_matching():
    rp = paths.experiment("results", "mini").run(*KEY)
    m = regex(paths.Templates("results").run.agent_result).match(str(rp.agent_result))
    assert m is not None
    wildcards = m.groupdict()
    assert wildcards == {"experiment": "mini", "tier": "T0", "subtest": "00", "run": "01"}
    ref = paths.RunRef.from_wildcards(SimpleNamespace(**wildcards))
    assert ref == paths.RunRef("mini", "T0", "00", 1)
    assert paths.experiment("results", ref.experiment).of(ref) == rp
    assert paths.RunRef.from_run_dir(rp.dir) == ref
    assert str(ref) == "mini/T0/00/run_01"


@pytest.mark.parametrize(
    "path",
    [
        "results/mini/T7/00/run_01/agent/result.json",  # no such tier
        "results/mini/T0/0/run_01/agent/result.json",  # subtest not two digits
        "results/mini/T0/00/run_1/agent/result.json",  # run not two digits
        "results/.hidden/T0/00/run_01/agent/result.json",  # not an experiment name
        "results/mini/T0/00/run_01/judge/result.json",  # another rule's file
    ],
)
def test_the_constraints_refuse_what_no_rule_makes(path):
    assert regex(paths.Templates("results").run.agent_result).match(path) is None


def test_every_file_of_a_run_matches_exactly_one_template():
    """No two rules could claim one file (Snakemake's ambiguity): the constraints keep the
    run and slot templates apart."""
    patterns = [regex(t) for t in run_templates(paths.Templates("results"))]
    rp = paths.experiment("results", "mini").run(*KEY)
    files = {f for slot in (1, 12) for f in rule_outputs(rp, rp.judge_slot(slot))}
    exp = experiment({"T0": {"subtests": {"00": {}}}}, slots=(1, 12))
    assert set(targets.run_files(rp, exp)) <= files
    for f in sorted(files):
        assert sum(bool(p.match(str(f))) for p in patterns) == 1, f


def test_shell_templates_name_the_wildcards_object():
    t = paths.Templates("results")
    assert t.shell(t.run.run_result) == (
        "results/{wildcards.experiment}/{wildcards.tier}/{wildcards.subtest}/"
        "run_{wildcards.run}/run_result.json"
    )
    assert t.log("tier_report", "tier") == "results/{experiment}/logs/{tier}/tier_report.log"


@pytest.mark.parametrize("bad", ["results/mini/T0/00", "results/mini/T0/00/run_x", "run_01"])
def test_a_directory_that_is_not_a_run(bad):
    with pytest.raises(ValueError):
        paths.RunRef.from_run_dir(bad)


def test_the_run_directory_of_a_file_inside_it(tmp_path):
    rp = paths.experiment(tmp_path, "mini").run("T1", "03", 12)
    assert paths.run_dir_of(rp.judge_slot(1).judgment) == rp.dir
    assert paths.RunRef.root_of(rp.dir) == tmp_path
    with pytest.raises(ValueError):
        paths.run_dir_of(tmp_path / "mini" / "report.json")


def test_one_spelling_of_the_results_root(tmp_path):
    (tmp_path / "wd").mkdir()
    wd = tmp_path / "wd"
    for spelling in ("results", "./results", "x/../results", str(wd / "results")):
        assert paths.canonical_root(spelling, wd) == Path("results"), spelling
    assert paths.canonical_root("../elsewhere", wd) == (tmp_path / "elsewhere").resolve()


# ------------------------------------------------------------------------------- targets


def test_reports_above_ask_only_for_reports_whose_runs_are_all_there(tmp_path):
    ep = paths.experiment(tmp_path, "mini")
    exp = experiment({"T0": {"subtests": {"00": {}, "01": {}}}, "T1": {"subtests": {"00": {}}}})
    touched = {("T0", "00", 1)}
    assert targets.reports_above(ep, exp, touched) == []  # run 2 of T0/00 is not there

    rel = lambda files: [str(f.relative_to(ep.dir)) for f in files]  # noqa: E731
    done = [("T0", "00", 2), ("T0", "01", 1), ("T0", "01", 2), ("T1", "00", 1)]
    for key in done:
        ep.run(*key).run_result.parent.mkdir(parents=True)
        ep.run(*key).run_result.write_text(json.dumps({"run_number": key[2]}))
    # T0/00 and T0 are complete now; T1/00 is not (run 2): no experiment report yet
    assert rel(targets.reports_above(ep, exp, touched)) == [
        "T0/00/report.json",
        "T0/00/report.md",
        "T0/report.json",
        "T0/report.md",
    ]
    everything = targets.reports_above(ep, exp, {*touched, ("T1", "00", 2)})
    assert rel(everything)[-len(targets.experiment_report_files(ep)) :] == rel(
        targets.experiment_report_files(ep)
    )
    assert "T1/00/report.json" in rel(everything) and "T0/01/report.json" not in rel(everything)


def test_experiment_files_cover_every_run_and_report(tmp_path):
    ep = paths.experiment(tmp_path, "mini")
    exp = experiment({"T0": {"subtests": {"00": {}, "01": {}}}}, runs=3, slots=(1,))
    files = targets.experiment_files(ep, exp)
    assert files[:2] == [ep.resolved_config, ep.experiment_json]
    run_results = [f for f in files if f.name == "run_result.json"]
    assert len(run_results) == 6
    per_run = len(targets.run_files(ep.run(*KEY), exp))
    n_reports = 2 * 2 + 2 + len(targets.experiment_report_files(ep))
    assert len(files) == 2 + 6 * per_run + n_reports
    assert len(set(files)) == len(files)
    adopted = Experiment({**exp.data, "adopted": {"from": "x"}})
    assert ep.experiment_json not in targets.config_files(ep, adopted)  # never rewritten


@pytest.mark.parametrize("adopted", [False, True], ids=["native", "adopted"])
def test_settled_files_are_the_declared_files_work_first(tmp_path, adopted):
    """What recovery.settled fingerprints, spelled without pathlib, is exactly what the rules
    declare, with the work files (what an agent or judge call makes) on their own."""
    data = {"T0": {"subtests": {"00": {}, "01": {}}}, "T1": {"subtests": {"00": {}}}}
    exp = experiment(data, runs=3, slots=(1, 3))
    if adopted:
        exp = Experiment({**exp.data, "adopted": {"from": "x"}})
    ep = paths.experiment(tmp_path / "results", "mini")
    work, rest = targets.settled_files(ep, exp)
    declared = [str(f) for f in targets.declared_files(ep, exp)]
    assert sorted(work + rest) == sorted(declared) and len(set(declared)) == len(declared)
    runs = [ep.run(k.tier, k.subtest, k.run) for k in exp.run_keys()]
    assert work == [str(f) for rp in runs for f in targets.run_work_files(rp, exp)]
    rp = ep.run("T1", "00", 3)
    assert str(rp.judge_slot("03").judgment) in work and str(rp.agent_output) in work
    assert (str(rp.diff) in work) is not adopted
    assert {str(rp.agent_result), str(rp.consensus), str(rp.run_result)} <= set(rest)
    assert str(ep.report()) in rest and str(ep.subtest_report("T0", "01")) in rest
