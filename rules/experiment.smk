rule experiment_config:
    output:
        resolved=T.exp.resolved_config,
        legacy=T.exp.experiment_json,
        prompt=T.exp.task_prompt,
        rubric=T.exp.task_rubric,
    log:
        T.log("experiment_config", "experiment"),
    wildcard_constraints:
        experiment=NATIVE,
    priority: 100
    localrule: True
    params:
        meaning=lambda wc: hashing.digest(exp_of(wc).saved_form()),
    run:
        steps.experiment_config(RESULTS, exp_of(wildcards), log[0])
