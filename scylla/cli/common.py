"""What the commands share: run filters, loading a results directory, one-line errors."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from scylla import config
from scylla.layout import paths
from scylla.recovery import failures, status


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
    from scylla.cli.invoke import REPO

    try:
        cfg = config.load_file(path)
        _root, exps = config.load_config(cfg, Path.cwd(), REPO)
    except (config.ConfigError, OSError) as exc:
        raise SystemExit(f"scylla: {exc}") from exc
    for e in exps:
        if e.name == saved.name:
            return config.Experiment(e.data, saved.meaning_version)
    raise SystemExit(f"scylla: {path} has no experiment named {saved.name}")


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes are one line (naming the command and --help), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")
