rule judge_prompt:
    # Runs in one of Snakemake's threads: a few git calls and the rubric's checks (in the conda
    # env's tools when Snakemake deploys it), not a Python process of its own for each run.
    input:
        output=T.run.agent_output,
    output:
        prompt=T.run.judge_prompt,
        diff=T.run.diff,
        checks=T.run.checks,
    log:
        T.log("judge_prompt"),
    wildcard_constraints:
        experiment=NATIVE,
    conda:
        "../envs/scylla.yaml"
    params:
        meaning=judge_prompt_meaning,
        spec=SPEC_KEY,
    run:
        steps.judge_prompt_(
            RESULTS,
            exp_of(wildcards),
            RunRef.from_wildcards(wildcards),
            log[0],
            tools=conda_env,
        )


rule judge:
    input:
        prompt=T.run.judge_prompt,
    output:
        **{k: str(v) for k, v in T.slot.outputs.items()},
    log:
        T.slot_log(),
    conda:
        "../envs/scylla.yaml"
    resources:
        api_slots=judge_api_slots,
        judge_jobs=1,
        runtime=judge_runtime,
        attempt=lambda wc, attempt: attempt,
    params:
        meaning=judge_meaning,
        spec=SPEC_KEY,
        spec_file=spec_file,
    run:
        # A judge that calls nothing (`checks`) scores in this thread: no process per run.
        if not scored_in_thread(wildcards, log, resources):
            shell(JUDGE_STEP)


rule run_result:
    # Everything derived from a run's paid artifacts, in one cheap job: the agent's result
    # (parsed from its logs), the judges' consensus and the run's result. Deleting any of
    # them re-derives the three, for this run only, with no agent or judge call.
    input:
        **agent_logs(),
        judgments=slot_judgments,
    output:
        agent=T.run.agent_result,
        consensus=T.run.consensus,
        result=T.run.run_result,
    log:
        T.log("run_result"),
    wildcard_constraints:
        experiment=NATIVE,
    localrule: True
    run:
        steps.run_result_(
            RESULTS, exp_of(wildcards), RunRef.from_wildcards(wildcards), log[0]
        )


# `scylla regenerate` of whole subtests: what rule run_result makes, for every run of a
# subtest in one job (Snakemake's own bookkeeping costs ~10 ms per job: one job per subtest
# instead of one per run), in a process of its own (its work no longer waits on the
# scheduler's interpreter lock). A plain call never picks it (ruleorder: run_result
# first); it runs only where `--allowed-rules` leaves run_result out. One rule per runs
# count: its outputs name each run.
for _runs in RUNS_COUNTS:

    rule:
        name:
            f"subtest_results_{_runs}"
        input:
            subtest_judgments,
        output:
            subtest_run_files(_runs),
        log:
            T.log("subtest_results", "subtest"),
        wildcard_constraints:
            experiment=native_with_runs(_runs),
        localrule: True
        conda:
            "../envs/scylla.yaml"
        params:
            spec_file=spec_file,
        shell:
            SUBTEST_RESULTS_STEP

    workflow.ruleorder("run_result", f"subtest_results_{_runs}")
