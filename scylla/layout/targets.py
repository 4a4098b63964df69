"""Which files to ask Snakemake for: one module serves the Snakefile's `rule all` and every
scylla command, so they can never disagree about what an experiment consists of."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scylla.config import Experiment
from scylla.layout.paths import FIGURE_FORMATS, FIGURES, TABLES, ExperimentPaths, RunPaths
from scylla.util import jsonio

RunKey = tuple[str, str, int]


def run_work_files(rp: RunPaths, exp: Experiment) -> list[Path]:
    """What rules WORK_RULES declare for one run: the agent's and the judges' files, and the
    judge prompt (a new one would make every judge of the run call again)."""
    files = [*rp.agent_outputs.values(), rp.judge_prompt]
    if not exp.adopted:
        files += [rp.diff, rp.checks]
    for slot in exp.slots:
        files += rp.judge_slot(slot).outputs.values()
    return files


def run_derived_files(rp: RunPaths) -> list[Path]:
    """What is derived from a run's work files, at no cost: its three records."""
    return [rp.agent_result, rp.consensus, rp.run_result]


def run_files(rp: RunPaths, exp: Experiment) -> list[Path]:
    """Every artifact one run must have (agent/result.json included: a missing intermediate
    file is not rebuilt by Snakemake when everything below it is present)."""
    files = [*rp.agent_outputs.values(), rp.agent_result, rp.judge_prompt]
    for slot in exp.slots:
        files += rp.judge_slot(slot).outputs.values()
    return [*files, rp.consensus, rp.run_result]


def experiment_report_files(ep: ExperimentPaths) -> list[Path]:
    figures = [ep.figure(n, ext) for n in FIGURES for ext in FIGURE_FORMATS]
    return [ep.report(), ep.report("md"), *(ep.table(n) for n in TABLES), *figures]


def config_files(ep: ExperimentPaths, exp: Experiment) -> list[Path]:
    """The saved configuration; config/experiment.json too, unless it is the original tool's
    own (an adopted directory: scylla never rewrites it)."""
    return [ep.resolved_config] + ([] if exp.adopted else [ep.experiment_json])


def experiment_files(ep: ExperimentPaths, exp: Experiment) -> list[Path]:
    """Everything an experiment consists of: configuration, runs, reports (`rule all`)."""
    files = config_files(ep, exp)
    for key in exp.run_keys():
        files += run_files(ep.run(key.tier, key.subtest, key.run), exp)
    return files + report_files(ep, exp)


def report_files(ep: ExperimentPaths, exp: Experiment) -> list[Path]:
    """Every report: of each subtest, each tier, and the experiment's."""
    files: list[Path] = []
    for tier, subtest in exp.subtests():
        files += [ep.subtest_report(tier, subtest), ep.subtest_report(tier, subtest, "md")]
    for tier in exp.tiers:
        files += [ep.tier_report(tier), ep.tier_report(tier, "md")]
    return files + experiment_report_files(ep)


def task_copies(ep: ExperimentPaths) -> list[Path]:
    """The experiment's copies of the task's prompt and rubric (no rule asks for them)."""
    return [ep.task_prompt, ep.task_rubric]


def unrequested_files(ep: ExperimentPaths, exp: Experiment) -> list[Path]:
    """Outputs no rule asks for: the copies of the task, and the judge prompt's diff and
    checks (Snakemake's verdict on the experiment still reads them)."""
    files = task_copies(ep)
    if not exp.adopted:
        for key in exp.run_keys():
            rp = ep.run(key.tier, key.subtest, key.run)
            files += [rp.diff, rp.checks]
    return files


def declared_files(ep: ExperimentPaths, exp: Experiment) -> list[Path]:
    """Every file a rule declares for the experiment."""
    return experiment_files(ep, exp) + unrequested_files(ep, exp)


# The rules that make the work files: paid calls, and the judge prompt every judge reads.
WORK_RULES = frozenset({"agent", "judge_prompt", "adopted_judge_prompt", "judge"})


def spelled_per_run(
    ep: ExperimentPaths, exp: Experiment, of_run: Callable[[RunPaths], list[Path]]
) -> list[str]:
    """`of_run(rp)` for every run, as `str(path)` spells each: the names are taken from the
    first run and repeated under every run's directory (30,000 paths without pathlib)."""
    keys = list(exp.run_keys())
    if not keys:
        return []
    first = ep.run(keys[0].tier, keys[0].subtest, keys[0].run)
    names = [str(f.relative_to(first.dir)) for f in of_run(first)]
    dirs = [str(ep.run(k.tier, k.subtest, k.run).dir) for k in keys]
    return [f"{d}/{n}" for d in dirs for n in names]


def settled_files(ep: ExperimentPaths, exp: Experiment) -> tuple[list[str], list[str]]:
    """The files `scylla.recovery.settled` fingerprints: (the work files, `run_work_files` of
    every run; every other file a rule declares). Together they are `declared_files`,
    spelled as `str(path)`."""
    work = spelled_per_run(ep, exp, lambda rp: run_work_files(rp, exp))
    rest = [str(f) for f in [*config_files(ep, exp), *task_copies(ep)]]
    rest += spelled_per_run(ep, exp, run_derived_files)
    return work, rest + [str(f) for f in report_files(ep, exp)]


def reports_above(ep: ExperimentPaths, exp: Experiment, touched: set[RunKey]) -> list[Path]:
    """The reports above the `touched` runs whose every run has, or will have once they are
    made, a run_result.json. Asking for any other report would make Snakemake run (or fail
    on) runs nobody asked for."""
    have = set(touched)
    for key in exp.run_keys():
        k = (key.tier, key.subtest, key.run)
        if k not in have and jsonio.read_json_object(ep.run(*k).run_result) is not None:
            have.add(k)
    ok_subtests = {
        (tier, sub)
        for tier, sub in exp.subtests()
        if all((tier, sub, n) in have for n in range(1, exp.runs + 1))
    }
    ok_tiers = {t for t in exp.tiers if all((t, s) in ok_subtests for s in exp.subtests_of(t))}
    touched_subtests = {(t, s) for t, s, _ in touched}
    touched_tiers = {t for t, _ in touched_subtests}
    files: list[Path] = []
    for tier, sub in sorted(ok_subtests & touched_subtests):
        files += [ep.subtest_report(tier, sub), ep.subtest_report(tier, sub, "md")]
    for tier in sorted(ok_tiers & touched_tiers):
        files += [ep.tier_report(tier), ep.tier_report(tier, "md")]
    if touched_tiers and ok_tiers == set(exp.tiers):
        files += experiment_report_files(ep)
    return files


def selection(ep: ExperimentPaths, exp: Experiment, runs: list[RunKey]) -> list[Path]:
    """What `scylla run` asks for when told to run only some runs now: the experiment's
    configuration files, those runs (their results and agent/result.json) and the reports
    they complete."""
    files = config_files(ep, exp)
    for key in runs:
        rp = ep.run(*key)
        files += [rp.agent_result, rp.run_result]
    return files + reports_above(ep, exp, set(runs))
