rule agent:
    # No file inputs on purpose: the task repository is a shared cache the job ensures
    # itself. Re-runs come from `meaning` (params) or a missing output only.
    output:
        **{k: str(v) for k, v in T.run.agent_outputs.items()},
    log:
        T.log("agent"),
    conda:
        "../envs/scylla.yaml"
    resources:
        api_slots=1,
        runtime=agent_runtime,
        attempt=lambda wc, attempt: attempt,
    params:
        # What the run means (model, prompt, subtest resources). Changing it re-runs exactly
        # the affected runs; editing this rule's code does not (profile rerun-triggers).
        meaning=agent_meaning,
        spec=SPEC_KEY,
        spec_file=spec_file,
    shell:
        step_command("agent", "--attempt {resources.attempt} --log {log}")
