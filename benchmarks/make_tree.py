"""Build a synthetic but realistic scylla results tree of N runs (module + CLI).

How the tree is made:

1. ONE real tiny experiment (1 tier, 1 subtest, 1 run, 2 judges or --judges N (1-3), the
   stand-in `claude`) runs through the real pipeline: `scylla run config/seed.yaml` with
   cwd = the target workdir.
2. That run's files (agent/, judge/, judge_prompt.md, diff.patch, checks.json, run_result.json,
   its per-run logs; never the workspace worktree) are replicated into N runs spread over
   inline tiers/subtests (default for 1,000 runs: T0..T4 x 4 subtests x 50 runs). Paths that
   name the seed run are rewritten, run_result.json gets its run_number, file mtimes keep the
   seed's order, and Snakemake's metadata records (.snakemake/metadata) are replicated too, so
   Snakemake sees N finished runs exactly as if it had run them.
3. results/<exp>/config/scylla.json is the seed's saved config with `tiers`/`runs` changed, and
   config/config.yaml in the workdir holds the same experiment, so both `scylla run` and
   snakemake with `--configfile results/<exp>/config/scylla.json --config results_dir=results`
   (what `scylla.cli.invoke.for_results` builds) see the same experiment.
4. The reports are built by the real pipeline (only the experiment_config and report rules are
   allowed), then a dry-run must say that nothing is left to do.

Usage:  python benchmarks/make_tree.py WORKDIR [--runs 1000] [--layout 5x4x50] [--experiment bench]
                                            [--judges 2]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import time
from base64 import urlsafe_b64encode
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from scylla import config as scylla_config
from scylla.cli.invoke import REPO, Invocation, for_results, job_stats
from scylla.cli.recovery import REPORT_RULES
from scylla.layout import paths

SEED_TIER, SEED_SUBTEST, SEED_RUN = "T0", "00", 1
INFO_FILE = "bench-tree.json"
RUN_SKIP = ("workspace", "attempts")


@dataclass(frozen=True)
class Layout:
    tiers: int
    subtests: int
    runs: int

    @property
    def total(self) -> int:
        return self.tiers * self.subtests * self.runs

    def __str__(self) -> str:
        return f"{self.tiers}x{self.subtests}x{self.runs}"

    @classmethod
    def parse(cls, text: str) -> Layout:
        t, s, r = (int(x) for x in text.lower().split("x"))
        layout = cls(t, s, r)
        if not (1 <= t <= len(paths.TIER_IDS) and 1 <= s <= 100 and 1 <= r <= 99):
            raise ValueError(f"layout {text}: need 1-7 tiers, 1-100 subtests, 1-99 runs")
        return layout

    @classmethod
    def for_runs(cls, n: int) -> Layout:
        """tiers x subtests x runs == n if possible (else the smallest total above n),
        preferring 5 tiers and 50 runs per subtest (1,000 -> 5x4x50)."""
        if n < 1:
            raise ValueError("need at least one run")
        best: tuple | None = None
        for t in range(1, len(paths.TIER_IDS) + 1):
            for r in range(1, 100):
                s = max(1, -(-n // (t * r)))
                if s > 100:
                    continue
                key = (t * s * r - n, abs(t - 5), abs(r - 50), s)
                if best is None or key < best[0]:
                    best = (key, cls(t, s, r))
        if best is None:
            raise ValueError(f"{n} runs do not fit in 7 tiers x 100 subtests x 99 runs")
        return best[1]


@dataclass
class TreeInfo:
    workdir: str
    experiment: str
    results: str  # results/<experiment>, absolute
    layout: str
    runs: int
    judges: int = 2
    seed_seconds: float = 0.0
    replicate_seconds: float = 0.0
    reports_seconds: float = 0.0
    files_written: int = 0
    metadata_records: int = 0
    dry_run_jobs: dict[str, int] = field(default_factory=dict)
    code: str = ""  # code_fingerprint() of the scylla code that built the tree


# ---------------------------------------------------------------------------- helpers

CODE_GLOBS = (
    "Snakefile",
    "rules/*.smk",
    "scylla/**/*.py",
    "profiles/default/*",
    "config/schemas/*",
)


def code_fingerprint(repo: Path = REPO) -> str:
    """A digest of the code the measurements run (other sessions may edit the repo meanwhile)."""
    h = hashlib.sha256()
    for pattern in CODE_GLOBS:
        for f in sorted(repo.glob(pattern)):
            if f.is_file():
                h.update(str(f.relative_to(repo)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def scylla_cli() -> list[str]:
    exe = Path(sys.executable).parent / "scylla"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "scylla.cli.main"]


def tool_env() -> dict[str, str]:
    """The environment scylla.cli.invoke.Invocation.run uses (this interpreter's bin first on
    PATH)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}" + os.environ.get("PATH", "")
    return {**os.environ, "PATH": path}


def run_snakemake(
    inv: Invocation, *more: str, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        inv.argv(*more), text=True, capture_output=True, env=tool_env(), timeout=timeout
    )


def record_path(metadata_dir: Path, key: str, max_len: int) -> Path:
    """Snakemake's FilePersistence._record_path: urlsafe base64 of the output path, split in
    chunks of NAME_MAX - 1 (all but the last chunk prefixed with '@')."""
    b64 = urlsafe_b64encode(key.encode()).decode()
    parts = [b64[i : i + max_len - 1] for i in range(0, len(b64), max_len - 1)]
    parts = ["@" + p for p in parts[:-1]] + [parts[-1]]
    return metadata_dir.joinpath(*parts)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# Judge slots of the seed run, in order; --judges N takes the first N.
JUDGE_MODELS = ("claude-opus-4-5-20251101", "claude-haiku-4-5", "claude-sonnet-4-5-20250929")


def standin_agent(delay: float) -> dict:
    """The agent settings of every benchmark experiment: the stand-in claude, `delay` s."""
    return {
        "adapter": "claude-code",
        "cli": "claude-standin",
        "model": "claude-sonnet-4-5-20250929",
        "timeout": 120,
        "env": {
            "CLAUDE_STANDIN_DELAY": str(delay),
            "CLAUDE_STANDIN_SOLUTION": "{task_dir}/solution.patch",
        },
    }


def seed_config(name: str, judges: int = 2) -> dict:
    if not 1 <= judges <= len(JUDGE_MODELS):
        raise ValueError(f"judges: 1-{len(JUDGE_MODELS)}")
    return {
        "results_dir": "results",
        "experiments": [
            {
                "name": name,
                "task": "config/tasks/textstats",
                "tiers": {
                    SEED_TIER: {
                        "subtests": {SEED_SUBTEST: {"description": "synthetic benchmark subtest"}}
                    }
                },
                "runs": 1,
                "agent": standin_agent(delay=0),
                "judges": [
                    {"adapter": "claude-code", "cli": "claude-standin", "model": model}
                    for model in JUDGE_MODELS[:judges]
                ],
            }
        ],
    }


def run_keys(layout: Layout) -> list[tuple[str, str, int]]:
    return [
        (paths.TIER_IDS[t], f"{s:02d}", r)
        for t in range(layout.tiers)
        for s in range(layout.subtests)
        for r in range(1, layout.runs + 1)
    ]


# ---------------------------------------------------------------------------- steps


def run_seed(workdir: Path, name: str, verbose: bool = False, judges: int = 2) -> float:
    """One real tiny experiment through the real pipeline (`scylla run`, cwd = workdir)."""
    cfg = workdir / "config" / "seed.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(yaml.safe_dump(seed_config(name, judges), sort_keys=False))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*scylla_cli(), "run", "config/seed.yaml", "-q"],
        cwd=workdir,
        text=True,
        capture_output=not verbose,
        env=tool_env(),
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"seed run failed ({proc.returncode}):\n{proc.stdout or ''}{proc.stderr or ''}"
        )
    return elapsed


def resolved_experiment(seed: dict, layout: Layout) -> dict:
    """The seed's saved experiment with inline tiers/subtests and `runs` per subtest."""
    exp = copy.deepcopy(seed)
    seed_sub = exp["tiers"][SEED_TIER]["subtests"][SEED_SUBTEST]
    tiers = {}
    for t in range(layout.tiers):
        tier = paths.TIER_IDS[t]
        subs = {}
        for s in range(layout.subtests):
            sub = copy.deepcopy(seed_sub)  # same content -> same agent `meaning` digest
            sub["description"] = f"synthetic subtest {tier}/{s:02d}"
            sub.setdefault("files", {})
            subs[f"{s:02d}"] = sub
        tiers[tier] = {"name": tier, "description": f"synthetic tier {tier}", "subtests": subs}
    exp["tiers"] = tiers
    exp["runs"] = layout.runs
    return exp


def replicate(workdir: Path, name: str, layout: Layout) -> tuple[int, int]:
    """Copy the seed run into every run of the layout (files, logs, Snakemake metadata)."""
    root = Path("results")
    ep = paths.experiment(root, name)  # relative to workdir, as snakemake spells outputs
    seed_rp = ep.run(SEED_TIER, SEED_SUBTEST, SEED_RUN)
    seed_log_dir = ep.log("x", SEED_TIER, SEED_SUBTEST, SEED_RUN).parent
    seed_rel, seed_log_rel = str(seed_rp.dir), str(seed_log_dir)
    seed_abs = str((workdir / seed_rp.dir).resolve())

    def collect(base: Path) -> list[tuple[Path, bytes, os.stat_result]]:
        out = []
        for dirpath, dirs, files in os.walk(workdir / base):
            dirs[:] = sorted(d for d in dirs if d not in RUN_SKIP)
            for f in sorted(files):
                p = Path(dirpath) / f
                out.append((p.relative_to(workdir / base), p.read_bytes(), p.stat()))
        return out

    run_files = collect(seed_rp.dir)
    log_files = collect(seed_log_dir)
    metadata_dir = workdir / ".snakemake" / "metadata"
    max_len = os.pathconf(metadata_dir, "PC_NAME_MAX") or 255
    records = {}
    for rel, _data, _st in run_files:
        key = str(seed_rp.dir / rel)
        rec = record_path(metadata_dir, key, max_len)
        if rec.exists():
            records[key] = json.loads(rec.read_text())
    if str(seed_rp.agent_result) not in records:
        raise RuntimeError("the seed run left no Snakemake metadata for agent/result.json")

    written = n_records = 0
    made_dirs: set[Path] = set()

    def put(path: Path, data: bytes, st: os.stat_result) -> None:
        nonlocal written
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        with open(path, "wb") as fh:
            fh.write(data)
        os.chmod(path, st.st_mode & 0o7777)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        written += 1

    for tier, sub, run in run_keys(layout):
        if (tier, sub, run) == (SEED_TIER, SEED_SUBTEST, SEED_RUN):
            continue
        rp = ep.run(tier, sub, run)
        new_rel = str(rp.dir)
        new_log_rel = str(ep.log("x", tier, sub, run).parent)
        new_abs = str((workdir / rp.dir).resolve())

        def subst(data: bytes, new_abs=new_abs, new_rel=new_rel, new_log_rel=new_log_rel):
            if seed_rel.encode() not in data and seed_abs.encode() not in data:
                return data
            text = data.decode()
            text = text.replace(seed_abs, new_abs).replace(seed_log_rel, new_log_rel)
            return text.replace(seed_rel, new_rel).encode()

        contents: dict[str, bytes] = {}
        for rel, data, st in run_files:
            if rel == Path(seed_rp.run_result.name):
                doc = json.loads(data)
                doc["run_number"] = run
                data = (json.dumps(doc, indent=2) + "\n").encode()
            else:
                data = subst(data)
            target = rp.dir / rel
            put(workdir / target, data, st)
            contents[str(target)] = data
        for rel, data, st in log_files:
            put(workdir / new_log_rel / rel, subst(data), st)
        for key, rec in records.items():
            new_key = key.replace(seed_rel, new_rel, 1)
            text = json.dumps(rec).replace(seed_log_rel, new_log_rel).replace(seed_rel, new_rel)
            new_rec = json.loads(text)
            checksums = new_rec.get("input_checksums") or {}
            for f in checksums:
                data = contents.get(f)
                checksums[f] = sha256(data if data is not None else (workdir / f).read_bytes())
            path = record_path(metadata_dir, new_key, max_len)
            if path.parent not in made_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(path.parent)
            path.write_text(json.dumps(new_rec))
            n_records += 1
    return written, n_records


def write_configs(workdir: Path, name: str, layout: Layout) -> Path:
    """results/<exp>/config/scylla.json and the workdir's config/config.yaml."""
    ep = paths.experiment(workdir / "results", name)
    saved = json.loads(ep.resolved_config.read_text())
    exp = resolved_experiment(saved["experiments"][0], layout)
    scylla_config.validate({"experiments": [exp]})
    ep.resolved_config.write_text(json.dumps({"experiments": [exp]}, indent=2) + "\n")
    workflow_cfg = {"results_dir": "results", "experiments": [exp]}
    (workdir / "config" / "config.yaml").write_text(
        "# The synthetic benchmark experiment (same as results/"
        f"{name}/config/scylla.json).\n" + yaml.safe_dump(workflow_cfg, sort_keys=False)
    )
    return ep.dir


def build_reports(workdir: Path, name: str, timeout: float | None = None) -> dict[str, int]:
    """Let the real pipeline write config + reports; nothing else may run."""
    ep = paths.experiment(workdir / "results", name)
    inv = for_results(ep)
    if inv.workdir.resolve() != workdir.resolve():
        raise RuntimeError(f"for_results picked workdir {inv.workdir}, expected {workdir}")
    allowed = ["--allowed-rules", "experiment_config", *REPORT_RULES]
    proc = run_snakemake(inv, *allowed, "--quiet", "all", timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"building the reports failed:\n{proc.stdout}{proc.stderr}")
    proc = run_snakemake(inv, "-n", "--quiet", "rules", timeout=timeout)
    stats = job_stats(proc.stdout + proc.stderr)
    if proc.returncode != 0 or stats:
        raise RuntimeError(
            f"the synthetic tree is not complete: snakemake -n wants {stats or 'to fail'}\n"
            f"{proc.stdout}{proc.stderr}"
        )
    return stats


def load_info(workdir: Path) -> TreeInfo | None:
    try:
        return TreeInfo(**json.loads((Path(workdir) / INFO_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def build(
    workdir: str | Path,
    runs: int = 1000,
    layout: Layout | None = None,
    name: str = "bench",
    verbose: bool = False,
    judges: int = 2,
) -> TreeInfo:
    """Build the tree in `workdir` (created; must be empty) and return what was made."""
    workdir = Path(workdir).resolve()
    layout = layout or Layout.for_runs(runs)
    if workdir.exists() and any(workdir.iterdir()):
        raise FileExistsError(f"{workdir} is not empty")
    workdir.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        if verbose:
            print(f"[make_tree] {msg}", file=sys.stderr, flush=True)

    info = TreeInfo(
        workdir=str(workdir),
        experiment=name,
        results=str(workdir / "results" / name),
        layout=str(layout),
        runs=layout.total,
        judges=judges,
        code=code_fingerprint(),
    )
    say(f"seed: one real run through `scylla run` in {workdir}")
    info.seed_seconds = run_seed(workdir, name, verbose=False, judges=judges)
    say(f"replicating into {layout.total} runs ({layout} tiers x subtests x runs)")
    t0 = time.perf_counter()
    info.files_written, info.metadata_records = replicate(workdir, name, layout)
    write_configs(workdir, name, layout)
    info.replicate_seconds = time.perf_counter() - t0
    say("reports through snakemake (experiment_config + report rules only), then a dry-run")
    t0 = time.perf_counter()
    info.dry_run_jobs = build_reports(workdir, name)
    info.reports_seconds = time.perf_counter() - t0
    (workdir / INFO_FILE).write_text(json.dumps(asdict(info), indent=2) + "\n")
    say(f"done: {info.runs} runs in {info.results}")
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workdir", type=Path, help="new or empty directory (the snakemake workdir)")
    p.add_argument("--runs", type=int, default=1000, help="number of runs (default 1000)")
    p.add_argument("--layout", type=Layout.parse, help="TIERSxSUBTESTSxRUNS, e.g. 5x4x50")
    p.add_argument("--experiment", default="bench", help="experiment name (default bench)")
    p.add_argument(
        "--judges", type=int, default=2, help=f"judge slots (1-{len(JUDGE_MODELS)}, default 2)"
    )
    args = p.parse_args(argv)
    info = build(
        args.workdir, args.runs, args.layout, args.experiment, verbose=True, judges=args.judges
    )
    print(json.dumps(asdict(info), indent=2))
    print(f"\nscylla status {info.results}\n(snakemake workdir: {info.workdir}; repo {REPO})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
