"""`scylla rerun agents|judges`, `scylla regenerate`, `scylla repair`.

Each one decides *which target files* are wanted and asks snakemake for them; snakemake
decides which jobs that takes. Nothing is deleted: earlier attempts move to attempts/<k>/.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from scylla import config, spend
from scylla.cli import guard
from scylla.cli.common import add_filters, load_experiment, selected_runs
from scylla.cli.invoke import Invocation, ProgressFilter, for_results, job_stats, rel_targets
from scylla.cli.progress import Progress, summary_line
from scylla.layout import paths
from scylla.layout import targets as targets_mod
from scylla.recovery import archive, snakemeta, status, stopping

REPORT_RULES = ("subtest_report", "tier_report", "experiment_report")
CHEAP_RULES = ("run_result", *REPORT_RULES)
# An adopted directory's twins of these rules (rules/adopted.smk).
ADOPTED_TWINS = {
    "run_result": ("adopted_agent_result", "adopted_consensus", "adopted_run_result"),
    "judge_prompt": ("adopted_judge_prompt",),
    **{r: (f"adopted_{r}",) for r in REPORT_RULES},
}


def allowed_rules(exp: config.Experiment, *names: str) -> list[str]:
    """`--allowed-rules` for `exp`: the rules that make these files in its directory."""
    if not exp.adopted:
        return ["--allowed-rules", *names]
    return ["--allowed-rules", *(r for n in names for r in ADOPTED_TWINS.get(n, (n,)))]


AGENT_DEFAULT = ("failed", "partial", "missing", "outdated")
JUDGE_DEFAULT = ("failed", "partial", "missing", "outdated")

EPILOG_AGENTS = """examples:
  scylla rerun agents results/demo                        # failed, partial and missing runs
  scylla rerun agents results/demo --status partial --dry-run
  scylla rerun agents results/demo --tier T1 --runs 2 --status completed   # re-do on purpose
  scylla rerun agents results/demo --status partial --kill-orphans  # end a killed run's agents
The current attempt of a failed, completed or outdated run is retired (it stays, byte for
byte, in run_NN/attempts/<k>/) before a new one runs. A partial run's next job adopts its
attempt when that finished after its scheduler died: no second paid call.
"""
EPILOG_JUDGES = """examples:
  scylla rerun judges results/demo                        # failed, partial and missing slots
  scylla rerun judges results/demo --judge-slot 2 --status failed
Re-judging reads the saved judge_prompt.md and never runs an agent. The slot's current judge
attempt stays in judge/judge_NN/attempts/<j>/.
"""
EPILOG_REGEN = """examples:
  scylla regenerate results/demo            # agent/result.json, run_result.json, reports
  scylla regenerate results/demo --dry-run
Zero agent or judge jobs: only the logs already on disk are parsed again. When every run of
the experiment is chosen, finished and judged, one job per subtest (subtest_results_<N>)
re-derives its runs; otherwise one run_result job per chosen run (docs/recovery.md).
"""
EPILOG_REPAIR = """examples:
  scylla repair results/demo --dry-run      # what would be cleaned
  scylla repair results/demo                # unlock, clean incomplete markers, show what is left
  scylla repair results/demo --kill-orphans # also end agents a killed scheduler left running
Refuses while a snakemake is working in the directory (it names its pid). The markers of an
attempt still running stay (the next run adopts it). Files an agent or judge finished and
promoted that Snakemake never recorded are recorded (snakemake --touch): no call, same bytes.
"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    def command(parent, name: str, help_: str, epilog: str, func: Callable, statuses=None):
        p = parent.add_parser(
            name, help=help_, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        if statuses is not None:
            add_filters(p, statuses)
            _common(p)
        p.set_defaults(func=func)
        return p

    rsub = sub.add_parser("rerun", help="re-run agents or judges of selected runs")
    rsub = rsub.add_subparsers(dest="what", required=True)
    command(
        rsub,
        "agents",
        "re-run agents (and everything after them)",
        EPILOG_AGENTS,
        cmd_rerun_agents,
        status.AGENT_STATUSES,
    )
    p = command(
        rsub,
        "judges",
        "re-run judge slots (never the agent)",
        EPILOG_JUDGES,
        cmd_rerun_judges,
        status.JUDGE_STATUSES,
    )
    p.add_argument(
        "--judge-slot",
        type=int,
        action="append",
        metavar="N",
        help="only judge slot N (repeatable)",
    )
    command(
        sub,
        "regenerate",
        "rebuild results from logs only",
        EPILOG_REGEN,
        cmd_regenerate,
        status.AGENT_STATUSES,
    )
    p = command(
        sub, "repair", "after a crash: unlock, clean incomplete metadata", EPILOG_REPAIR, cmd_repair
    )
    p.add_argument("results_dir", type=Path)
    p.add_argument("--dry-run", "-n", action="store_true", help="only say what would be done")
    guard.add_kill_orphans(p)
    p.add_argument("-v", "--verbose", action="store_true")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dry-run",
        "-n",
        action="store_true",
        help="show the snakemake command and its dry-run job list; change nothing",
    )
    p.add_argument("--cores", type=int, default=None, help="snakemake --cores")
    guard.add_kill_orphans(p)
    p.set_defaults(passthrough_ok=True)


def print_plan(stats: dict[str, int], header: str) -> None:
    """A dry-run's job counts per rule (the target rule `all` is not work)."""
    print(header)
    for rule, n in stats.items():
        if rule != "all":
            print(f"  {rule:<20} {n}")
    if not stats:
        print("  (none: every requested file is present and up to date)")


def _execute(args, ep, exp, inv: Invocation, what: str, tiers: dict | None = None) -> int:
    """Run (or dry-run) the invocation. `tiers`: the agent runs per tier it re-runs, for the
    dry-run's cost forecast (the judge calls come from snakemake's own plan)."""
    extra = list(getattr(args, "snakemake_args", []))
    if args.cores:
        extra += ["--cores", str(args.cores)]
    inv.extra = [*inv.extra, *extra]
    if not inv.targets:
        print(f"scylla: nothing to {what}: no run matches the filters")
        return 0
    if args.dry_run or args.verbose:
        print("+ " + inv.shell())
    if not args.dry_run:
        guard.handle_orphans(ep, getattr(args, "kill_orphans", False))
    if args.dry_run:
        proc = inv.run("--dry-run", "--quiet", "rules", capture=True)
        stats = job_stats(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr)
            return proc.returncode
        print_plan(stats, "jobs snakemake would run:")
        if what != "regenerate":
            agents = tiers if tiers is not None else {}
            print(spend.forecast(ep, agents, stats.get("judge", 0)).line())
        return 0
    workdir = guard.workdir_of(ep)
    stopping.clear(workdir)  # a new run: an earlier stop does not bind it
    out = ProgressFilter.printing(inv, workdir)
    with Progress(lambda: summary_line([(ep, exp)])):
        code = inv.stream("--quiet", "rules", "host", "reason", on_line=out)
    record = stopping.read(workdir)
    if record is not None:
        print(stopping.line(record), file=sys.stderr)
    return code


def refuse_if_locked(ep: paths.ExperimentPaths, dry_run: bool) -> None:
    """Archive nothing while another snakemake works here, or its lock was left behind."""
    workdir = guard.workdir_of(ep)
    guard.refuse_if_in_use(workdir, ep.dir)
    if not dry_run and snakemeta.locks(snakemeta.find_workdir(ep.dir)):
        raise SystemExit(guard.lock_message(workdir, [ep.dir]))


def cmd_rerun_agents(args: argparse.Namespace) -> int:
    ep, exp, runs, _chosen = selected_runs(args, None)
    refuse_if_locked(ep, args.dry_run)
    wanted = set(args.status or AGENT_DEFAULT)
    # The agent's own status decides: a run whose only trouble is a judge keeps its agent.
    chosen = [
        r for r in status.select(runs, args.tier, args.subtest, args.runs) if r.status in wanted
    ]
    inv = for_results(ep)
    targets: list[Path] = []
    archived: list[Path] = []
    for r in chosen:
        rp = ep.run(r.tier, r.subtest, r.run)
        # A partial run's attempt never finished (or finished after its scheduler died, and
        # its next job adopts it for free): nothing to retire. Anything else is re-done.
        redo = r.status != "missing" and not (r.status == "partial" and rp.attempts.is_dir())
        if redo:
            archived.append(rp.agent_output)
            if not args.dry_run:
                where = archive.archive_run(rp, f"rerun agents (status {r.status})")
                if where and args.verbose:
                    print(f"archived {rp.dir} -> {where}")
        targets.append(rp.run_result)
    if targets:
        targets += targets_mod.reports_above(ep, exp, {(r.tier, r.subtest, r.run) for r in chosen})
    inv.targets = rel_targets(inv, targets)
    if args.dry_run and archived:
        # What the run will do once those attempts are archived.
        inv.extra = ["--forcerun", *rel_targets(inv, archived)]
    tiers: dict[str, int] = {}
    for r in chosen:
        tiers[r.tier] = tiers.get(r.tier, 0) + 1
    return _execute(args, ep, exp, inv, "re-run", tiers)


def cmd_rerun_judges(args: argparse.Namespace) -> int:
    ep, exp, runs, _chosen = selected_runs(args, None)
    refuse_if_locked(ep, args.dry_run)
    runs = status.select(runs, args.tier, args.subtest, args.runs)
    wanted = set(args.status or JUDGE_DEFAULT)
    slots = {f"{n:02d}" for n in args.judge_slot} if args.judge_slot else set(exp.slots)
    inv = for_results(ep)
    targets: list[Path] = []
    rejudged: set[tuple[str, str, int]] = set()
    for r in runs:
        rp = ep.run(r.tier, r.subtest, r.run)
        if r.status in ("missing", "partial"):
            continue  # no finished agent to judge: that is `rerun agents`
        picked = [j["slot"] for j in r.judges if j["slot"] in slots and j["status"] in wanted]
        for slot in picked:
            if not args.dry_run:
                archive.archive_judge_slot(rp, slot, "rerun judges")
            targets.append(rp.judge_slot(slot).judgment)
        if picked:
            targets.append(rp.run_result)
            rejudged.add((r.tier, r.subtest, r.run))
    if targets:
        targets += targets_mod.reports_above(ep, exp, rejudged)
    inv.targets = rel_targets(inv, targets)
    # The agent rule is not allowed: a judge re-run can never start an agent.
    inv.extra = allowed_rules(exp, "judge_prompt", "judge", *CHEAP_RULES)
    judgments = [t for t in targets if t.name == paths.JUDGE_FILES["judgment"]]
    if args.dry_run and judgments:
        inv.extra += ["--forcerun", *rel_targets(inv, judgments)]
    return _execute(args, ep, exp, inv, "re-judge")


def cmd_regenerate(args: argparse.Namespace) -> int:
    ep, exp, runs, _chosen = selected_runs(args, None)
    refuse_if_locked(ep, args.dry_run)
    finished = ("completed", "results", "failed")
    wanted = set(args.status or finished) & set(finished)
    chosen = [
        r for r in status.select(runs, args.tier, args.subtest, args.runs) if r.status in wanted
    ]
    inv = for_results(ep)
    targets: list[Path] = []
    rebuilt: set[tuple[str, str, int]] = set()
    unjudged = []
    logs_lost = False  # an agent log run_result reads is missing: Snakemake names it (per run)
    originals: list[Path] = []  # an adopted run's derived records: made only where missing
    for r in chosen:
        rp = ep.run(r.tier, r.subtest, r.run)
        # rule run_result makes agent/result.json, the consensus and run_result.json at once,
        # from the agent's logs and every slot's judgment.
        if not all(rp.judge_slot(s).judgment.exists() for s in exp.slots):
            unjudged.append(f"{r.tier}/{r.subtest}/{paths.run_name(r.run)}")
        elif exp.adopted:
            redo = archive.corrupt_files(rp, [])
            if redo and not args.dry_run:
                archive.quarantine(rp.dir, redo, "corrupt derived record (regenerate)")
            lost = [p for p in (rp.agent_result, rp.consensus, rp.run_result) if not p.exists()]
            originals += sorted({*redo, *lost})
            if redo or lost:
                rebuilt.add((r.tier, r.subtest, r.run))
        else:
            targets.append(rp.run_result)
            rebuilt.add((r.tier, r.subtest, r.run))
            logs_lost = logs_lost or not all(f.exists() for f in rp.result_logs.values())
    if unjudged:
        print(
            f"scylla: {len(unjudged)} run(s) lack a judgment and are left as they are "
            f"(`scylla rerun judges` judges them): {', '.join(unjudged[:5])}"
            + (" ..." if len(unjudged) > 5 else "")
        )
    if targets:
        targets += targets_mod.reports_above(ep, exp, rebuilt)
    # Force exactly these files (not whole rules: the filters must hold); no rule that
    # could start an agent or a judge is allowed. The original tool's files are never forced.
    forced = rel_targets(inv, targets)
    inv.targets = rel_targets(inv, originals) + forced
    rules, flags = derivation(exp, set() if logs_lost else rebuilt)
    inv.extra = [*allowed_rules(exp, *rules), *flags, *(["--forcerun", *forced] if forced else [])]
    return _execute(args, ep, exp, inv, "regenerate")


def derivation(exp: config.Experiment, rebuilt: set) -> tuple[list[str], list[str]]:
    """The rules regenerate may use, and its flags. When it re-derives every run of the
    experiment, one job per subtest (rule subtest_results_<N>) does what one run_result job
    per run would, and `--drop-metadata` leaves each file's record as rule run_result wrote
    it (same inputs, same code): a later plain call finds nothing changed. Only then: a
    subtest job is outdated whenever one run's judgment is newer than another run's result,
    so a subtest left out would be re-derived for nothing. The subtest rule's inputs are the
    judgments only: the caller passes no run when an agent log is missing, so that the
    per-run plan lets Snakemake name it before any job starts."""
    if exp.adopted or len(rebuilt) != sum(1 for _ in exp.run_keys()):
        return list(CHEAP_RULES), []
    return [f"subtest_results_{exp.runs}", *REPORT_RULES], ["--drop-metadata"]


def _record_kept(ep: paths.ExperimentPaths, exp: config.Experiment, cleared: set[Path]) -> int:
    """The paid files repair kept whose job Snakemake never recorded (it was killed first):
    recorded now by `snakemake --touch` of exactly those jobs, so that a later change of
    meaning re-runs them like any other (no byte changes, no call)."""
    kept = snakemeta.unrecorded_paid_files(ep, exp, cleared)
    if not kept:
        return 0
    inv = for_results(ep)
    inv.targets = rel_targets(inv, kept)
    proc = inv.run("--touch", "--forcerun", *inv.targets, "--quiet", "all", capture=True)
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return proc.returncode
    print(
        f"recorded {len(kept)} kept file(s) of finished agent and judge jobs for Snakemake "
        "(it was killed before it did; nothing re-run, no bytes changed)"
    )
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    ep, exp = load_experiment(args.results_dir)
    workdir = snakemeta.find_workdir(ep.dir)
    guard.refuse_if_in_use(guard.workdir_of(ep), ep.dir)
    inv = for_results(ep)
    locks = snakemeta.locks(workdir)
    incomplete = sorted(snakemeta.incomplete_files(workdir))
    mine = [p for p in incomplete if ep.dir.resolve() in p.parents]
    orphans = guard.orphan_attempts(ep)
    print(
        f"locks: {len(locks)}; incomplete outputs under {ep.dir}: {len(mine)}; "
        f"attempts still running without a scheduler: {len(orphans)}"
    )
    for p in mine[:20]:
        print(f"  incomplete: {p}")
    for att_dir, pids in sorted(orphans.items()):
        print(f"  running: {att_dir} (pids {', '.join(map(str, sorted(pids)))})")
    if not args.dry_run:
        guard.handle_orphans(ep, args.kill_orphans)
        if locks:
            proc = inv.run("--unlock", capture=True)
            if proc.returncode != 0:
                print(proc.stdout + proc.stderr)
                return proc.returncode
            print("unlocked")
        # An attempt still running keeps its job's markers: if it promotes before the next
        # run, that run's job still runs, adopts it (no call) and Snakemake records it.
        still = guard.orphan_attempts(ep) if args.kill_orphans else orphans
        running = {p for att in still for p in snakemeta.outputs_of_attempt(att)}
        held = [p for p in mine if p.resolve() in running]
        if held:
            print(
                f"kept the incomplete markers of {len(held)} file(s) of attempts still "
                "running: the next run's jobs wait for them and adopt them"
            )
        mine = [p for p in mine if p not in held]
        if mine:
            n = snakemeta.clear_incomplete(workdir, set(mine))
            print(f"cleaned the incomplete markers of {n} file(s)")
            code = _record_kept(ep, exp, set(mine))
            if code:
                return code
        # Interrupted runs stay as they are (status: partial): their next job adopts an
        # attempt that finished, or makes a new one. `scylla run` does that for every run.
        _prune_worktrees(ep)
    proc = inv.run("--dry-run", "--quiet", "rules", capture=True)
    stats = job_stats(proc.stdout + proc.stderr)
    print_plan(stats, "what a run would do now:")
    runs = status.collect(ep, exp)
    print("status: " + "  ".join(f"{k} {v}" for k, v in status.counts(runs)["agent"].items()))
    return 0


def _prune_worktrees(ep: paths.ExperimentPaths) -> None:
    if (ep.task_repo / ".git").exists() and shutil.which("git"):
        from scylla.util.gitutil import git

        git("worktree", "prune", cwd=ep.task_repo.resolve(), check=False)
