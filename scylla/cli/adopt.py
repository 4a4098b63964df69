"""`scylla adopt`: take over an experiment directory the original tool (ProjectScylla) wrote."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

EPILOG = """examples:
  scylla adopt ~/fullruns/2026-01-20T06-13-07-test-001 --dry-run   # what it finds and would write
  scylla adopt ~/fullruns/2026-01-20T06-13-07-test-001             # adopt it
  scylla status ~/fullruns/2026-01-20T06-13-07-test-001            # then every command works
  scylla regenerate ~/fullruns/2026-01-20T06-13-07-test-001        # missing result files, from logs
  scylla report ~/fullruns/2026-01-20T06-13-07-test-001            # scylla_report.json|md

Reads config/experiment.json, checkpoint.json and the runs on disk, in both layouts the original
tool wrote: <T>/<NN>/run_<NN>/, and completed/ + in_progress/. Writes config/scylla.json,
task/prompt.md and task/rubric.yaml; no file of a run is written, renamed or copied. Where a
copy lost the order of modification times, derived files get the time of their newest input
(as `snakemake --touch` would; the old times are kept in config/scylla.json), so that nothing
paid is re-run. The newer layout also gets one link per run: <T>/<NN>/run_<NN> -> <stage>/....
scylla's own reports are named scylla_report.json|md: the original's report.json stay as they are.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "adopt",
        help="take over a directory the original tool (ProjectScylla) wrote, as it is",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results_dir", type=Path, help="the original tool's experiment directory")
    p.add_argument("--dry-run", action="store_true", help="show what it finds and would write")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_adopt)


def summary(p, statuses: Counter) -> dict:
    from scylla.layout import paths

    subtests = Counter(r.tier for r in {(r.tier, r.subtest): r for r in p.runs}.values())
    return {
        "dir": str(p.dir),
        "experiment_id": p.entry["adopted"]["experiment_id"],
        "layout": p.layout,
        "tiers": {t: subtests[t] for t in sorted(subtests)},
        "runs_found": len(p.runs),
        "runs_per_subtest": p.entry["runs"],
        "statuses": dict(sorted(statuses.items())),
        "judges": p.slots,
        "agent_model": p.entry["agent"]["model"],
        "checkpoint": p.checkpoint,
        "writes": [str(w.relative_to(p.dir)) for w in p.writes],
        "links": [str(link.relative_to(p.dir)) for link, _ in p.links],
        "retimed": len(p.retime),
        "not_mapped": p.unmapped,
        "stages": {s: sum(r.stage == s for r in p.runs) for s in paths.ORIGINAL_STAGES},
    }


def cmd_adopt(args: argparse.Namespace) -> int:
    from scylla import config
    from scylla.recovery import adopt, status

    try:
        p = adopt.plan(args.results_dir)
    except (adopt.AdoptError, config.ConfigError, OSError) as exc:
        raise SystemExit(f"scylla: {exc}") from exc
    slots = [s["slot"] for s in p.slots]
    statuses = Counter(status.classify(r.dir, slots, set()).status for r in p.runs)
    if not args.dry_run:
        adopt.apply(p)
    data = summary(p, statuses)
    if args.format == "json":
        print(json.dumps({**data, "dry_run": args.dry_run}, indent=1))
        return 0
    verb = "would adopt" if args.dry_run else "adopted"
    print(f"{verb} {p.dir} (ProjectScylla experiment {data['experiment_id']}, {p.layout} layout)")
    tiers = ", ".join(f"{t} ({n} subtest{'s' * (n != 1)})" for t, n in data["tiers"].items())
    print(f"  tiers:    {tiers}; {data['runs_per_subtest']} run(s) per subtest")
    found = ", ".join(f"{n} {s}" for s, n in data["statuses"].items())
    print(f"  runs:     {len(p.runs)} on disk: {found}")
    if p.layout == "staged":
        print("            " + ", ".join(f"{n} in {s}/" for s, n in data["stages"].items()))
    print(f"  agent:    {data['agent_model']}")
    for s in p.slots:
        print(f"  judge {s['slot']}: {s['model']}  (from {s['source']})")
    if p.checkpoint:
        c = p.checkpoint
        print(
            f"  checkpoint.json: {c['runs_listed']} runs listed; {c['listed_without_result']} "
            f"listed without run_result.json, {c['with_result_not_listed']} with one not listed"
        )
    writes = ", ".join(data["writes"])
    print(f"  {'would write' if args.dry_run else 'wrote'}: {writes}")
    if p.links:
        verb = "would link" if args.dry_run else "linked"
        print(f"  {verb}: {len(p.links)} run(s) as <T>/<NN>/run_<NN> -> <stage>/...")
    if p.retime:
        print(
            f"  {'would re-time' if args.dry_run else 're-timed'}: {len(p.retime)} derived file(s) "
            "older than their inputs (modification time only; old times kept in config/scylla.json)"
        )
    for line in p.unmapped:
        print(f"  not mapped: {line}")
    if not args.dry_run:
        print(f"next: scylla status {p.dir}")
    return 0
