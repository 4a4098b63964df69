import json
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from scylla import hashing, jsonio, meaning, paths, reports, steps  # noqa: E402
from scylla.config import ConfigError, load_config  # noqa: E402

validate(config, schema="../config/schemas/config.schema.yaml")

try:
    RESULTS, _experiments = load_config(config, Path.cwd(), workflow.basedir)
except ConfigError as exc:
    raise WorkflowError(f"scylla config: {exc}")

EXPS = {e.name: e for e in _experiments}

# Out-of-process steps (agent, judge_prompt, judge) run `python -m scylla.step` and read the
# resolved experiment from a file named by its digest (never rewritten: see paths.spec_file).
steps.prepare_step_environment(workflow.basedir)
SPECS = {}
for _exp in EXPS.values():
    _text = json.dumps(_exp.spec_form(), indent=1, sort_keys=True)
    SPECS[_exp.name] = str(paths.spec_file(".", _exp.name, hashing.digest(_text)))
    if not Path(SPECS[_exp.name]).exists():
        jsonio.write_text(
            SPECS[_exp.name], _text, mode=0o600
        )  # env secrets: owner only
T = paths.Templates(RESULTS)
WILDCARDS = dict(paths.WILDCARD_CONSTRAINTS)
WILDCARDS["experiment"] = "|".join(re.escape(n) for n in EXPS)


def exp_of(wildcards):
    return EXPS[wildcards.experiment]


def run_targets(rp, exp):
    """Every artifact one run must have (agent/result.json included)."""
    files = [*rp.agent_outputs.values(), rp.agent_result, rp.judge_prompt]
    for slot in exp.slots:
        files += rp.judge_slot(slot).outputs.values()
    files += [rp.consensus, rp.run_result]
    return [str(f) for f in files]


def experiment_targets(exp):
    ep = paths.experiment(RESULTS, exp.name)
    files = [ep.resolved_config, ep.experiment_json]
    for key in exp.run_keys():
        files += run_targets(ep.run(key.tier, key.subtest, key.run), exp)
    for tier, subtest in exp.subtests():
        files += [
            ep.subtest_report(tier, subtest),
            ep.subtest_report(tier, subtest, "md"),
        ]
    for tier in exp.tiers:
        files += [ep.tier_report(tier), ep.tier_report(tier, "md")]
    files += [str(p) for p in reports.report_paths(ep)]
    return [str(f) for f in files]


def all_targets():
    return [f for exp in EXPS.values() for f in experiment_targets(exp)]


def slot_judgments(wildcards):
    rp = paths.experiment(RESULTS, wildcards.experiment).run(
        wildcards.tier, wildcards.subtest, wildcards.run
    )
    return [str(rp.judge_slot(s).judgment) for s in exp_of(wildcards).slots]


def subtest_run_results(wildcards):
    ep = paths.experiment(RESULTS, wildcards.experiment)
    runs = range(1, exp_of(wildcards).runs + 1)
    return [str(ep.run(wildcards.tier, wildcards.subtest, n).run_result) for n in runs]


def tier_subtest_reports(wildcards):
    ep = paths.experiment(RESULTS, wildcards.experiment)
    subs = exp_of(wildcards).tiers[wildcards.tier]["subtests"]
    return [str(ep.subtest_report(wildcards.tier, s)) for s in subs]


def experiment_tier_reports(wildcards):
    ep = paths.experiment(RESULTS, wildcards.experiment)
    return [str(ep.tier_report(t)) for t in exp_of(wildcards).tiers]


def spec_key(wildcards):
    """Recorded by Snakemake as a param since the first release: keep it (paths.legacy_spec_key)."""
    return paths.legacy_spec_key(wildcards.experiment)


def spec_file(wildcards, output):
    """The digest-named spec of the experiment (a derived param: Snakemake does not record it)."""
    return SPECS[wildcards.experiment]


def agent_meaning(wildcards):
    return meaning.agent(exp_of(wildcards), wildcards.tier, wildcards.subtest).digest


def judge_meaning(wildcards):
    return meaning.judge(exp_of(wildcards), wildcards.slot).digest


def judge_prompt_meaning(wildcards):
    return meaning.judge_prompt(exp_of(wildcards)).digest


def agent_runtime(wildcards):
    """Minutes for a cluster scheduler: the agent timeout plus set-up and a margin."""
    return (
        int(
            float(
                exp_of(wildcards).agent_for(wildcards.tier, wildcards.subtest)[
                    "timeout"
                ]
            )
            / 60
        )
        + 10
    )


def judge_runtime(wildcards):
    return (
        int(2 * float(exp_of(wildcards).judge(wildcards.slot).get("timeout", 300)) / 60)
        + 5
    )
