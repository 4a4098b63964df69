rule subtest_report:
    input:
        derived=subtest_derived,
    output:
        json=str(T.exp.subtest_report("{tier}", "{subtest}")),
        md=str(T.exp.subtest_report("{tier}", "{subtest}", "md")),
    log:
        T.log("subtest_report", "subtest"),
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
    localrule: True
    run:
        steps.tier_report(RESULTS, exp_of(wildcards), wildcards.tier, log[0])


rule experiment_report:
    input:
        tiers=experiment_tier_reports,
    output:
        json=str(T.exp.report()),
        md=str(T.exp.report("md")),
        tables=[
            report(
                str(T.exp.table(n)),
                caption="../docs/report/tables.rst",
                category="Tables",
                subcategory="{experiment}",
                labels={"experiment": "{experiment}", "table": n},
            )
            for n in paths.TABLES
        ],
        figures=[
            report(
                str(T.exp.figure(n, ext)),
                caption=f"../docs/report/{n}.rst",
                category="Figures",
                subcategory="{experiment}",
                labels={"experiment": "{experiment}", "figure": n, "format": ext},
            )
            for n in paths.FIGURES
            for ext in paths.FIGURE_FORMATS
        ],
    log:
        T.log("experiment_report", "experiment"),
    localrule: True
    run:
        steps.experiment_report(RESULTS, exp_of(wildcards), log[0])
