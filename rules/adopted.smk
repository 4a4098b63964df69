# Directories adopted from the original tool (`scylla adopt`): its files are the outputs of
# the rules above, and scylla never rewrites one of them. These twins of the rules whose
# outputs the original named the same way differ only in what they write: no
# config/experiment.json, no diff.patch or checks.json beside its judge_prompt.md, each derived
# record on its own (regenerating one never rewrites the other two), and scylla's reports as
# scylla_report.json|md beside the original's report.json|md.


use rule experiment_config as adopted_config with:
    output:
        resolved=T.exp.resolved_config,
        prompt=T.exp.task_prompt,
        rubric=T.exp.task_rubric,
    wildcard_constraints:
        experiment=ADOPTED,


use rule judge_prompt as adopted_judge_prompt with:
    output:
        prompt=T.run.judge_prompt,
    wildcard_constraints:
        experiment=ADOPTED,


rule adopted_agent_result:
    input:
        **agent_logs(),
    output:
        agent=T.run.agent_result,
    log:
        T.log("agent_result"),
    wildcard_constraints:
        experiment=ADOPTED,
    localrule: True
    run:
        steps.derived_record(
            "agent",
            input,
            output,
            exp_of(wildcards),
            RunRef.from_wildcards(wildcards),
            log[0],
        )


rule adopted_consensus:
    input:
        judgments=slot_judgments,
    output:
        consensus=T.run.consensus,
    log:
        T.log("consensus"),
    wildcard_constraints:
        experiment=ADOPTED,
    localrule: True
    run:
        steps.derived_record(
            "consensus",
            input,
            output,
            exp_of(wildcards),
            RunRef.from_wildcards(wildcards),
            log[0],
        )


rule adopted_run_result:
    input:
        **agent_logs(),
        judgments=slot_judgments,
    output:
        result=T.run.run_result,
    log:
        T.log("run_result"),
    wildcard_constraints:
        experiment=ADOPTED,
    localrule: True
    run:
        steps.derived_record(
            "result",
            input,
            output,
            exp_of(wildcards),
            RunRef.from_wildcards(wildcards),
            log[0],
        )


use rule subtest_report as adopted_subtest_report with:
    output:
        json=str(T.adopted.subtest_report("{tier}", "{subtest}")),
        md=str(T.adopted.subtest_report("{tier}", "{subtest}", "md")),
    wildcard_constraints:
        experiment=ADOPTED,


use rule tier_report as adopted_tier_report with:
    output:
        json=str(T.adopted.tier_report("{tier}")),
        md=str(T.adopted.tier_report("{tier}", "md")),
    wildcard_constraints:
        experiment=ADOPTED,


use rule experiment_report as adopted_experiment_report with:
    output:
        json=str(T.adopted.report()),
        md=str(T.adopted.report("md")),
        tables=report_tables(),
        figures=report_figures(),
    wildcard_constraints:
        experiment=ADOPTED,
