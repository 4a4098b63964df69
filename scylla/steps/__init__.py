"""One function per Snakemake rule. Rules stay thin: they call exactly one of these.

Each step appends what it did (and any traceback) to the rule's `log:` file, which Snakemake
keeps even when the job fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from scylla import records
from scylla.config import Experiment
from scylla.layout.paths import ExperimentPaths, RunPaths, RunRef, run_dir_of
from scylla.util import joblog, jsonio


@contextmanager
def job_log(log: str | Path, what: str, synced_at_end: bool = False) -> Iterator[None]:
    """The step's start, end or failure in its log. `synced_at_end`: for steps that make
    only what Snakemake guards as outputs or what is derived again at no cost (records made
    from paid files, reports), every file written is fsynced once the work is done, not after
    each write (jsonio.synced_at_end)."""

    def write(msg: str) -> None:
        joblog.append(log, msg)

    write(f"start {what}")
    try:
        with jsonio.synced_at_end() if synced_at_end else nullcontext():
            yield
    except BaseException:
        import traceback  # here: only a failed step formats one

        write(f"FAILED {what}\n{traceback.format_exc()}")
        raise
    write(f"done {what}")


def prepare_step_environment(workflow_dir: str) -> None:
    """Make `python -m scylla.steps` work in shell jobs: this package importable and this
    interpreter first on PATH (a conda env, when used, is activated in front of it)."""
    import os
    import sys

    os.environ["PYTHONPATH"] = os.pathsep.join(
        [workflow_dir, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    from scylla.util.process import prepend_path

    os.environ["PATH"] = prepend_path(str(Path(sys.executable).parent), os.environ["PATH"])


def _ep(root: str | Path, exp: Experiment) -> ExperimentPaths:
    return exp.paths_under(root)


def experiment_config(root: str | Path, exp: Experiment, log: str) -> None:
    with job_log(log, "experiment_config"):
        ep = _ep(root, exp)
        jsonio.write_json(ep.resolved_config, {"experiments": [exp.saved_form()]})
        if not exp.adopted:  # an adopted directory's config/experiment.json is the original's
            jsonio.write_json(ep.experiment_json, exp.legacy_experiment_json())
        jsonio.write_text(ep.task_prompt, exp.task_spec.prompt)
        jsonio.write_text(ep.task_rubric, exp.task_spec.rubric)


def run_agent(root: Path, exp: Experiment, ref: RunRef, log: str, attempt: int) -> None:
    from scylla.steps import agent

    with job_log(log, f"agent (snakemake try {attempt})"):
        agent.run_agent(exp, root, ref, Path(log), attempt)


def judge_prompt_(
    root: str | Path, exp: Experiment, ref: RunRef, log: str, tools: str | None = None
) -> None:
    """Rule judge_prompt, in one of Snakemake's threads (no Python process of its own); the
    rubric's checks run in `tools`, the rule's conda env when Snakemake deploys one."""
    from scylla.steps import judge_prompt

    with job_log(log, "judge_prompt"):
        ep = _ep(root, exp)
        judge_prompt.write(exp, ep, ep.of(ref), tools)


def judge(
    root: Path, exp: Experiment, ref: RunRef, slot_id: str, log: str, attempt: int = 1
) -> None:
    from scylla.steps import judge_slot

    with job_log(log, f"judge slot {slot_id}"):
        ep = _ep(root, exp)
        judge_slot.run_slot(exp, ep.of(ref), slot_id, attempt, Path(log), ep)


def judge_in_thread(
    root: Path, exp: Experiment, ref: RunRef, slot_id: str, log: str, attempt: int = 1
) -> None:
    """Rule judge for a slot that makes no call (adapter `checks`: it scores checks.json), in
    one of Snakemake's threads rather than a Python process of its own. Its attempt's lease
    names the thread. Fails the job as the process would have, in one line."""
    code = guarded("judge", log, lambda: judge(root, exp, ref, slot_id, log, attempt))
    if code:
        raise RuntimeError(f"judge slot {slot_id} failed (log: {log})")


def guarded(rule: str, log: str, call: Callable[[], None]) -> int:
    """A job of rule agent or judge, as its exit code: no paid call once this scheduler was
    stopped; an infrastructure error is one line (details in the log) and, when waiting cannot
    heal it, stops the scheduler from starting new paid jobs."""
    import sys

    from scylla.agents.base import InfraError
    from scylla.recovery import failures, stopping

    try:
        earlier = stopping.stopped(Path.cwd()) if rule in ("agent", "judge") else None
        if earlier is not None:  # this scheduler was stopped: start no paid call
            raise InfraError("stopped", f"not started: {earlier['message']}")
        call()
    except InfraError as exc:
        if exc.fatal:  # waiting cannot heal it: no new paid job in this scheduler
            fix = failures.fix_for(exc.kind)
            stopping.stop(Path.cwd(), exc.kind, exc.message, fix)
            joblog.append(log, f"stopping the scheduler: {exc.message} ({fix})")
        # Expected and retried by Snakemake: one line, the details are in the log.
        print(f"scylla: infrastructure error {exc} (log: {log})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"scylla: {rule} job interrupted; its attempt is kept (log: {log})", file=sys.stderr)
        return 130
    return 0


def ensure_judgments(exp: Experiment, rp: RunPaths, say) -> None:
    """Damaged or corrupt judgments made good for free where the paid answer survives (the
    judge's attempt, its response.txt); the rest count as invalid judgments in the consensus."""
    from scylla.recovery import integrity
    from scylla.steps import judge_slot

    for s in exp.slots:
        for rel in integrity.heal_slot_files(rp, s):
            say(f"judge slot {s}: restored {rel} from its attempt")
        how = judge_slot.repair_judgment(exp, rp, s)
        if how:
            say(f"judge slot {s}: judgment.json {how} (no new judge call)")


def ensure_agent_result(exp: Experiment, ref: RunRef, rp: RunPaths, say) -> None:
    """agent/result.json present and valid: a corrupt one is set aside and parsed again."""
    from scylla.recovery import archive, integrity
    from scylla.steps import agent_result

    for rel in integrity.heal_agent_files(rp):
        say(f"restored {rel} from its attempt")
    if records.read(rp.agent_result, records.valid_agent_result) is None:
        if rp.agent_result.exists():
            archive.quarantine(rp.dir, [rp.agent_result], "corrupt agent/result.json")
            say("agent/result.json was corrupt: set aside and parsed again from the logs")
        agent_result.write(rp, exp.agent_spec(ref.tier, ref.subtest))


def make_run_result(exp: Experiment, ref: RunRef, rp: RunPaths, say) -> None:
    """run_result.json from valid inputs only: a corrupt agent/result.json or consensus is
    set aside and derived again first (never spread into the results)."""
    from scylla.judging import consensus
    from scylla.steps import run_result

    ensure_agent_result(exp, ref, rp, say)
    if records.read(rp.consensus, records.valid_consensus) is None:
        ensure_judgments(exp, rp, say)
        if rp.consensus.exists():
            from scylla.recovery import archive

            archive.quarantine(rp.dir, [rp.consensus], "corrupt judge/result.json")
            say("judge/result.json was corrupt: set aside and made again from the judgments")
        consensus.write({s: rp.judge_slot(s).judgment for s in exp.slots}, rp.consensus)
    run_result.write(rp, ref.run)


def run_result_(root: str | Path, exp: Experiment, ref: RunRef, log: str) -> None:
    """agent/result.json, judge/result.json and run_result.json of one run (rule run_result:
    Snakemake removed the three before the job, so each is made from the paid files)."""
    with job_log(log, "run_result", synced_at_end=True):
        rp = _ep(root, exp).of(ref)
        make_run_result(exp, ref, rp, lambda m: joblog.append(log, m))


def subtest_results(root: str | Path, exp: Experiment, tier: str, subtest: str, log: str) -> None:
    """Rule subtest_results_<N> (`scylla regenerate` of a whole subtest): what rule run_result
    makes, for each run of the subtest in turn. The rule's inputs are the judgments only, so
    the agent logs rule run_result has as inputs are checked here (after putting back any
    an attempt holds), before anything is written."""
    from scylla.recovery import integrity

    ep = _ep(root, exp)
    refs = [RunRef(exp.name, tier, subtest, n) for n in range(1, exp.runs + 1)]
    with job_log(log, f"subtest_results {tier}/{subtest}: agent logs"):
        rps = [ep.of(ref) for ref in refs]
        for rp in rps:
            integrity.heal_agent_files(rp)
        missing = [str(f) for rp in rps for f in rp.result_logs.values() if not f.exists()]
        if missing:
            raise records.CorruptInput(
                f"missing agent logs ({len(missing)}): {', '.join(missing[:5])}"
                + (" ..." if len(missing) > 5 else "")
            )
    with jsonio.synced_at_end():
        for ref in refs:
            run_result_(root, exp, ref, log)


def derived_record(kind: str, input, output, exp: Experiment, ref: RunRef, log: str) -> None:
    """One derived record of an adopted run (rules/adopted.smk), made from the paid files in
    `input` alone: agent/result.json ("agent"), judge/result.json ("consensus") or
    run_result.json ("result"). The other two are left as the original tool wrote them."""
    from scylla.judging import consensus
    from scylla.steps import agent_result, run_result

    with job_log(log, f"{kind} record (adopted run)", synced_at_end=True):
        rp = RunPaths(run_dir_of(output[0]))
        settings = exp.agent_spec(ref.tier, ref.subtest)
        judgments = dict(zip(exp.slots, map(Path, input.get("judgments", [])), strict=False))
        if kind == "agent":
            agent_result.build(rp, settings).write(output.agent)
        elif kind == "consensus":
            consensus.build_from(judgments).write(output.consensus)
        else:
            judge = consensus.build_from(judgments)
            # the original's own measure of the judging, where it kept one
            took = (jsonio.read_json_object(rp.judge_timing) or {}).get("judge_duration_seconds")
            if isinstance(took, int | float):
                judge.judge_duration_seconds = float(took)
            settings_result = agent_result.build(rp, settings)
            record = run_result.build(rp, ref.run, settings_result, judge)
            record.write(output.result)


def subtest_report(root, exp: Experiment, tier: str, subtest: str, log: str) -> None:
    from scylla import reports
    from scylla.recovery import archive

    with job_log(log, "subtest_report", synced_at_end=True):
        ep = _ep(root, exp)
        for n in range(1, exp.runs + 1):
            ref = RunRef(exp.name, tier, subtest, n)
            rp = ep.of(ref)
            bad = archive.corrupt_files(rp, [])  # the three derived records, not judgments
            if bad:  # damaged after rule run_result made them: never reported as they are
                archive.quarantine(rp.dir, bad, "corrupt derived record")
                joblog.append(log, f"{', '.join(map(str, bad))}: corrupt, set aside, made again")
                make_run_result(exp, ref, rp, lambda m: joblog.append(log, m))
        reports.write_subtest(ep, exp, tier, subtest)


def tier_report(root, exp: Experiment, tier: str, log: str) -> None:

    from scylla import reports

    with job_log(log, "tier_report", synced_at_end=True):
        reports.write_tier(_ep(root, exp), exp, tier)


def experiment_report(root, exp: Experiment, log: str) -> None:

    from scylla import reports

    with job_log(log, "experiment_report", synced_at_end=True):
        reports.write_experiment(_ep(root, exp), exp)
