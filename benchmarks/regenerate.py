"""Measure status, dry-run and regeneration of agent/result.json on a synthetic results tree.

Builds a tree of N runs with benchmarks/make_tree.py (or reuses one kept earlier), then measures
each figure `--repeat` times (min / median) and prints a table (or JSON with --json):

  1. `scylla status RESULTS --format json` (wall) and scylla.recovery.status.collect (in-process)
  2. `snakemake -n` over the whole experiment (scylla.cli.invoke.for_results), jobs in the DAG
  3. `scylla regenerate RESULTS`; a plain snakemake call forcing only agent_result on the N
     agent/result.json targets, with scheduler / subsample / cores variants (ratio vs the
     workflow profile's defaults, measured in the same run)
  4. the same regeneration in-process (scylla.steps.agent_result.write in a loop) as the baseline

After every regeneration each agent/result.json must parse and equal its content before.
Nothing here is hard-coded: every figure comes from this run.

Usage: python benchmarks/regenerate.py [--runs 1000] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_tree  # noqa: E402

from scylla import config  # noqa: E402
from scylla.cli.invoke import REPO, Invocation, for_results, job_stats, rel_targets  # noqa: E402
from scylla.layout import paths  # noqa: E402
from scylla.recovery import status  # noqa: E402
from scylla.steps import agent_result  # noqa: E402

QUIET = ("--quiet", "rules", "host", "reason")  # what `scylla regenerate` passes, too
PROFILE = REPO / "profiles" / "default" / "config.yaml"
PROFILE_KEYS = ("cores", "scheduler", "scheduler-subsample", "force-use-threads")
# name -> extra snakemake arguments for the agent_result-only call. "profile" is the baseline:
# whatever the workflow profile (profiles/default, printed with the results) sets; every other
# variant overrides one or two of its settings on the command line.
VARIANTS: dict[str, list[str]] = {
    "profile": [],
    "--scheduler greedy": ["--scheduler", "greedy"],
    "--scheduler ilp": ["--scheduler", "ilp"],
    "--scheduler-subsample 100": ["--scheduler-subsample", "100"],
    "--scheduler-subsample 0 (off)": ["--scheduler-subsample", "0"],
    "--cores 2": ["--cores", "2"],
    "--cores 8": ["--cores", "8"],
    "--cores 2 --scheduler-subsample 0": ["--cores", "2", "--scheduler-subsample", "0"],
}


def agent_result_rule(repo: Path = REPO) -> str:
    """The rule whose output is agent/result.json: `agent_result` in older rule graphs, the
    per-run `run_result` (agent/result.json, judge/result.json, run_result.json at once) since
    the three cheap rules were merged."""
    text = "\n".join(f.read_text() for f in sorted((repo / "rules").glob("*.smk")))
    return "agent_result" if "rule agent_result:" in text else "run_result"


def profile_settings() -> dict:
    import yaml

    try:
        data = yaml.safe_load(PROFILE.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return {k: data.get(k) for k in PROFILE_KEYS}


# ---------------------------------------------------------------------------- timing


class Timeout(Exception):
    pass


def run_cmd(argv: list[str], timeout: float, cwd: Path | None = None) -> tuple[float, str, int]:
    """Run argv in its own process group; return (wall seconds, output, returncode)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=make_tree.tool_env(),
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise Timeout(f"{' '.join(argv[:4])} ... exceeded {timeout:.0f} s") from exc
    return time.perf_counter() - t0, out, proc.returncode


def summarize(times: list[float]) -> dict:
    return {
        "min": min(times) if times else None,
        "median": statistics.median(times) if times else None,
        "times": [round(t, 4) for t in times],
    }


class Bench:
    def __init__(self, repeat: int, timeout: float, log: Callable[[str], None]):
        self.repeat = repeat
        self.timeout = timeout
        self.log = log
        self.results: dict[str, dict] = {}

    def measure(self, key: str, label: str, once: Callable[[], dict | None]) -> dict:
        """Call `once` `repeat` times; it returns extra facts or raises; wall time is taken here
        unless `once` returns {"seconds": s}."""
        times: list[float] = []
        facts: dict = {}
        load0 = os.getloadavg()[0]
        self.log(f"{label} ...")
        try:
            for i in range(self.repeat):
                t0 = time.perf_counter()
                got = once() or {}
                seconds = got.pop("seconds", time.perf_counter() - t0)
                times.append(seconds)
                facts.update(got)
                self.log(f"  #{i + 1}: {seconds:.3f} s")
        except Timeout as exc:
            facts["error"] = str(exc)
        except RuntimeError as exc:
            facts["error"] = str(exc)[-2000:]
        row = {
            "label": label,
            **summarize(times),
            "load_before": round(load0, 2),
            "load_after": round(os.getloadavg()[0], 2),
            **facts,
        }
        self.results[key] = row
        return row


# ---------------------------------------------------------------------------- code under test


def code_version(repo: Path = REPO) -> str:
    if os.environ.get("SCYLLA_BENCH_COMMIT"):
        return f"snapshot of {os.environ['SCYLLA_BENCH_COMMIT']} in {repo}"
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "scylla", "rules", "Snakefile"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{repo} (not a git checkout)"
    return f"{commit}{' + uncommitted changes' if dirty else ''} in {repo}"


def run_in_snapshot(argv: list[str]) -> int:
    """Re-run this script against `git archive HEAD` of the repo, so that commits landing
    meanwhile cannot change the code under test halfway through."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit], capture_output=True, check=True
    ).stdout
    snap = Path(tempfile.mkdtemp(prefix="scylla-snapshot-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(snap, filter="data")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(snap), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "SCYLLA_BENCH_COMMIT": commit[:12],
        }
        # cwd = the snapshot: `python -m` puts the cwd first on sys.path
        return subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *argv], env=env, cwd=snap
        ).returncode
    finally:
        shutil.rmtree(snap, ignore_errors=True)


# ---------------------------------------------------------------------------- checks


def snapshot(files: list[Path]) -> dict[Path, tuple[bytes, int]]:
    out = {}
    for f in files:
        try:
            out[f] = (f.read_bytes(), f.stat().st_mtime_ns)
        except OSError:
            out[f] = (b"", 0)
    return out


def compare(before: dict[Path, tuple[bytes, int]]) -> dict:
    """Every file must parse and equal its earlier content; count how many were rewritten."""
    rewritten = parsed = equal = same_bytes = 0
    diffs: list[str] = []
    for f, (old, mtime) in before.items():
        try:
            data, new_mtime = f.read_bytes(), f.stat().st_mtime_ns
        except OSError:
            diffs.append(f"{f}: missing")
            continue
        rewritten += new_mtime != mtime
        same_bytes += data == old
        try:
            new_doc = json.loads(data)
        except ValueError:
            diffs.append(f"{f}: does not parse")
            continue
        parsed += 1
        old_doc = json.loads(old) if old else None
        if new_doc == old_doc:
            equal += 1
        elif len(diffs) < 5:
            if isinstance(new_doc, dict) and isinstance(old_doc, dict):
                keys = sorted(k for k in {*new_doc, *old_doc} if new_doc.get(k) != old_doc.get(k))
                diffs.append(f"{f}: fields differ: {', '.join(keys)}")
            else:
                diffs.append(f"{f}: content differs")
    return {
        "files": len(before),
        "rewritten": rewritten,
        "parsed": parsed,
        "equal": equal,
        "identical_bytes": same_bytes,
        "ok": parsed == equal == len(before),
        "differences": diffs,
    }


def correctness_line(c: dict) -> str:
    line = (
        f"{c['equal']}/{c['files']} equal, {c['parsed']} parse, "
        f"{c['rewritten']} rewritten, {c['identical_bytes']} byte-identical"
    )
    return line + ("" if c["ok"] else "  DIFFERS: " + "; ".join(c["differences"][:3]))


# ---------------------------------------------------------------------------- the benchmark


def ensure_tree(args, log) -> tuple[Path, make_tree.TreeInfo, bool]:
    if args.keep:
        workdir = args.keep.resolve()
        info = make_tree.load_info(workdir)
        if info is not None and info.runs == make_tree.Layout.for_runs(args.runs).total:
            log(f"reusing the tree in {workdir} ({info.runs} runs, layout {info.layout})")
            if info.code != make_tree.code_fingerprint():
                log("WARNING: the tree was built by other code; `snakemake -n` may want jobs")
            return workdir, info, True
        if info is not None:
            raise SystemExit(
                f"{workdir} holds a tree of {info.runs} runs; use another --keep directory"
            )
    else:
        workdir = Path(tempfile.mkdtemp(prefix="scylla-bench-"))
    log(f"building a tree of {args.runs} runs in {workdir} (one real run, then copies)")
    info = make_tree.build(workdir, args.runs, verbose=not args.json)
    return workdir, info, False


def run_benchmark(args) -> dict:
    def log(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    started = datetime.now(UTC)
    load_start = os.getloadavg()
    code_start = make_tree.code_fingerprint()
    workdir, info, reused = ensure_tree(args, log)
    ep = paths.ExperimentPaths(Path(info.results))
    exp = config.load_saved(ep.dir)
    keys = list(exp.run_keys())
    rps = [ep.run(k.tier, k.subtest, k.run) for k in keys]
    agent_results = [rp.agent_result for rp in rps]
    bench = Bench(args.repeat, args.timeout, log)
    cli = make_tree.scylla_cli()

    def inv_base() -> Invocation:
        return for_results(ep)

    def snakemake(inv: Invocation, *more: str) -> tuple[float, str]:
        seconds, out, code = run_cmd(inv.argv(*more), args.timeout)
        if code != 0:
            inv.run("--unlock", capture=True)
            raise RuntimeError(f"snakemake exited {code}:\n{out[-3000:]}")
        return seconds, out

    # untouched across the whole benchmark: the agent's logs and the judges' judgments
    untouched_files = [rp.agent_stdout for rp in rps] + [
        rp.judge_slot(s).judgment for rp in rps for s in exp.slots
    ]
    untouched = {f: f.stat().st_mtime_ns for f in untouched_files}
    original = snapshot(agent_results)
    # the merged rule run_result rewrites these two as well: their mtimes are put back too
    original_derived = snapshot(
        [rp.run_result for rp in rps] + [rp.consensus for rp in rps] + agent_results
    )

    # 1. status -------------------------------------------------------------------------
    def status_cli() -> dict:
        seconds, out, code = run_cmd(
            [*cli, "status", str(ep.dir), "--format", "json"], args.timeout
        )
        if code != 0:
            raise RuntimeError(out[-2000:])
        rows = json.loads(out)
        done = sum(r["status"] == "completed" for r in rows)
        return {"seconds": seconds, "runs_reported": len(rows), "completed": done}

    bench.measure("status_cli", "scylla status --format json (wall)", status_cli)

    def status_collect() -> dict:
        t0 = time.perf_counter()
        runs = status.collect(ep, exp)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "runs_reported": len(runs)}

    bench.measure("status_collect", "status.collect (in-process)", status_collect)

    # 2. dry-run ------------------------------------------------------------------------
    def dry_run(*more: str) -> Callable[[], dict]:
        def once() -> dict:
            seconds, out = snakemake(inv_base(), "-n", *more)
            stats = job_stats(out)
            nothing = "Nothing to be done" in out
            return {
                "seconds": seconds,
                "jobs": stats,
                "jobs_total": sum(stats.values()),
                "nothing_to_do": nothing,
            }

        return once

    bench.measure("dry_run", "snakemake -n, whole experiment (wall)", dry_run())
    bench.measure(
        "dry_run_forceall",
        "snakemake -n --forceall --quiet rules (the full DAG)",
        dry_run("--forceall", "--quiet", "rules"),
    )

    # 3. regeneration through snakemake ----------------------------------------------------
    def agent_result_inv(extra: list[str]) -> Invocation:
        inv = inv_base()
        inv.targets = rel_targets(inv, agent_results)
        rule = agent_result_rule()
        inv.extra = ["--forcerun", rule, "--allowed-rules", rule, *extra]
        return inv

    def dag_only() -> dict:
        seconds, out = snakemake(agent_result_inv([]), "-n", "--quiet", "rules")
        stats = job_stats(out)
        return {"seconds": seconds, "jobs": stats, "jobs_total": sum(stats.values())}

    bench.measure(
        "agent_result_dag_only",
        "agent_result-only call, dry-run (start-up + DAG, no execution)",
        dag_only,
    )

    regen_files = agent_results + [rp.run_result for rp in rps] + [rp.consensus for rp in rps]

    def with_check(key: str, files: list[Path], action: Callable[[], dict]) -> Callable[[], dict]:
        checks: list[dict] = []

        def once() -> dict:
            before = snapshot(files)
            got = action()
            c = compare(before)
            # agent/result.json must equal the content it had before the benchmark, too
            c_orig = compare({f: (original[f][0], before[f][1]) for f in agent_results})
            c["agent_result_vs_original_equal"] = c_orig["equal"]
            c["ok"] = c["ok"] and c_orig["ok"]
            checks.append(c)
            bench.log(f"  check: {correctness_line(c)}")
            return {**got, "correctness": checks[-1], "all_checks_ok": all(x["ok"] for x in checks)}

        return once

    def scylla_regenerate() -> dict:
        seconds, out, code = run_cmd([*cli, "regenerate", str(ep.dir)], args.timeout)
        if code != 0:
            raise RuntimeError(out[-3000:])
        return {"seconds": seconds}

    bench.measure(
        "regenerate_cli",
        "scylla regenerate (the cheap per-run rules + reports)",
        with_check("regenerate_cli", regen_files, scylla_regenerate),
    )

    variants = VARIANTS if not args.no_variants else {"profile": []}
    for name, extra in variants.items():

        def forced(extra=extra) -> dict:
            seconds, _out = snakemake(agent_result_inv(extra), *QUIET)
            return {"seconds": seconds}

        bench.measure(
            f"agent_result[{name}]",
            f"snakemake, agent_result only, {name}",
            with_check(name, agent_results, forced),
        )
    base = bench.results.get("agent_result[profile]", {}).get("median")
    for name in variants:
        row = bench.results[f"agent_result[{name}]"]
        row["ratio_vs_profile"] = row["median"] / base if base and row.get("median") else None

    # 4. in-process baseline -------------------------------------------------------------
    agents = {(k.tier, k.subtest): exp.agent_spec(k.tier, k.subtest) for k in keys}

    def baseline() -> dict:
        t0 = time.perf_counter()
        for k, rp in zip(keys, rps, strict=True):
            agent_result.write(rp, agents[(k.tier, k.subtest)])
        return {"seconds": time.perf_counter() - t0}

    bench.measure(
        "baseline_inprocess",
        "in-process loop of agent_result.write (no snakemake)",
        with_check("baseline", agent_results, baseline),
    )

    # optional: one profiled agent_result-only call (cProfile of the snakemake main thread)
    profile = None
    if args.profile:
        inv = agent_result_inv([])
        argv = inv.argv(*QUIET)
        argv = [argv[0], "-m", "cProfile", "-o", str(args.profile), *argv[1:]]
        log(f"profiling one agent_result-only call into {args.profile}")
        seconds, out, code = run_cmd(argv, args.timeout)
        profile = {
            "file": str(args.profile),
            "seconds": seconds,
            "top": top_functions(args.profile),
        }

    # restore: the derived records back to their pre-benchmark mtimes (content is equal), so
    # the tree is complete again; then snakemake -n must find nothing to do.
    for f, (_data, mtime) in original_derived.items():
        st = f.stat()
        os.utime(f, ns=(st.st_atime_ns, mtime))
    _s, out = snakemake(inv_base(), "-n", "--quiet", "rules")
    final_stats = job_stats(out)
    changed = [str(f) for f, m in untouched.items() if f.stat().st_mtime_ns != m]

    r = bench.results
    ratios = {}
    b = r["baseline_inprocess"].get("median")
    for key in ("regenerate_cli", "agent_result[profile]"):
        m = r.get(key, {}).get("median")
        ratios[f"{key} / baseline"] = m / b if m and b else None
    result = {
        "date": started.isoformat(timespec="seconds"),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "snakemake": snakemake_version(),
            "code": code_version(),
            "code_fingerprint": code_start,
            "code_changed_during_run": make_tree.code_fingerprint() != code_start,
            "workflow_profile": profile_settings(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "repeat": args.repeat,
        "tree": {**asdict(info), "reused": reused},
        "measurements": r,
        "ratios": ratios,
        "final_check": {
            "dry_run_jobs_after_restore": final_stats,
            "complete_after_benchmark": not final_stats,
            "agent_logs_or_judgments_touched": len(changed),
            "touched_examples": changed[:5],
        },
        "profile": profile,
    }
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
        result["tree"]["removed"] = True
    return result


def snakemake_version() -> str:
    try:
        import snakemake

        return snakemake.__version__
    except Exception:  # pragma: no cover - informational only
        return "?"


def top_functions(prof: Path, n: int = 15) -> list[dict]:
    import pstats

    try:
        st = pstats.Stats(str(prof))
    except (OSError, TypeError, ValueError):
        return []
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():
        rows.append(
            {"function": f"{Path(file).name}:{line}({func})", "calls": nc, "tottime": tt, "cum": ct}
        )
    by_tot = sorted(rows, key=lambda x: -x["tottime"])[:n]
    by_cum = sorted(rows, key=lambda x: -x["cum"])[:n]
    return [{"by": "tottime", "rows": by_tot}, {"by": "cumtime", "rows": by_cum}]


# ---------------------------------------------------------------------------- output


def fmt(x: float | None, unit: str = "s") -> str:
    return "-" if x is None else f"{x:.3f}{unit}" if unit == "s" else f"{x:.2f}{unit}"


def render(res: dict) -> str:
    h, t = res["host"], res["tree"]
    lines = [
        f"scylla regeneration benchmark  {res['date']}",
        f"code: {h['code']} (fingerprint {h['code_fingerprint']})"
        + (
            "  WARNING: the code changed while the benchmark ran (use --snapshot)"
            if h["code_changed_during_run"]
            else ""
        ),
        f"host: {h['cpus']} CPUs, python {h['python']}, snakemake {h['snakemake']}; "
        f"load average at start {h['loadavg_start']}, at end {h['loadavg_end']}",
        "workflow profile: "
        + ", ".join(f"{k}={v}" for k, v in h.get("workflow_profile", {}).items())
        + " (the 'profile' rows)",
        f"tree: {t['runs']} runs ({t['layout']} tiers x subtests x runs), 2 judges, "
        f"{t['workdir']}{' (reused)' if t.get('reused') else ''}; each figure "
        f"{res['repeat']} times",
        "",
    ]
    head = ["figure", "min", "median", "load", "notes"]
    table = [head]
    for _key, row in res["measurements"].items():
        notes = []
        if "jobs_total" in row:
            notes.append(f"jobs {row['jobs_total']}")
            if row.get("nothing_to_do"):
                notes.append("nothing to be done")
        if "runs_reported" in row:
            notes.append(f"{row['runs_reported']} runs")
        if "completed" in row:
            notes.append(f"{row['completed']} completed")
        if row.get("ratio_vs_profile") is not None:
            notes.append(f"x{row['ratio_vs_profile']:.2f} vs profile")
        if "correctness" in row:
            notes.append("check " + ("OK" if row.get("all_checks_ok") else "FAILED"))
        if row.get("error"):
            notes.append("ERROR: " + row["error"].splitlines()[0][:80])
        load = f"{row['load_before']:.1f}->{row['load_after']:.1f}"
        table.append([row["label"], fmt(row["min"]), fmt(row["median"]), load, ", ".join(notes)])
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for i, r in enumerate(table):
        cells = [
            r[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(r[1:4], widths[1:4], strict=True)),
            r[4],
        ]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths[:4]) + "  -----")
    lines.append("")
    for k, v in res["ratios"].items():
        lines.append(f"ratio {k} (medians): {fmt(v, 'x')}")
    lines.append("")
    lines.append("correctness (last repetition of each regeneration):")
    for _key, row in res["measurements"].items():
        if "correctness" in row:
            lines.append(f"  {row['label']}: {correctness_line(row['correctness'])}")
    fc = res["final_check"]
    lines.append(
        f"  after the benchmark: snakemake -n wants {fc['dry_run_jobs_after_restore'] or 'nothing'}"
        f"; agent logs / judgments touched: {fc['agent_logs_or_judgments_touched']}"
    )
    if res.get("profile"):
        p = res["profile"]
        lines += ["", f"profile of one agent_result-only call ({p['seconds']:.1f} s, {p['file']}):"]
        for block in p["top"]:
            lines.append(f"  top by {block['by']}:")
            for row in block["rows"][:12]:
                lines.append(
                    f"    {row['tottime']:8.2f} {row['cum']:8.2f} {row['calls']:>9}  "
                    f"{row['function']}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=1000, help="runs in the tree (default 1000)")
    p.add_argument("--keep", type=Path, metavar="DIR", help="build (or reuse) the tree in DIR")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--repeat", type=int, default=3, help="repetitions per figure (default 3)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per command (default 900)")
    p.add_argument("--no-variants", action="store_true", help="skip the scheduler/cores variants")
    p.add_argument("--profile", type=Path, metavar="FILE", help="cProfile one snakemake call")
    p.add_argument(
        "--snapshot",
        action="store_true",
        help="measure a `git archive HEAD` copy of the repo (immune to concurrent commits)",
    )
    args = p.parse_args(argv)
    if args.snapshot:
        rest = ["--runs", str(args.runs), "--repeat", str(args.repeat)]
        rest += ["--timeout", str(args.timeout)]
        rest += ["--keep", str(args.keep.resolve())] if args.keep else []
        rest += ["--profile", str(args.profile.resolve())] if args.profile else []
        rest += ["--json"] if args.json else []
        rest += ["--no-variants"] if args.no_variants else []
        return run_in_snapshot(rest)
    res = run_benchmark(args)
    print(json.dumps(res, indent=2, default=str) if args.json else render(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
