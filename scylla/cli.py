"""The `scylla` command line: run, status, rerun, regenerate, repair — all on top of Snakemake."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from scylla import config, failures, paths, status
from scylla.commands import adopt, recovery, report, runner

EPILOG_STATUS = """examples:
  scylla status results/demo
  scylla status results/demo --tier T0 --status failed --status partial
  scylla status results/demo --runs 1,3 --format json
  scylla status results/demo --config my.yaml      # what changed meaning in my.yaml
  scylla status results/demo --reason infra        # runs the infrastructure failed
"""


def parse_runs(text: str) -> list[int]:
    """`1,3,5` or `2-4` (or both): run numbers. Empty, reversed or non-numeric is an error."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        if not (lo.isdigit() and (hi.isdigit() if dash else True)):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a list of run numbers (e.g. 1,3,5 or 2-4)"
            )
        if dash and int(lo) > int(hi):
            raise argparse.ArgumentTypeError(
                f"{part!r} is a reversed range (did you mean {hi}-{lo}?)"
            )
        out += list(range(int(lo), int(hi) + 1)) if dash else [int(lo)]
    return out


def check_filters(args: argparse.Namespace, exp: config.Experiment) -> None:
    """A filter that names nothing the experiment has is an error naming what it has."""
    subtests = sorted({s for _t, s in exp.subtests()})
    for flag, given, valid in (
        ("--tier", getattr(args, "tier", None), list(exp.tiers)),
        ("--subtest", getattr(args, "subtest", None), subtests),
        ("--runs", getattr(args, "runs", None), list(range(1, exp.runs + 1))),
    ):
        unknown = [g for g in given or [] if g not in valid]
        if unknown:
            shown = ", ".join(map(str, valid)) if flag != "--runs" else f"1-{exp.runs}"
            raise SystemExit(
                f"scylla: {flag} {', '.join(map(str, unknown))}: experiment {exp.name} has "
                f"no such {flag.lstrip('-').rstrip('s')} (it has {shown})"
            )


def add_filters(p: argparse.ArgumentParser, statuses: tuple[str, ...]) -> None:
    p.add_argument("results_dir", type=Path, help="an experiment directory: results/<experiment>")
    p.add_argument("--tier", action="append", metavar="T", help="only tier T (repeatable)")
    p.add_argument("--subtest", action="append", metavar="NN", help="only subtest NN (repeatable)")
    p.add_argument("--runs", type=parse_runs, metavar="LIST", help="run numbers, e.g. 1,3,5 or 2-4")
    p.add_argument(
        "--status",
        action="append",
        choices=statuses,
        metavar="S",
        help=f"only runs with status S (repeatable): {', '.join(statuses)}",
    )
    p.add_argument(
        "--reason",
        action="append",
        choices=failures.CLASSES,
        metavar="CLASS",
        help="only runs whose failure class (or a judge slot's) is CLASS (repeatable): "
        "infra, agent, judge",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print the snakemake commands")


def load_experiment(results_dir: Path) -> tuple[paths.ExperimentPaths, config.Experiment]:
    try:
        exp = config.load_saved(results_dir)
    except config.ConfigError as exc:
        raise SystemExit(f"scylla: {exc}") from exc
    return paths.ExperimentPaths(results_dir, exp.report_stem), exp


def selected_runs(args: argparse.Namespace, default_statuses=None) -> tuple:
    ep, exp = load_experiment(args.results_dir)
    check_filters(args, exp)
    expected = None
    if getattr(args, "config", None):
        expected = status.Expected.of(against_config(args.config, exp))
    runs = status.collect(ep, exp, expected)
    chosen = status.select(
        runs,
        args.tier,
        args.subtest,
        args.runs,
        args.status or default_statuses,
        getattr(args, "reason", None),
    )
    return ep, exp, runs, chosen


def against_config(path: Path, saved: config.Experiment) -> config.Experiment:
    """The experiment of the same name in another config (what `scylla run CONFIG` means)."""
    from scylla.smk import REPO

    try:
        cfg = config.load_file(path)
        _root, exps = config.load_config(cfg, Path.cwd(), REPO)
    except (config.ConfigError, OSError) as exc:
        raise SystemExit(f"scylla: {exc}") from exc
    for e in exps:
        if e.name == saved.name:
            return config.Experiment(e.data, saved.meaning_version)
    raise SystemExit(f"scylla: {path} has no experiment named {saved.name}")


# ---------------------------------------------------------------------------- status


def guard_workdir(ep: paths.ExperimentPaths) -> Path:
    from scylla.commands.guard import workdir_of

    return workdir_of(ep)


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
        from scylla import spend, stopping

        stop = stopping.read(guard_workdir(ep))
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
        encode = json.JSONEncoder().encode
        rows = ",\n".join(encode(r.as_dict()) for r in runs)
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


# ---------------------------------------------------------------------------- parser


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes are one line (naming the command and --help), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="scylla",
        description="Coding-agent experiments on Snakemake: run, inspect and recover them.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

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

    runner.add_parser(sub)
    recovery.add_parsers(sub, add_filters)
    report.add_parser(sub)
    adopt.add_parser(sub)
    return parser


class _QuietPipe:
    """stdout that stops writing, silently, once its reader is gone (`scylla ... | head`):
    the command still does all its work (a `repair` piped into `head` still repairs)."""

    def __init__(self, stream):
        self._stream = stream
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone = True
                os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone = True
                os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, passthrough = argv[:i], argv[i + 1 :]
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passthrough_ok", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.snakemake_args = [*unknown, *passthrough]
    if not isinstance(sys.stdout, _QuietPipe):
        sys.stdout = _QuietPipe(sys.stdout)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("scylla: interrupted (`scylla status` shows where every run stands)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # a pipe other than stdout: the reader is gone, that is all
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
