"""How long `scylla report RESULTS` takes on a 1,000-run experiment, and where the time goes.

1. A 1,000-run tree (5 tiers x 4 subtests x 50 runs, 2 judges or --judges 3) is built with
   make_tree.py, or reused from --keep DIR (as bench.py does: rebuilt when the code that
   built it differs, unless --reuse-stale-trees).
2. Every run of such a tree is a copy of one seed run: all scores are equal and every
   statistic is degenerate. So a COPY of it (never the cached tree) gets, from a seeded numpy
   generator, scores that differ by tier (T0 lowest), per-judge noise and bias (Krippendorff's
   alpha is defined and below 1) and varied agent costs: each judgment's score, passed
   (score >= 0.5) and grade (scylla.judging.grading.grade_for); judge/result.json from
   scylla.judging.consensus.build; agent/result.json's cost_usd; and run_result.json from
   scylla.steps.run_result.build, so every field is what the pipeline would have derived.
3. The whole process `scylla report <copy>/results/<exp>` (cwd = the copy's workdir) runs
   --repeat times: min and median wall time, peak RSS (bench.run_measured), CPU time,
   PASS/MISS against the target (<= 10 s), the 1-minute load average before and after.
4. Where the time goes: the import time of scylla.reports + scylla.reports.figures in a fresh
   interpreter, and one more in-process run of scylla.reports.write_all under cProfile,
   split into phases: frames.py (reading the artifacts), summarize, _comparisons,
   _agreement, _figures (of which figures.save) and the rest.

Example:
  .venv/bin/python benchmarks/reports.py --keep /tmp/scylla-bench-trees
  .venv/bin/python benchmarks/reports.py --keep /tmp/scylla-bench-trees --judges 3 --json
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402
import make_tree  # noqa: E402
import regenerate  # noqa: E402

LAYOUT = "5x4x50"
TARGET_S = 10.0
IMPORT_CODE = (
    "import time; t=time.perf_counter(); import scylla.reports, scylla.reports.figures; "
    "print(time.perf_counter()-t)"
)
# (key, label, predicate on a pstats function key (file, line, name)). Phases are exclusive:
# a phase called inside another (ledger_frame inside _figures) counts for the inner one.
PHASES = (
    (
        "frames",
        "frames.py (reading the artifacts)",
        lambda f: f[0].endswith("scylla/reports/frames.py"),
    ),
    ("summarize", "summarize (subtest/tier/experiment statistics)", lambda f: _is(f, "summarize")),
    ("comparisons", "_comparisons (tier comparisons)", lambda f: _is(f, "_comparisons")),
    ("agreement", "_agreement (judge agreement)", lambda f: _is(f, "_agreement")),
    ("figures", "_figures (drawing and saving the figures)", lambda f: _is(f, "_figures")),
)
SAVE = lambda f: f[0].endswith("scylla/reports/figures.py") and f[2] == "save"  # noqa: E731
WRITE_ALL = lambda f: _is(f, "write_all")  # noqa: E731


def _is(f: tuple, name: str) -> bool:
    return f[0].endswith("scylla/reports/__init__.py") and f[2] == name


def log(msg: str) -> None:
    print(f"[reports] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- the copy


def realistic_copy(tree: Path, experiment: str, dest: Path, seed: int) -> dict:
    """Copy the tree (without Snakemake's metadata records, which reports never read) and give
    its runs varied, consistent scores and costs. Returns what it made, for the notes."""
    import numpy as np

    from scylla.cli.common import load_experiment
    from scylla.judging import consensus
    from scylla.judging.grading import grade_for
    from scylla.steps import run_result
    from scylla.util import jsonio

    t0 = time.perf_counter()
    skip = (tree / ".snakemake" / "metadata").resolve()
    shutil.copytree(
        tree,
        dest,
        symlinks=True,
        ignore=lambda d, names: names if Path(d).resolve() == skip else [],
    )
    copied = time.perf_counter() - t0
    ep, exp = load_experiment(dest / "results" / experiment)
    rng = np.random.default_rng(seed)
    tiers = list(exp.tiers)
    slots = exp.slots
    # slot i judges a little harsher or kinder than the others; each judgment has its own noise
    bias = {s: 0.04 * (i - (len(slots) - 1) / 2) for i, s in enumerate(slots)}
    sub_offset = {key: rng.normal(0, 0.06) for key in exp.subtests()}
    shapes_differ: set[str] = set()
    t1 = time.perf_counter()
    for key in exp.run_keys():
        rp = ep.run(key.tier, key.subtest, key.run)
        t = tiers.index(key.tier)
        base = 0.35 + 0.4 * t / max(len(tiers) - 1, 1) + sub_offset[(key.tier, key.subtest)]
        base = float(np.clip(rng.normal(base, 0.2), 0.0, 1.0))
        judgments = {}
        for slot in slots:
            path = rp.judge_slot(slot).judgment
            j = jsonio.read_json_object(path) or {}
            score = round(float(np.clip(base + bias[slot] + rng.normal(0, 0.06), 0, 1)), 3)
            j.update(score=score, passed=score >= 0.5, grade=grade_for(score))
            jsonio.write_json(path, j)
            judgments[slot] = j
        old = jsonio.read_json_object(rp.consensus) or {}
        cons = consensus.build(judgments)
        if set(cons) != set(old):
            shapes_differ.add("judge/result.json")
        jsonio.write_json(rp.consensus, cons)
        agent = jsonio.read_json_object(rp.agent_result) or {}
        if isinstance(agent.get("cost_usd"), int | float):
            # higher tiers cost more, with a long tail
            factor = (1 + 0.5 * t) * float(rng.lognormal(0, 0.5))
            agent["cost_usd"] = round(agent["cost_usd"] * factor, 6)
            jsonio.write_json(rp.agent_result, agent)
        old = jsonio.read_json_object(rp.run_result) or {}
        new = run_result.build(rp, key.run)
        if set(new) != set(old):
            shapes_differ.add("run_result.json")
        jsonio.write_json(rp.run_result, new)
    return {
        "workdir": str(dest),
        "results": str(ep.dir),
        "seed": seed,
        "copy_seconds": round(copied, 2),
        "rewrite_seconds": round(time.perf_counter() - t1, 2),
        "shapes_differ": sorted(shapes_differ),
    }


# ---------------------------------------------------------------------------- the profile


def phase_times(prof: Path) -> dict:
    """Exclusive time of every phase of write_all, from the profile's call graph: a phase's
    calls from outside itself, minus the calls into other phases made from inside it (a caller
    is inside a phase when every chain of callers above it leads to the phase)."""
    st = pstats.Stats(str(prof)).stats
    roots = [f for f in st if WRITE_ALL(f)]
    total = sum(st[f][3] for f in roots)
    members = {key: frozenset(f for f in st if pred(f)) for key, _label, pred in PHASES}
    members["save"] = frozenset(f for f in st if SAVE(f))

    def entered(fs: frozenset) -> tuple[float, int]:
        ct = calls = 0
        for f in fs:
            for caller, edge in st[f][4].items():
                if caller not in fs:
                    calls += edge[1]
                    ct += edge[3]
        return ct, calls

    memo: dict[tuple, bool] = {}

    def inside(f, fs: frozenset) -> bool:
        if f in fs:
            return True
        if (f, fs) not in memo:
            memo[(f, fs)] = False  # a cycle of callers does not count as inside
            callers = st[f][4] if f in st and not WRITE_ALL(f) else {}
            memo[(f, fs)] = bool(callers) and all(inside(c, fs) for c in callers)
        return memo[(f, fs)]

    def nested(inner: frozenset, outer: frozenset) -> float:
        return sum(
            edge[3]
            for f in inner
            for caller, edge in st[f][4].items()
            if caller not in inner and inside(caller, outer)
        )

    rows = {}
    for key, label, _pred in PHASES:
        cum, calls = entered(members[key])
        inner = sum(nested(members[k], members[key]) for k, *_ in PHASES if k != key)
        rows[key] = {"label": label, "seconds": cum - inner, "cumulative": cum, "calls": calls}
    save, save_calls = entered(members["save"])
    rows["save"] = {"label": "  of which figures.save (PNG + SVG)", "seconds": save}
    rows["save"]["calls"] = save_calls
    rest = total - sum(rows[k]["seconds"] for k, *_ in PHASES)
    rows["rest"] = {
        "label": "rest (report JSON/Markdown, CSV tables, spend, pandas glue)",
        "seconds": rest,
        "calls": None,
    }
    for r in rows.values():
        r["share"] = r["seconds"] / total if total else None
    return {"total": total, "phases": rows}


def profile_write_all(results: Path, out: Path) -> dict:
    """One in-process write_all under cProfile (imports done before, so not in the profile)."""
    import scylla.reports
    import scylla.reports.figures  # noqa: F401  (imported lazily by _figures)
    from scylla.cli.common import load_experiment

    ep, exp = load_experiment(results)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.runcall(scylla.reports.write_all, ep, exp)
    seconds = time.perf_counter() - t0
    prof.dump_stats(str(out))
    top = bench.profile_tables(out, n=10)[:2]
    return {"seconds": seconds, "file": str(out), **phase_times(out), "top": top}


# ---------------------------------------------------------------------------- output


def render(res: dict) -> str:
    h, t, c = res["host"], res["tree"], res["copy"]
    reused = "built now"
    if t.get("reused"):
        reused = "reused, built by other code" if t.get("stale") else "reused"
    lines = [
        f"scylla report benchmark  {res['date']}",
        *bench.code_and_host(h),
        f"tree: {t['runs']:,} runs ({t['layout']} tiers x subtests x runs), {t['judges']} judges, "
        f"{t['workdir']} ({reused})",
        f"copy: {c['results']} (seed {c['seed']}: copied in {c['copy_seconds']:.1f} s, scores "
        f"and costs rewritten in {c['rewrite_seconds']:.1f} s)"
        + (f"; WARNING: new keys in {', '.join(c['shapes_differ'])}" if c["shapes_differ"] else ""),
        "",
    ]
    head = ["figure", "target", "min", "median", "peak RSS", "cpu", "result", "load"]
    table = [head]
    for row in res["rows"].values():
        table.append(
            [
                row["label"],
                f"<={row['target_s']:g}s" if row["target_s"] is not None else "-",
                bench.fmt_s(row["min"]),
                bench.fmt_s(row["median"]),
                "-" if row.get("peak_rss") is None else f"{row['peak_rss'] / bench.MB:.0f} MB",
                "-" if row.get("cpu_median") is None else f"{row['cpu_median']:.1f}s",
                row["result"],
                f"{row['load'][0]:.1f}->{row['load'][1]:.1f}",
            ]
        )
    lines += _table(table, left=(0, 1, 6))
    lines.append("")
    for row in res["rows"].values():
        notes = list(row.get("notes") or [])
        if row.get("error"):
            notes.insert(0, "ERROR: " + row["error"].splitlines()[0][:160])
        lines.append(f"  {row['label']}: " + "; ".join([f"n={row['repeat']}", *notes]))
    p = res.get("profile")
    if p:
        lines += [
            "",
            "where the time goes: scylla.reports.write_all in-process under cProfile, "
            f"{p['total']:.2f} s ({p['file']}); seconds = cumulative minus the other phases "
            "called inside it; share of the total",
            "",
        ]
        table = [["phase", "cumulative", "seconds", "share", "calls"]]
        for r in p["phases"].values():
            table.append(
                [
                    r["label"],
                    f"{r['cumulative']:.2f}" if "cumulative" in r else "",
                    f"{r['seconds']:.2f}",
                    f"{100 * r['share']:.1f} %" if r["share"] is not None else "-",
                    "" if r["calls"] is None else str(r["calls"]),
                ]
            )
        table.append(["total (write_all)", "", f"{p['total']:.2f}", "100.0 %", ""])
        lines += _table(table, left=(0,))
        for block in p["top"]:
            lines += ["", f"  top by {block['by']}:", "     tottime   cumtime      calls  function"]
            for r in block["rows"]:
                lines.append(
                    f"    {r['tottime']:8.2f}  {r['cum']:8.2f}  {r['calls']:>9}  {r['function']}"
                )
    return "\n".join(lines)


def _table(rows: list[list[str]], left: tuple[int, ...]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for i, r in enumerate(rows):
        cells = [
            c.ljust(w) if j in left else c.rjust(w)
            for j, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


# ---------------------------------------------------------------------------- main


def run_benchmark(args) -> dict:
    started = datetime.now(UTC)
    load_start = os.getloadavg()
    code_start = make_tree.code_fingerprint()
    trees = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="scylla-bench-"))
    trees.mkdir(parents=True, exist_ok=True)
    ctx = SimpleNamespace(trees=trees, log=log, trees_used={}, args=args)
    table = bench.Table(args.repeat, log)
    try:
        info = bench.tree(ctx, "reports", LAYOUT, args.judges)
        dest = trees / f"reports-{LAYOUT}-j{args.judges}.realistic"
        shutil.rmtree(dest, ignore_errors=True)
        log(f"copying the tree to {dest} and rewriting scores and costs (seed {args.seed})")
        copy = realistic_copy(Path(info.workdir), info.experiment, dest, args.seed)
        results = Path(copy["results"])
        cli = make_tree.scylla_cli()
        runs = info.runs

        def report_once(_i: int) -> dict:
            ran = bench.checked(
                bench.run_measured([*cli, "report", str(results)], args.timeout, cwd=dest),
                "scylla report",
            )
            return ran.sample(notes=[ran.output.strip().splitlines()[-1][:160]])

        table.measure(
            "report",
            "r",
            f"scylla report, {runs:,} runs x {args.judges} judges (whole process)",
            report_once,
            target=(TARGET_S, None),
        )
        if not table.rows["report"].get("error"):
            report = json.loads((results / "report.json").read_text())
            by_tier = ", ".join(f"{t['tier']} {t['pass_rate']:.2f}" for t in report["tiers"])
            alpha = (report.get("judge_agreement") or {}).get("krippendorff_alpha")
            alpha = "undefined" if alpha is None else f"{alpha:.3f}"
            table.rows["report"].setdefault("notes", []).extend(
                [f"pass rate by tier: {by_tier}", f"Krippendorff's alpha {alpha}"]
            )

        def import_once(_i: int) -> dict:
            ran = bench.checked(
                bench.run_measured([sys.executable, "-c", IMPORT_CODE], args.timeout, cwd=dest),
                "import",
            )
            notes = ["the child's perf_counter around the imports; peak RSS of that process"]
            return {"seconds": float(ran.output.split()[-1]), "rss": ran.peak, "notes": notes}

        table.measure(
            "imports",
            "r",
            "import scylla.reports + figures (fresh interpreter)",
            import_once,
        )
        log("one more write_all, in-process under cProfile")
        load0 = os.getloadavg()[0]
        profile = profile_write_all(results, trees / "reports-write_all.prof")
        table.rows["write_all"] = {
            "label": "scylla.reports.write_all in-process under cProfile",
            "target_s": None,
            "target_mb": None,
            "repeat": 1,
            "min": profile["seconds"],
            "median": profile["seconds"],
            "times": [round(profile["seconds"], 4)],
            "load": [round(load0, 2), round(os.getloadavg()[0], 2)],
            "notes": ["profiler overhead included; imports done before"],
        }
        table.finish()
    finally:
        if not args.keep:
            shutil.rmtree(trees, ignore_errors=True)
    return {
        "date": started.isoformat(timespec="seconds"),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "code": regenerate.code_version(),
            "code_fingerprint": code_start,
            "code_changed": make_tree.code_fingerprint() != code_start,
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "repeat": args.repeat,
        "target_s": TARGET_S,
        "tree": ctx.trees_used["reports"],
        "copy": copy,
        "rows": table.rows,
        "profile": profile,
        "median_s": table.rows["report"]["median"],
        "min_s": table.rows["report"]["min"],
        "pass": table.rows["report"]["result"] == "PASS",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__[__doc__.index("Example:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--keep", type=Path, metavar="DIR", help="build (or reuse) the tree in DIR (default: temp)"
    )
    p.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    p.add_argument("--judges", type=int, default=2, choices=(2, 3), help="judges (default 2)")
    p.add_argument("--seed", type=int, default=42, help="numpy seed of the scores (default 42)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per command")
    p.add_argument(
        "--reuse-stale-trees", action="store_true", help="reuse a tree built by other code"
    )
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)
    res = run_benchmark(args)
    print(render(res))
    if args.json:
        print(json.dumps(res, indent=2, default=str))
    errors = [r for r in res["rows"].values() if r.get("result") == "ERROR"]
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
