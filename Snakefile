# scylla: coding-agent experiments (tiers x subtests x runs, graded by LLM judges).
# Every run artifact is a rule output; `snakemake -n` shows what is left to do.


from snakemake.utils import min_version

min_version("9.0")


report: "docs/report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    **WILDCARDS,


# Run on the submit host under a cluster executor (profiles/slurm): everything but the paid
# agent and judge calls. The other cheap rules say `localrule: True` themselves.
localrules:
    all,
    judge_prompt,


onstart:
    preflight()


rule all:
    input:
        # a function: evaluated only when `all` is asked for, not when a target narrows the DAG
        all_targets,


include: "rules/experiment.smk"
include: "rules/agent.smk"
include: "rules/judge.smk"
include: "rules/report.smk"
include: "rules/adopted.smk"
