"""`scylla run`: a thin wrapper over snakemake with the original runner's options."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scylla import config, spend
from scylla.cli import guard, preflight
from scylla.cli.invoke import REPO, Invocation, ProgressFilter
from scylla.cli.progress import Progress, summary_line
from scylla.config import meaning
from scylla.layout import paths, targets
from scylla.recovery import archive, snakemeta, status, stopping
from scylla.util import jsonio
from scylla.util.hashing import digest

EPILOG = """examples:
  scylla run                                   # the demo (config/config.yaml)
  scylla run my.yaml --tiers T0 T1 --runs 2    # only T0 and T1, runs 1-2, for now
  scylla run my.yaml --parallel 8              # 8 paid calls at once, cheap steps beside them
  scylla run --model claude-opus-4-5 --add-judge claude-haiku-4-5
  scylla run --fresh                           # a new experiment directory; the old one stays
  scylla run -- --dry-run                      # anything after -- goes to snakemake
  scylla run my.yaml --profile profiles/slurm  # jobs through a Snakemake profile (SLURM)
  scylla run results/demo/config/scylla.json   # continue an experiment from its saved config

Any unknown option is passed to snakemake as it is (e.g. --dry-run, --forceall, -j 8).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run (or resume) the experiments of a config through snakemake",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "config", nargs="?", default=None, help="config file (default: config/config.yaml)"
    )
    p.add_argument("--tiers", nargs="+", metavar="T", help="run only these tiers now, e.g. T0 T1")
    p.add_argument("--runs", type=int, metavar="N", help="run only runs 1..N of each subtest now")
    p.add_argument(
        "--parallel",
        type=positive,
        metavar="N",
        help="paid calls at once (agents, judges that call a model), with as many job slots "
        "again for the cheap local steps (snakemake --cores 2N --resources api_slots=N "
        "judge_jobs=N; a --resources after -- still wins)",
    )
    p.add_argument("--model", help="agent model")
    p.add_argument("--judge-model", help="model of every claude-code judge")
    p.add_argument(
        "--add-judge",
        action="append",
        nargs="?",
        const="",
        metavar="M",
        help="add a judge slot (model M, default the first judge's); repeatable",
    )
    p.add_argument("--timeout", type=float, metavar="S", help="agent timeout in seconds")
    p.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="spend cap of the experiment (every attempt counted); no new paid job past it",
    )
    p.add_argument(
        "--max-subtests", type=int, metavar="N", help="run only the first N subtests per tier now"
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="start new experiment directories (<name>-<UTC time>); old ones stay",
    )
    p.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="re-run paid work whose meaning changed without asking",
    )
    guard.add_kill_orphans(p)
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="a Snakemake profile directory (profiles/slurm, ...): its executor runs the jobs",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="full snakemake output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, minimal output")
    p.set_defaults(func=cmd_run, passthrough_ok=True)


def default_config() -> Path:
    local = Path("config/config.yaml")
    return local if local.exists() else REPO / "config" / "config.yaml"


def apply_overrides(cfg: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The original runner's options that change what an experiment is (model, judges,
    limits, a fresh directory), as config overrides on every experiment. --tiers, --runs and
    --max-subtests only select what runs now (`selected`)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for exp in cfg["experiments"]:
        if args.fresh:
            exp["name"] = f"{exp['name']}-{stamp}"
        agent = dict(cfg.get("agent", {}), **exp.get("agent", {}))
        if args.model:
            agent["model"] = args.model
        if args.timeout:
            agent["timeout"] = args.timeout
        if args.max_cost:
            exp["max_cost_usd"] = args.max_cost
        exp["agent"] = agent
        judges = [dict(j) for j in exp.get("judges", cfg.get("judges", []))]
        if args.judge_model:
            for j in judges:
                if j.get("adapter", config.JUDGE_DEFAULTS["adapter"]) == "claude-code":
                    j["model"] = args.judge_model
        for model in args.add_judge or []:
            base = dict(judges[0]) if judges else {"adapter": config.JUDGE_DEFAULTS["adapter"]}
            base.pop("slot", None)
            base["slot"] = max((j.get("slot", i + 1) for i, j in enumerate(judges)), default=0) + 1
            if model:
                base["model"] = model
            judges.append(base)
        exp["judges"] = judges
    return cfg


def positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return n


def parallel_args(n: int | None) -> list[str]:
    """`--parallel N`: N paid calls at once, and N more job slots for the cheap steps.

    Paid calls (agents, judges that call a model) hold an `api_slot`; every judge holds a
    `judge_jobs` slot. The cheap steps (judge_prompt, a `checks` judge, run_result, the
    reports) run in Snakemake's threads in a few ms each: with only N job slots, each
    finished agent's three cheap jobs took the slot the next agent was waiting for (200
    agents × 1 s, 8 at a time: 8 slots busy 6.7 on average, 37.3 s; with 16 job slots 7.1
    and 34.8 s, docs/performance.md)."""
    if n is None:
        return []
    return ["--cores", str(2 * n), "--resources", f"api_slots={n}", f"judge_jobs={n}"]


def cmd_run(args: argparse.Namespace) -> int:
    cfg_path = Path(args.config) if args.config else default_config()
    try:
        cfg = config.load_file(cfg_path)
        if cfg_path.suffix == ".json" and "experiments" in cfg and "results_dir" not in cfg:
            # A saved experiment config: keep writing where it lives.
            cfg["results_dir"] = str(cfg_path.resolve().parent.parent.parent)
        config.validate(cfg)  # before any override reads it
        profile = preflight.check_profile(args.profile) if args.profile else None
        cfg = apply_overrides(cfg, args)
        results_root, exps = config.load_config(cfg, Path.cwd(), REPO)
        if not any(a in ("-n", "--dry-run", "--dryrun") for a in args.snakemake_args):
            stopping.clear(Path.cwd())  # a new run: an earlier stop does not bind it
            preflight.check_clis(exps, Path.cwd())
    except (config.ConfigError, OSError) as exc:
        raise SystemExit(f"scylla: {exc}") from exc
    pairs = [(e.paths_under(results_root), e) for e in exps]
    chosen = selected(pairs, args)
    guard.refuse_if_in_use(Path.cwd(), ", ".join(str(ep.dir) for ep, _ in pairs))
    # ours first: the user's own snakemake options after `--` win (the last value counts)
    extra = [*parallel_args(args.parallel), *args.snakemake_args]
    dry = any(a in ("-n", "--dry-run", "--dryrun") for a in extra)
    if not dry and snakemeta.locks(Path.cwd()):  # left by a killed snakemake: say so, once
        raise SystemExit(guard.lock_message(Path.cwd(), [ep.dir for ep, _ in pairs]))
    # every run's status, once: the meaning changes and a dry-run's forecast read it
    runs = {exp.name: status.collect(ep, exp) for ep, exp in pairs if ep.dir.is_dir()}
    changes = meaning_changes(pairs, runs)
    if not dry and not confirm_meaning_changes(changes, args.yes):
        return 2
    for ep, _exp in pairs:
        guard.handle_orphans(ep, args.kill_orphans)
    effective = paths.effective_config(Path(), digest(cfg))
    import yaml

    jsonio.write_text(effective, yaml.safe_dump(cfg, sort_keys=False), secret=True)
    inv = Invocation(workdir=Path.cwd(), configfile=effective)
    if chosen is not None:
        inv.targets = [
            os.path.relpath(Path(f).resolve(), Path.cwd())
            for ep, exp in pairs
            for f in targets.selection(ep, exp, chosen[exp.name])
        ]
    if profile is not None:
        extra += ["--profile", str(profile)]
    if not args.verbose:
        extra += ["--quiet", "rules", "host", "reason"]  # errors and progress still come
    if args.verbose:
        print("+ " + inv.shell(*extra))
    corrupt = [f for ep, exp in pairs for f in _corrupt(ep, exp, move=not dry)]
    forced = corrupt + unrecorded(changes, Path.cwd())
    if forced:  # a dry-run shows them re-made without touching them
        extra += ["--forcerun", *(os.path.relpath(f.resolve(), Path.cwd()) for f in forced)]
    if args.verbose or dry:
        code = inv.run(*extra).returncode
        if dry and code == 0:
            print(_forecast_line(pairs, chosen, runs))
    else:
        out = ProgressFilter.printing(inv, Path.cwd())
        if args.quiet:
            code = inv.stream(*extra, on_line=out)
        else:
            with Progress(lambda: summary_line(pairs)):
                code = inv.stream(*extra, on_line=out)
        if code == 0 and out.nothing_to_do:
            print("scylla: nothing left to do — every artifact is present and up to date.")
        elif code == 0:
            # minus the target rule `all`, which is not work
            print(f"scylla: {max(out.steps_done - 1, 0)} job(s) done.")
    if not args.quiet and not dry:
        for ep, _exp in pairs:
            print(f"results: {ep.dir}   status: scylla status {ep.dir}")
    fatal = stopping.read(Path.cwd()) if not dry else None
    if fatal is not None:
        print(stopping.line(fatal), file=sys.stderr)
        if fatal.get("kind") == "spend_cap":  # the reports say so, partial as they are
            from scylla import reports

            for ep, exp in pairs:
                if ep.dir.is_dir():
                    reports.write_all(ep, exp)
        print(
            "  `scylla status` shows where every run stands; fix it and run again.", file=sys.stderr
        )
    elif code != 0 and not inv.stopped:
        _explain_failure(code, pairs)
    return code


def _forecast_line(pairs, chosen, statuses: dict[str, list[status.RunStatus]]) -> str:
    """What the planned paid work will cost, from what finished runs cost so far."""
    lines = []
    for ep, exp in pairs:
        runs = statuses.get(exp.name, [])
        if chosen is not None:
            keep = set(chosen[exp.name])
            runs = [r for r in runs if (r.tier, r.subtest, r.run) in keep]
        agents, judges = spend.work_left(runs)
        if not ep.dir.is_dir():
            agents = {t: exp.runs * len(exp.subtests_of(t)) for t in exp.tiers}
            judges = sum(agents.values()) * len(exp.slots)
        lines.append(f"{exp.name}: " + spend.forecast(ep, agents, judges).line())
    return "\n".join(lines)


def selected(pairs, args: argparse.Namespace) -> dict[str, list[tuple[str, str, int]]] | None:
    """The runs that --tiers/--runs/--max-subtests choose, per experiment (None: all).

    They select what runs now and never change the experiment: its saved configuration,
    status and reports keep every tier, subtest and run of the config.
    """
    if not args.tiers and args.runs is None and args.max_subtests is None:
        return None
    out = {}
    for _ep, exp in pairs:
        unknown = sorted(set(args.tiers or []) - set(exp.tiers))
        if unknown:
            raise SystemExit(
                f"scylla: --tiers {' '.join(unknown)}: experiment {exp.name} has no such tier "
                f"(it has {', '.join(exp.tiers)})"
            )
        if args.runs is not None and not 1 <= args.runs <= exp.runs:
            raise SystemExit(
                f"scylla: --runs {args.runs}: experiment {exp.name} has runs 1-{exp.runs}; "
                "to add runs, raise `runs:` in its config"
            )
        if args.max_subtests is not None and args.max_subtests < 1:
            raise SystemExit("scylla: --max-subtests must be at least 1")
        keep = {
            (tier, sid)
            for tier in exp.tiers
            if not args.tiers or tier in args.tiers
            for sid in exp.subtests_of(tier)[: args.max_subtests or None]
        }
        out[exp.name] = [
            (k.tier, k.subtest, k.run)
            for k in exp.run_keys()
            if (k.tier, k.subtest) in keep and k.run <= (args.runs or exp.runs)
        ]
    return out


@dataclass
class MeaningChanges:
    """Paid work whose meaning changed since it was made: summary lines for the user, how
    many agent runs and (other) judge slots, and the files of those jobs."""

    lines: list[str] = field(default_factory=list)
    n_agents: int = 0
    n_judges: int = 0
    outputs: list[Path] = field(default_factory=list)


def meaning_changes(pairs, statuses: dict[str, list[status.RunStatus]]) -> MeaningChanges:
    """What changed meaning since it was produced (`statuses`: each experiment's runs, by
    name). A judge slot of a run whose agent re-runs is not counted again."""
    from collections import Counter

    agents: Counter[str] = Counter()
    judges: Counter[str] = Counter()
    found = MeaningChanges()
    for ep, exp in pairs:
        # never named for an adopted experiment: its paid files may be the original tool's
        # only copies, which a forced job would delete before it runs
        made = not exp.adopted
        for r in statuses.get(exp.name, []):
            rp = ep.run(r.tier, r.subtest, r.run)
            if r.status == "outdated":
                found.n_agents += 1
                found.outputs += rp.agent_outputs.values() if made else []
                wanted = meaning.agent(exp, r.tier, r.subtest).digest
                kept = _adoptable(rp.attempts, wanted)
                agents.update(
                    [r.reason + (" (an earlier attempt fits: no new call)" if kept else "")]
                )
                continue
            for j in r.judges:
                if j["status"] == "outdated":
                    found.n_judges += 1
                    found.outputs += rp.judge_slot(j["slot"]).outputs.values() if made else []
                    judges.update([j["reason"]])
    found.lines = [f"  {n} run(s): {why}" for why, n in agents.most_common()]
    found.lines += [f"  {n} judge slot(s): {why}" for why, n in judges.most_common()]
    return found


def unrecorded(changes: MeaningChanges, workdir: Path) -> list[Path]:
    """Of the outdated jobs' files, those Snakemake holds no record of. A kill before it
    recorded them, and a change of meaning before `scylla repair`, leave such jobs: no
    params trigger can fire for them, so they are re-run by name (`--forcerun`)."""
    return [p for p in changes.outputs if not snakemeta.recorded(workdir, p)]


def _adoptable(root: Path, digest: str) -> bool:
    """An earlier attempt with this meaning the run would adopt again (a config switched
    back): re-running it costs nothing."""
    from scylla.recovery import attempts

    return any(
        a.state == attempts.FINISHED
        and (not a.retired or a.superseded_only)
        and a.meaning is not None
        and a.meaning.digest == digest
        for a in attempts.listing(root)
    )


def confirm_meaning_changes(changes: MeaningChanges, yes: bool) -> bool:
    """Paid work whose meaning changed is re-run only once the user agreed (or --yes)."""
    if not changes.lines:
        return True
    head = (
        f"scylla: {changes.n_agents} run(s) will run their agent again and {changes.n_judges} "
        "more judge slot(s) their judge, because what they mean changed since they were made:"
    )
    print("\n".join([head, *changes.lines]), file=sys.stderr)
    print(
        "Their current attempts stay under attempts/ (nothing is deleted); new calls are paid "
        "for, except where an earlier attempt with the same meaning is adopted again.",
        file=sys.stderr,
    )
    if yes:
        return True
    if sys.stdin.isatty():
        answer = input("Re-run them? [y/N] ").strip().lower()
        if answer in ("y", "yes"):
            return True
    print(
        "scylla: not started. Confirm with --yes, see the plan with `scylla run ... -- -n`, "
        "or restore the old settings.",
        file=sys.stderr,
    )
    return False


def _corrupt(ep: paths.ExperimentPaths, exp: config.Experiment, move: bool) -> list[Path]:
    """Make good what is free to make good, then set aside what Snakemake cannot see is bad.

    Damaged promoted copies are put back from their attempts and corrupt judgments re-derived
    from their paid answers (no job needed). Corrupt derived records still look finished to
    Snakemake: they move to quarantine/ so the DAG rebuilds them (a dry-run only lists them).
    """
    from scylla.recovery import integrity
    from scylla.steps import judge_slot

    found: list[Path] = []
    if not ep.dir.is_dir():
        return found
    reports_ = [ep.report(), *(ep.tier_report(t) for t in exp.tiers)]
    reports_ += [ep.subtest_report(t, s) for t, s in exp.subtests()]
    bad_files = [
        f
        for f in (ep.resolved_config, ep.experiment_json, *reports_)
        if f.exists() and jsonio.read_json_object(f) is None
    ]
    if bad_files and move:
        archive.quarantine(ep.dir, bad_files, "corrupt")
        print(f"scylla: set aside corrupt {', '.join(map(str, bad_files))}", file=sys.stderr)
    found += bad_files
    for key in exp.run_keys():
        rp = ep.run(key.tier, key.subtest, key.run)
        if not rp.dir.is_dir():
            continue
        if move:
            for rel in integrity.heal_agent_files(rp):
                print(f"scylla: restored {rp.dir / rel} from its attempt", file=sys.stderr)
            for s in exp.slots:
                for rel in integrity.heal_slot_files(rp, s):
                    where = rp.judge_slot(s).dir / rel
                    print(f"scylla: restored {where} from its attempt", file=sys.stderr)
                how = judge_slot.repair_judgment(exp, rp, s)
                if how:
                    print(f"scylla: {rp.judge_slot(s).judgment} {how}", file=sys.stderr)
        bad = archive.corrupt_files(rp, exp.slots)
        if bad and move:
            archive.quarantine(rp.dir, bad, "corrupt")
            print(f"scylla: set aside corrupt {', '.join(map(str, bad))}", file=sys.stderr)
        found += bad
    return found


def _explain_failure(code: int, pairs) -> None:
    if snakemeta.locks(Path.cwd()):
        print(guard.lock_message(Path.cwd(), [ep.dir for ep, _ in pairs]), file=sys.stderr)
    print(
        f"scylla: snakemake exited with status {code}; failed jobs keep their logs under "
        "<results>/<experiment>/logs/ — run again to retry them, or see `scylla status`.",
        file=sys.stderr,
    )
