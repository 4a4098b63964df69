"""`scylla status`: every configured run classified from its files (table, JSON or CSV)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from scylla import config
from scylla.cli.common import add_filters, selected_runs
from scylla.cli.guard import workdir_of
from scylla.layout import paths
from scylla.recovery import failures, status

EPILOG_STATUS = """examples:
  scylla status results/demo
  scylla status results/demo --tier T0 --status failed --status partial
  scylla status results/demo --runs 1,3 --format json
  scylla status results/demo --config my.yaml      # what changed meaning in my.yaml
  scylla status results/demo --reason infra        # runs the infrastructure failed
"""


def render_table(
    exp: config.Experiment, runs: list[status.RunStatus], ep: paths.ExperimentPaths | None = None
) -> str:
    c = status.counts(runs)
    lines = [f"experiment {exp.name}: {len(runs)} runs, {len(exp.slots)} judge slot(s)"]
    lines.append("agent:  " + "  ".join(f"{k} {v}" for k, v in c["agent"].items()))
    lines.append("judges: " + "  ".join(f"{k} {v}" for k, v in c["judge"].items()))
    classes = {k: sum(r.failure_class == k for r in runs) for k in failures.CLASSES}
    lines.append(
        "why:    "
        + "  ".join(f"{k} {v}" for k, v in classes.items())
        + "   (infra: retried, kept out of the statistics; agent: a fail; judge: reported apart)"
    )
    now = sum(r.cost_usd for r in runs)
    earlier = sum(r.earlier_cost_usd for r in runs)
    extra = sum(max(r.attempts - 1, 0) for r in runs)
    limited = sum(r.rate_limited for r in runs)
    lines.append(
        f"spend:  ${now + earlier:.4f} (${now:.4f} in the current results, ${earlier:.4f} on "
        f"other attempts: replaced, failed or not adopted yet; agent re-runs: {extra}, "
        f"of them rate-limited: {limited})"
    )
    if ep is not None:
        from scylla import spend
        from scylla.recovery import stopping

        stop = stopping.read(workdir_of(ep))
        lines += spend.summary_lines(ep, exp, runs, stop)
    by_sub: dict[tuple[str, str], dict[str, int]] = {}
    for r in runs:
        row = by_sub.setdefault((r.tier, r.subtest), dict.fromkeys(status.AGENT_STATUSES, 0))
        row[r.status] += 1
    head = ["tier", "subtest", *status.AGENT_STATUSES]
    table = [head] + [[t, s, *map(str, row.values())] for (t, s), row in sorted(by_sub.items())]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines.append("")
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in table]
    todo = [
        r
        for r in runs
        if r.status != "completed" or any(j["status"] != "complete" for j in r.judges)
    ]
    if todo:
        lines.append("")
        lines.append("runs needing attention:")
        for r in todo[:40]:
            judges = " ".join(f"{j['slot']}:{j['status']}" for j in r.judges)
            cls = f"[{r.failure_class}]" if r.failure_class else ""
            why = "; ".join(dict.fromkeys(x for x in (r.failure_reason, r.reason) if x))
            note = " ".join(x for x in (cls, why) if x)
            lines.append(
                f"  {r.tier}/{r.subtest}/run_{r.run:02d}  {r.status:<9} judges {judges}"
                + (f"  ({note})" if note else "")
            )
        if len(todo) > 40:
            lines.append(f"  ... {len(todo) - 40} more (use --format csv for all)")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    ep, exp, _all, runs = selected_runs(args)
    if args.format == "json":
        # One run per line: readable, and json's C encoder (indent= would use the Python one).
        # vars(r), not as_dict(): encoding reads the fields, it needs no copy of them.
        encode = json.JSONEncoder().encode
        rows = ",\n".join(encode(vars(r)) for r in runs)
        print(f"[\n{rows}\n]" if rows else "[]")
    elif args.format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(
            [
                "tier",
                "subtest",
                "run",
                "status",
                *(f"judge_{s}" for s in exp.slots),
                "reason",
                "failure_class",
                "failure_reason",
                "cost_usd",
                "attempts",
                "earlier_cost_usd",
            ]
        )
        for r in runs:
            w.writerow(
                [
                    r.tier,
                    r.subtest,
                    r.run,
                    r.status,
                    *(j["status"] for j in r.judges),
                    r.reason,
                    r.failure_class,
                    r.failure_reason,
                    f"{r.cost_usd:.6f}",
                    r.attempts,
                    f"{r.earlier_cost_usd:.6f}",
                ]
            )
        sys.stdout.write(buf.getvalue())
    else:
        print(render_table(exp, runs, ep))
        print(f"\nresults: {ep.dir}  (report: {ep.report('md')})")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status",
        help="classify every run of a results directory",
        epilog=EPILOG_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_filters(p, status.AGENT_STATUSES + status.JUDGE_STATUSES)
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="mark as outdated what FILE would re-run (its experiment of the same name)",
    )
    p.set_defaults(func=cmd_status)
