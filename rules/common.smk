import functools
import json
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.io import report as shown_in_report
from snakemake.logging import logger

sys.path.insert(0, workflow.basedir)

from scylla.recovery import settled, stopping  # noqa: E402
from scylla.util import procs, quick_exit, scheduling  # noqa: E402

# The code as it is now, before the rest is loaded (scylla.recovery.settled).
CODE_FACTS = settled.code_facts(workflow.basedir)
# A SIGTERM (scylla's graceful stop) must never hang the scheduler.
stopping.reentrant_scheduler_lock()
# One pending rate-limit wake-up, not a new one after every scheduling round.
scheduling.coalesce_reevaluations()
# Each input's size asked for once, not in every scheduling round.
scheduling.sizes_asked_once()
# Each input of a finished job hashed once for its metadata records, not once per output.
scheduling.checksums_once_per_job()
# Snakemake's command ends with its status once its work is done, without tearing down
# the interpreter object by object (0.2-0.4 s of every call).
quick_exit.install()
# Jobs run in this process's threads beside every other job's process: never end its children.
procs.share_process()

from scylla import steps  # noqa: E402
from scylla.cli.preflight import check_clis  # noqa: E402
from scylla.config import (  # noqa: E402
    ConfigError,
    complete_env,
    load_config,
    load_file,
    meaning,
)
from scylla.layout import paths, targets  # noqa: E402
from scylla.layout.paths import RunRef  # noqa: E402
from scylla.util import hashing, jsonio, secrets  # noqa: E402

try:
    if not workflow.overwrite_configfiles and "experiments" not in config:
        # No config file given: the shipped demo. A user's --configfile replaces it.
        config.update({**load_file(f"{workflow.basedir}/config/config.yaml"), **config})
    # Validated against config/schemas/config.schema.yaml, then resolved (one-line errors).
    RESULTS, _experiments = load_config(config, Path.cwd(), workflow.basedir)
except ConfigError as exc:
    raise WorkflowError(f"scylla config: {exc}")

# env values: kept owner-only for runs from a saved (redacted) config; scrubbed from outputs
EXPS = {e.name: complete_env(e, Path.cwd()) for e in _experiments}

# Out-of-process steps (agent, judge_prompt, judge) run `python -m scylla.steps` and read the
# resolved experiment from a file named by its digest (never rewritten: see paths.spec_file).
steps.prepare_step_environment(workflow.basedir)
SPECS = {}
for _exp in EXPS.values():
    _text = json.dumps(_exp.spec_form(), indent=1, sort_keys=True)
    SPECS[_exp.name] = str(paths.spec_file(".", _exp.name, hashing.digest(_text)))
    if not Path(SPECS[_exp.name]).exists():
        jsonio.write_text(
            SPECS[_exp.name], _text, secret=True
        )  # env secrets: owner only
T = paths.Templates(RESULTS)
WILDCARDS = dict(paths.WILDCARD_CONSTRAINTS)
WILDCARDS["experiment"] = "|".join(re.escape(n) for n in EXPS)


def _names(which):
    """The experiments for which `which(experiment)` holds, as a wildcard constraint; `(?!)`
    matches nothing."""
    names = [re.escape(n) for n, e in EXPS.items() if which(e)]
    return "|".join(names) or "(?!)"


# Experiments scylla created, and those adopted from the original tool: rules that would
# rewrite the original tool's files have adopted twins (rules/adopted.smk).
NATIVE = _names(lambda e: not e.adopted)
ADOPTED = _names(lambda e: e.adopted)


def preflight():
    """Before the first job (not at parse time: a dry-run on a submit host may lack the
    CLI): every agent and judge CLI on PATH when jobs run here. One line, not N failed jobs.
    """
    # Only the experiments with an agent or judge job to run: regenerating results or
    # reports from logs needs no CLI.
    paid = {
        job.wildcards_dict.get("experiment")
        for job in workflow.dag.needrun_jobs()
        if job.rule.name in ("agent", "judge")
    }
    if workflow.local_exec and paid:
        try:
            check_clis([e for n, e in EXPS.items() if n in paid], Path.cwd())
        except ConfigError as exc:
            raise WorkflowError(f"scylla config: {exc}")


def exp_of(wildcards):
    return EXPS[wildcards.experiment]


def all_targets(wildcards):
    """Every artifact of every experiment (scylla.layout.targets, shared with the scylla
    commands), except what Snakemake last found complete (scylla.recovery.settled): in a
    plain call its verdict on it could only be the same."""
    checks = settled_checks(whole=True)
    SETTLED.update(checks)  # a verdict on the whole DAG of `all` may be recorded
    files = []
    for exp in EXPS.values():
        ep = exp.paths_under(RESULTS)
        check = checks.get(exp.name)
        if check is not None and check.settled:
            # its configuration only: `all` keeps an input, so an empty DAG says so
            files += map(str, targets.config_files(ep, exp))
        elif check is not None and check.work_settled:
            # the rest of the declared files, but the task's copies no rule asks for
            copies = set(map(str, targets.task_copies(ep)))
            files += [f for f in check.files[check.work :] if f not in copies]
        else:
            files += map(str, targets.experiment_files(ep, exp))
    return files


# scylla.recovery.settled: the experiments `rule all` was evaluated for in this call.
SETTLED = {}
# This call's checks of every experiment (plain calls only), made once: by `rule all`, or
# for requested files by the first input function evaluated (before any input is resolved).
CHECKS = {}
_CHECKED = []


def settled_checks(whole=False):
    """Is each experiment as Snakemake last found it complete, or at least its work files?
    Checked once per plain call, and said once; when every experiment's work files are, the
    DAG is made without the rules that make them (leave_out_rules). `whole`: the call asks
    for `rule all`."""
    if _CHECKED:
        return CHECKS
    _CHECKED.append(True)
    if not settled.plain(workflow):
        return CHECKS
    for exp in EXPS.values():
        work, rest = targets.settled_files(exp.paths_under(RESULTS), exp)
        key = settled_key(exp)
        CHECKS[exp.name] = settled.check(
            ".", exp.name, work + rest, key, work=len(work)
        )
    work_settled = all(c.work_settled for c in CHECKS.values())
    leave_out_rules(work_settled)
    for name, check in CHECKS.items():
        record = paths.settled_file(".", name)
        if whole and check.settled:
            logger.info(
                f"scylla: experiment {name} is as Snakemake last found it complete"
                f" ({len(check.files):,} files unchanged): not enumerated again"
                f" (delete {record} to have every file checked)"
            )
        elif work_settled:
            logger.info(
                f"scylla: experiment {name}: its agents' and judges' files are as Snakemake"
                f" last found them complete ({check.work:,} files unchanged): only what is"
                f" derived from them is checked (delete {record} to have every file checked)"
            )
    return CHECKS


def leave_out_rules(work_settled):
    """Rules no job of this plain call's DAG can come from, left out as `--allowed-rules`
    would leave them out:
    - subtest_results_<N>: rule run_result comes first (ruleorder), and can always be made;
    - targets.WORK_RULES when every experiment's work files are as Snakemake last found them
      complete, with the same code, config and settings: none of their jobs could need to
      run. Their files are inputs that exist, and Snakemake decides everything derived from
      them as it always does."""
    dag = workflow.dag
    dag.rules = {
        r
        for r in dag.rules
        if not r.name.startswith("subtest_results_")
        and not (work_settled and r.name in targets.WORK_RULES)
    }
    dag.update_output_index()


def settled_key(exp):
    return settled.key_of(
        spec_file=SPECS[exp.name], code=CODE_FACTS, settings=settled.settings(workflow)
    )


def record_settled():
    """Snakemake found nothing to do: record each experiment `rule all` enumerated, if every
    file is still as it was then."""
    if SETTLED and not any(True for _ in workflow.dag.needrun_jobs()):
        for check in SETTLED.values():
            settled.record(".", check)


settled.when_nothing_to_be_done(record_settled)


def agent_logs():
    """The agent's files its result is parsed from (named inputs of rule run_result)."""
    return {k: str(v) for k, v in T.run.result_logs.items()}


def ep_of(wildcards):
    return exp_of(wildcards).paths_under(RESULTS)


def slot_judgments(wildcards):
    settled_checks()
    rp = ep_of(wildcards).run(wildcards.tier, wildcards.subtest, wildcards.run)
    return judgments_of(rp, exp_of(wildcards))


def judgments_of(rp, exp):
    return [str(rp.judge_slot(s).judgment) for s in exp.slots]


# rules subtest_results_<N> (`scylla regenerate` of whole subtests), one per runs count
RUNS_COUNTS = sorted({e.runs for e in EXPS.values() if not e.adopted})


def native_with_runs(runs):
    """The experiments scylla created with `runs` runs per subtest (a wildcard constraint)."""
    return _names(lambda e: not e.adopted and e.runs == runs)


def subtest_run_files(runs):
    """What rule run_result makes, for runs 1..`runs` of a subtest (patterns)."""
    return [
        str(f)
        for n in range(1, runs + 1)
        for rp in [T.exp.run("{tier}", "{subtest}", n)]
        for f in (rp.agent_result, rp.consensus, rp.run_result)
    ]


def subtest_judgments(wildcards):
    """Every slot's judgment of every run of a subtest: the inputs of rule subtest_results_<N>.
    Only `scylla regenerate` runs it, forced, when every run is finished and judged, and it
    allows no rule that makes these files, so they gate the job and order nothing. Its step
    checks the agent logs that are rule run_result's other inputs (RunPaths.result_logs). Not
    those as inputs too: Snakemake stats every input of every ready job in each scheduling
    round (update_input_sizes), 203 files per 29-run subtest instead of 58."""
    settled_checks()
    ep, exp = ep_of(wildcards), exp_of(wildcards)
    return [
        f
        for n in range(1, exp.runs + 1)
        for f in judgments_of(ep.run(wildcards.tier, wildcards.subtest, n), exp)
    ]


def subtest_derived(wildcards):
    """Every run's derived records: a corrupted one (newer than the report) makes the report
    job run, and it derives the record again before reporting."""
    settled_checks()
    ep = ep_of(wildcards)
    runs = [
        ep.run(wildcards.tier, wildcards.subtest, n)
        for n in range(1, exp_of(wildcards).runs + 1)
    ]
    return [
        str(f) for rp in runs for f in (rp.run_result, rp.agent_result, rp.consensus)
    ]


def tier_subtest_reports(wildcards):
    settled_checks()
    ep = ep_of(wildcards)
    subs = exp_of(wildcards).subtests_of(wildcards.tier)
    return [str(ep.subtest_report(wildcards.tier, s)) for s in subs]


def experiment_tier_reports(wildcards):
    settled_checks()
    ep = ep_of(wildcards)
    return [str(ep.tier_report(t)) for t in exp_of(wildcards).tiers]


# Recorded by Snakemake as a param since the first release: keep it (paths.legacy_spec_key).
# A pattern, not a function: Snakemake fills it from the wildcards at no cost per job.
SPEC_KEY = paths.legacy_spec_key("{experiment}")


def step_command(step, args, where=f"--run-dir {T.shell(T.run.dir)}"):
    """The shell command of an out-of-process step: the run (or subtest) directory spelled
    from the wildcards (no param function to evaluate for each of the DAG's jobs)."""
    return f"python -m scylla.steps {step} --spec {{params.spec_file}} {where} {args}"


JUDGE_STEP = step_command(
    "judge", "--slot {wildcards.slot} --attempt {resources.attempt} --log {log}"
)
SUBTEST_RESULTS_STEP = step_command(
    "subtest_results",
    "--log {log}",
    where=f"--subtest-dir {T.shell(T.exp.subtest_dir('{tier}', '{subtest}'))}",
)


def scored_in_thread(wildcards, log, resources):
    """Rule judge of a slot that calls nothing (`checks`): scored in the job's thread.
    False for a judge that calls a model: its step is a process of its own."""
    exp = exp_of(wildcards)
    if not exp.judge_spec(wildcards.slot).calls_nothing:
        return False
    ref = RunRef.from_wildcards(wildcards)
    steps.judge_in_thread(RESULTS, exp, ref, wildcards.slot, log[0], resources.attempt)
    return True


def spec_file(wildcards, output):
    """The digest-named spec of the experiment (a derived param: Snakemake does not record it)."""
    return SPECS[wildcards.experiment]


# Params are evaluated for every job of the DAG: each digest is computed once per subtest,
# slot or experiment, not once per job.
@functools.cache
def _agent_digest(experiment, tier, subtest):
    return meaning.agent(EXPS[experiment], tier, subtest).digest


@functools.cache
def _judge_digest(experiment, slot):
    return meaning.judge(EXPS[experiment], slot).digest


@functools.cache
def _judge_prompt_digest(experiment):
    return meaning.judge_prompt(EXPS[experiment]).digest


def agent_meaning(wildcards):
    return _agent_digest(wildcards.experiment, wildcards.tier, wildcards.subtest)


def judge_meaning(wildcards):
    return _judge_digest(wildcards.experiment, wildcards.slot)


def judge_prompt_meaning(wildcards):
    return _judge_prompt_digest(wildcards.experiment)


# Resources too are evaluated for every job: computed once per subtest or slot.
@functools.cache
def _agent_minutes(experiment, tier, subtest):
    return int(EXPS[experiment].agent_spec(tier, subtest).timeout / 60) + 10


@functools.cache
def _judge_minutes(experiment, slot):
    return int(2 * EXPS[experiment].judge_spec(slot).timeout / 60) + 5


def agent_runtime(wildcards):
    """Minutes for a cluster scheduler: the agent timeout plus set-up and a margin."""
    return _agent_minutes(wildcards.experiment, wildcards.tier, wildcards.subtest)


def judge_api_slots(wildcards):
    """A judge that calls no model (`checks`) holds no paid-call slot: agents keep them all."""
    return _judge_api_slots(wildcards.experiment, wildcards.slot)


@functools.cache
def _judge_api_slots(experiment, slot):
    return 0 if EXPS[experiment].judge_spec(slot).calls_nothing else 1


def judge_runtime(wildcards):
    """Minutes for a cluster scheduler: two judge calls (a retry) and a margin."""
    return _judge_minutes(wildcards.experiment, wildcards.slot)


def report_tables():
    """The experiment's CSV tables, shown in `snakemake --report` (Tables)."""
    return [
        shown_in_report(
            str(T.exp.table(n)),
            caption="../docs/report/tables.rst",
            category="Tables",
            subcategory="{experiment}",
            labels={"experiment": "{experiment}", "table": n},
        )
        for n in paths.TABLES
    ]


def report_figures():
    """The experiment's figures, shown in `snakemake --report` (Figures)."""
    return [
        shown_in_report(
            str(T.exp.figure(n, ext)),
            caption=f"../docs/report/{n}.rst",
            category="Figures",
            subcategory="{experiment}",
            labels={"experiment": "{experiment}", "figure": n, "format": ext},
        )
        for n in paths.FIGURES
        for ext in paths.FIGURE_FORMATS
    ]
