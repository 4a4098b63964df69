"""Helpers of the pipeline tests: configs, real `snakemake` runs, dry-run parsing (the
fixtures are in conftest.py).

Every test drives the real workflow (Snakefile + rules + workflow profile) in a temporary
working directory, with the offline `claude-standin` executable as agent and judges. One
finished experiment is built once per session (`finished`) and copied, `.snakemake`
metadata included, for every test that changes it (`workdir`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scylla.layout import paths

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
SNAKEMAKE = VENV_BIN / "snakemake"
SNAKEFILE = REPO / "Snakefile"
PROFILE = REPO / "profiles" / "default"
TASK = "config/tasks/textstats"  # relative: resolved against the workdir, then the repo
EXP = "mini"
CONFIG_NAME = "scylla-test.yaml"
AGENT_MODEL = "claude-sonnet-4-5-20250929"
JUDGE_MODELS = ("claude-opus-4-5-20251101", "claude-haiku-4-5")
SMK_TIMEOUT = 300
SECRET = "sk-ant-test-0000-not-a-real-key"  # must never reach an artifact
# A real ProjectScylla run beside the repository (CI clones main with shared/ beside it).
ORIGINAL_FIXTURE = next(
    (
        d / "fixtures" / "projectscylla-dryrun"
        for d in (REPO.parent / "shared", Path("/work/shared"))
        if (d / "fixtures" / "projectscylla-dryrun").is_dir()
    ),
    Path("/work/shared/fixtures/projectscylla-dryrun"),
)

# The shared experiment: one tier, a plain subtest and one with resources, 2 runs each.
MINI_TIERS: dict[str, Any] = {
    "T0": {
        "subtests": {
            "00": {},
            "01": {
                "claude_md": "# hi\n",
                "allowed_tools": ["Read", "Edit"],
                "mcp_servers": {"fs": {"command": "true", "args": []}},
            },
        }
    }
}
RUN_KEYS = [("T0", "00", 1), ("T0", "00", 2), ("T0", "01", 1), ("T0", "01", 2)]


# --------------------------------------------------------------------------------- config


def agent_cfg(**changes: Any) -> dict[str, Any]:
    """The stand-in agent settings; `env` entries in `changes` are added to the default env."""
    env = {
        "CLAUDE_STANDIN_DELAY": "0",
        "CLAUDE_STANDIN_SOLUTION": "{task_dir}/solution.patch",
        "ANTHROPIC_API_KEY": SECRET,
    }
    env.update(changes.pop("env", {}))
    return {
        "adapter": "claude-code",
        "cli": "claude-standin",
        "model": AGENT_MODEL,
        "timeout": 30,
        "rate_limit_backoff": 0,
        "env": env,
        **changes,
    }


def judge_cfg(model: str) -> dict[str, Any]:
    # rate_limit_backoff is an execution limit: not part of what a judgment means
    return {
        "adapter": "claude-code",
        "cli": "claude-standin",
        "model": model,
        "rate_limit_backoff": 0,
    }


def experiment_cfg(name: str = EXP, **changes: Any) -> dict[str, Any]:
    exp: dict[str, Any] = {
        "name": name,
        "task": TASK,
        "tiers": copy.deepcopy(MINI_TIERS),
        "runs": 2,
        "agent": agent_cfg(),
        "judges": [judge_cfg(m) for m in JUDGE_MODELS],
    }
    exp.update(changes)
    return exp


ONE_SUBTEST = {"T0": {"subtests": {"00": {}}}}


def one_run_experiment(name: str, **agent: Any) -> dict[str, Any]:
    """One subtest, one run, one judge: a single agent behaviour per experiment."""
    return experiment_cfg(
        name,
        tiers=ONE_SUBTEST,
        runs=1,
        agent=agent_cfg(**agent),
        judges=[judge_cfg("claude-opus-4-5-20251101")],
    )


def write_config(workdir: Path, *experiments: dict[str, Any], name: str = CONFIG_NAME) -> Path:
    """Write a scylla config (default: the `mini` experiment) into `workdir`; return its path."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = {"experiments": list(experiments) or [experiment_cfg()]}
    path = workdir / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def read_config(workdir: Path, name: str = CONFIG_NAME) -> dict[str, Any]:
    return yaml.safe_load((workdir / name).read_text())


def edit_experiment(workdir: Path, name: str = CONFIG_NAME, **changes: Any) -> Path:
    """Rewrite the (single) experiment of the config in `workdir` with `changes` applied."""
    cfg = read_config(workdir, name)
    cfg["experiments"][0].update(changes)
    path = workdir / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# -------------------------------------------------------------------------------- running


def smk_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_STANDIN")}
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["CLAUDE_STANDIN_DELAY"] = "0"  # the judges see the scheduler's environment
    env.update(extra or {})
    return env


def smk(
    workdir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    snakefile: Path = SNAKEFILE,
    configfile: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real snakemake on `workdir` (the workflow profile loads itself)."""
    cfg = configfile or workdir / CONFIG_NAME
    cmd = [
        str(SNAKEMAKE),
        "-s",
        str(snakefile),
        "-d",
        str(workdir),
        "--configfile",
        str(cfg),
        "--cores",
        "2",
        *args,
    ]
    return subprocess.run(
        cmd,
        cwd=workdir,
        env=smk_env(env),
        capture_output=True,
        text=True,
        timeout=SMK_TIMEOUT,
        check=False,
    )


def scylla(
    workdir: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real `scylla` CLI in `workdir`; the stand-in logs its calls to calls.jsonl there.
    `env` adds to (or replaces in) the environment of the tests' snakemake runs."""
    return subprocess.run(
        [str(VENV_BIN / "scylla"), *map(str, args)],
        cwd=workdir,
        env={
            **smk_env(),
            "CLAUDE_STANDIN_CALLS": str(Path(workdir) / "calls.jsonl"),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def output_of(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


def check(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert snakemake succeeded; show its output otherwise."""
    assert proc.returncode == 0, output_of(proc)[-6000:]
    return proc


NOTHING_TO_DO = "Nothing to be done"
_JOB_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\s*$")
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")


@dataclass
class Plan:
    """A parsed `snakemake -n`: job counts per rule and each job's wildcards."""

    counts: dict[str, int]
    jobs: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    text: str = ""

    def wildcards(self, rule: str) -> list[dict[str, str]]:
        return [wc for r, wc in self.jobs if r == rule]

    def runs(self, rule: str) -> set[tuple[str, str, str]]:
        """{(tier, subtest, run)} of the jobs of `rule`."""
        return {(w["tier"], w["subtest"], w["run"]) for w in self.wildcards(rule)}


def parse_job_stats(text: str) -> dict[str, int]:
    """The first "Job stats" table of snakemake's output as {rule: count} (no total)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Job stats:":
            counts: dict[str, int] = {}
            for row in lines[i + 3 :]:
                parts = row.split()
                if len(parts) != 2 or not parts[1].isdigit():
                    break
                if parts[0] != "total":
                    counts[parts[0]] = int(parts[1])
            return counts
    return {}


def parse_jobs(text: str) -> list[tuple[str, dict[str, str]]]:
    jobs: list[tuple[str, dict[str, str]]] = []
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    rule = None
    for line in text.splitlines():
        header = _JOB_HEADER.match(line)
        if header:
            rule = header.group(1)
            jobs.append((rule, {}))
            continue
        wc = _WILDCARDS.match(line)
        if wc and rule is not None and not jobs[-1][1]:
            pairs = (p.split("=", 1) for p in wc.group(1).split(", "))
            jobs[-1][1].update({k.strip(): v.strip() for k, v in pairs})
    unique = []
    for rule_name, wcs in jobs:
        key = (rule_name, tuple(sorted(wcs.items())))
        if key not in seen:
            seen.add(key)
            unique.append((rule_name, wcs))
    return unique


def dry(workdir: Path, *targets: str, **kwargs: Any) -> Plan:
    """`snakemake -n [targets]` on `workdir`, parsed. An up-to-date workflow gives {}."""
    proc = check(smk(workdir, "-n", *targets, **kwargs))
    text = output_of(proc)
    counts = parse_job_stats(text)
    if not counts:
        assert NOTHING_TO_DO in text, text[-4000:]
    return Plan(counts, parse_jobs(text), text)


_ERROR_IN_RULE = re.compile(r"^Error in rule (\w+):\s*$")
_LOG_LINE = re.compile(r"^\s+log: (\S+)")


def failed_jobs(text: str) -> list[tuple[str, str]]:
    """[(rule, log file)] of every failed job attempt reported in snakemake's output."""
    failed: list[tuple[str, str]] = []
    rule = None
    for line in text.splitlines():
        err = _ERROR_IN_RULE.match(line)
        if err:
            rule = err.group(1)
            continue
        log = _LOG_LINE.match(line)
        if log and rule is not None:
            failed.append((rule, log.group(1)))
            rule = None
    return failed


def downstream_of_runs(n_runs: int, n_subtests: int = 1) -> dict[str, int]:
    """The jobs below a run's result: the reports of its subtest, tier, experiment, `all`."""
    return {
        "run_result": n_runs,
        "subtest_report": n_subtests,
        "tier_report": 1,
        "experiment_report": 1,
        "all": 1,
    }


# ------------------------------------------------------------------------------ artifacts


def ep(workdir: Path, name: str = EXP) -> paths.ExperimentPaths:
    return paths.experiment(workdir / "results", name)


def rp(workdir: Path, tier: str, subtest: str, run: int, name: str = EXP) -> paths.RunPaths:
    return ep(workdir, name).run(tier, subtest, run)


def load(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def tree_hashes(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file below `root`."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def copy_workdir(src: Path, dst: Path) -> Path:
    """A copy of a finished working directory, `.snakemake` metadata and mtimes included."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def write_modes(path: Path, modes: list[str]) -> Path:
    """A CLAUDE_STANDIN_MODE_FILE: one mode popped per stand-in call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(modes))
    return path


# ------------------------------------------------------------------------------- fixtures


@dataclass
class Finished:
    dir: Path
    proc: subprocess.CompletedProcess[str]
