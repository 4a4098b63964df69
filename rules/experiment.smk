rule experiment_config:
    output:
        resolved=T.exp.resolved_config,
        legacy=T.exp.experiment_json,
        prompt=T.exp.task_prompt,
        rubric=T.exp.task_rubric,
        solution=T.exp.task_solution,
    params:
        meaning=lambda wc: hashing.digest(exp_of(wc).saved_form()),
    log:
        T.log("experiment_config", "experiment"),
    priority: 100
    localrule: True
    run:
        steps.experiment_config(RESULTS, exp_of(wildcards), log[0])


rule task_repo:
    output:
        marker=T.exp.task_marker,
    params:
        meaning=lambda wc: hashing.digest(
            {k: exp_of(wc).task.get(k) for k in ("repo", "commit", "source_digest")}
        ),
    log:
        T.log("task_repo", "experiment"),
    priority: 90
    localrule: True
    run:
        steps.task_repo(RESULTS, exp_of(wildcards), log[0])


rule baseline:
    input:
        repo=ancient(T.exp.task_marker),
    output:
        baseline=T.exp.baseline,
    params:
        meaning=lambda wc: hashing.digest(exp_of(wc).task["rubric"]),
    log:
        T.log("baseline", "experiment"),
    localrule: True
    run:
        steps.baseline(RESULTS, exp_of(wildcards), log[0])
