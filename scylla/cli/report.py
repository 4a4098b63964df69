"""`scylla report`: every report of an experiment rebuilt from its run artifacts alone."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EPILOG = """examples:
  scylla report results/demo                  # report.json|md, tier and subtest reports,
                                              # tables/*.csv and figures/*.png|svg
  scylla report results/demo --format json    # and print the headline figures
  scylla report results/demo --html report.html   # and Snakemake's HTML report of them
Works on unfinished experiments: their reports say `partial`, with the counts. Starts no agent
or judge job (--html asks `snakemake --report` for the files this command just wrote).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="rebuild the reports from the run artifacts (no agent or judge)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results_dir", type=Path, help="an experiment directory: results/<experiment>")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write Snakemake's self-contained HTML report (figures, tables) to FILE",
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from scylla import reports
    from scylla.cli import guard
    from scylla.cli.common import load_experiment

    ep, exp = load_experiment(args.results_dir)
    guard.refuse_if_in_use(guard.workdir_of(ep), ep.dir)
    reports.write_all(ep, exp)
    data = json.loads(ep.report().read_text())
    if args.html is not None:
        html_report(ep, args.html)
    if args.format == "json":
        print(json.dumps({k: data[k] for k in ("partial", "runs", "spend", "summary")}, indent=1))
    else:
        state = "partial" if data["partial"] else "complete"
        runs = data["runs"]
        print(
            f"{ep.report('md')} ({state}: {runs['with_results']}/{runs['configured']} runs, "
            f"spent ${data['spend']['spent_usd']:.2f})"
        )
    return 0


def html_report(ep, out: Path) -> None:
    """`snakemake --report` over the experiment's report files: the figures and tables are
    tagged with report() in rules/report.smk, captions in docs/report/."""
    from scylla.cli import invoke as smk
    from scylla.layout import targets

    inv = smk.for_results(ep)
    inv.targets = smk.rel_targets(inv, targets.experiment_report_files(ep))
    proc = inv.run("--report", str(out.resolve()), capture=True)
    if proc.returncode != 0 or not out.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"scylla: snakemake --report failed: {last}")
    print(f"{out} (Snakemake HTML report: Results > Figures, Tables)", file=sys.stderr)
