rule subtest_report:
    input:
        derived=subtest_derived,
    output:
        json=str(T.exp.subtest_report("{tier}", "{subtest}")),
        md=str(T.exp.subtest_report("{tier}", "{subtest}", "md")),
    log:
        T.log("subtest_report", "subtest"),
    wildcard_constraints:
        experiment=NATIVE,
    localrule: True
    run:
        steps.subtest_report(
            RESULTS, exp_of(wildcards), wildcards.tier, wildcards.subtest, log[0]
        )


rule tier_report:
    input:
        subtests=tier_subtest_reports,
    output:
        json=str(T.exp.tier_report("{tier}")),
        md=str(T.exp.tier_report("{tier}", "md")),
    log:
        T.log("tier_report", "tier"),
    wildcard_constraints:
        experiment=NATIVE,
    localrule: True
    run:
        steps.tier_report(RESULTS, exp_of(wildcards), wildcards.tier, log[0])


rule experiment_report:
    input:
        tiers=experiment_tier_reports,
    output:
        json=str(T.exp.report()),
        md=str(T.exp.report("md")),
        tables=report_tables(),
        figures=report_figures(),
    log:
        T.log("experiment_report", "experiment"),
    wildcard_constraints:
        experiment=NATIVE,
    localrule: True
    run:
        steps.experiment_report(RESULTS, exp_of(wildcards), log[0])
