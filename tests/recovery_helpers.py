"""Helpers of the recovery and status tests (a plain module: test_status.py, test_recovery.py).

Everything runs for real: the `scylla` CLI, `snakemake` and the `claude-standin` executable in
a temporary working directory. Nothing of scylla is mocked.

Two experiment trees are built once per session and copied by the tests that change them:

* `killed_tree`: `scylla run` started in the background with two agents in mode `hang`; once
  every other run has finished, the scheduler and the hanging agents are SIGKILLed.
* `finished_tree`: the same experiment (without hangs) run to the end.

Both hold one agent that left nothing (`failed`) and one judge slot that answered garbage twice
(judge `failed`). Modes are per run and per judge slot, so which run gets which outcome does not
depend on the order Snakemake picks jobs in:

* agents: CLAUDE_STANDIN_MODE_FILE="{run_dir}/modes.json" in the agent's configured env (the
  `{run_dir}` placeholder is expanded per run);
* judges: CLAUDE_STANDIN_MODE_FILE=modes.json in the scheduler's environment, which the judges
  inherit; a judge runs in its slot directory, so that is judge/judge_NN/modes.json.

The rubric of the test task (`quick`) has two cheap command checks instead of the demo task's
pytest runs: the same pipeline, a fraction of the time.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scylla.layout import paths
from scylla.util import procs

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
SCYLLA = VENV_BIN / "scylla"
SNAKEMAKE = VENV_BIN / "snakemake"
SNAKEFILE = REPO / "Snakefile"
DEMO_TASK = REPO / "config" / "tasks" / "textstats"

EXP = "mini"
CONFIG = "mini.yaml"
TIERS: dict[str, Any] = {
    "T0": {"subtests": {"00": {}, "01": {"claude_md": "# be careful\n"}}},
    "T1": {"subtests": {"00": {}}},
}
RUNS = 3
SLOTS = ("01", "02")
ALL_RUNS = [(t, s, r) for t, s in (("T0", "00"), ("T0", "01"), ("T1", "00")) for r in (1, 2, 3)]

# Deterministic outcomes (see the module docstring).
FAILED_RUN = ("T0", "01", 1)  # agent mode `nothing`: failed; its judges agent_failed
HANG_RUNS = (("T0", "01", 2), ("T1", "00", 2))  # agent mode `hang` (killed tree only)
GARBAGE_SLOT = (("T1", "00", 1), "01")  # the judge answers garbage twice: an invalid judgment

QUICK_RUBRIC = """\
categories:
  functional:
    weight: 0.6
    scoring_type: "checklist"
    items:
      - id: F1
        check: "No NotImplementedError stubs are left in textstats/core.py"
        points: 1.0
        command: "! grep -q NotImplementedError textstats/core.py"
  proportionality:
    weight: 0.2
    scoring_type: "checklist"
    items:
      - id: P1
        check: "The tests in tests/ were not modified"
        points: 1.0
        command: "git diff --quiet HEAD -- tests"
  overall_quality:
    weight: 0.2
    scoring_type: "subjective"
    items:
      - id: OQ1
        check: "Overall engineering judgment"
        points: 1.0
grading:
  pass_threshold: 0.6
"""

CMD_TIMEOUT = 240


# ------------------------------------------------------------------------------ configuration


def write_task(task: Path) -> Path:
    """The `quick` task: the demo task's repository, prompt and solution, a cheap rubric.

    It lives outside the working directories and is named by its absolute path, so every
    copy of a tree (see `copy_tree`) names the very same task.
    """
    task.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEMO_TASK / "repo", task / "repo", dirs_exist_ok=True)
    for name in ("prompt.md", "solution.patch"):
        shutil.copy2(DEMO_TASK / name, task / name)
    (task / "rubric.yaml").write_text(QUICK_RUBRIC)
    return task


def experiment(task: Path, name: str = EXP, **changes: Any) -> dict[str, Any]:
    exp: dict[str, Any] = {
        "name": name,
        "task": str(task),
        "tiers": json.loads(json.dumps(TIERS)),
        "runs": RUNS,
        "agent": {
            "adapter": "claude-code",
            "cli": "claude-standin",
            "model": "sonnet",
            "timeout": 120,
            "rate_limit_backoff": 0,
            "env": {
                "CLAUDE_STANDIN_DELAY": "0",
                "CLAUDE_STANDIN_SOLUTION": "{task_dir}/solution.patch",
                "CLAUDE_STANDIN_MODE_FILE": "{run_dir}/modes.json",
            },
        },
        "judges": [
            {"adapter": "claude-code", "cli": "claude-standin", "model": "opus"},
            {"adapter": "claude-code", "cli": "claude-standin", "model": "haiku"},
        ],
    }
    exp.update(changes)
    return exp


def write_config(workdir: Path, *experiments: dict[str, Any], name: str = CONFIG) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / name
    path.write_text(yaml.safe_dump({"experiments": list(experiments)}))
    return path


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The scheduler's environment: our venv first on PATH, judge modes per slot directory."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_STANDIN")}
    out["PATH"] = os.pathsep.join([str(VENV_BIN), out.get("PATH", "")])
    out["CLAUDE_STANDIN_DELAY"] = "0"
    out["CLAUDE_STANDIN_MODE_FILE"] = "modes.json"
    out.update(extra or {})
    return out


# ---------------------------------------------------------------------------------- paths


def ep(workdir: Path, name: str = EXP) -> paths.ExperimentPaths:
    return paths.experiment(workdir / "results", name)


def rp(workdir: Path, key: tuple[str, str, int], name: str = EXP) -> paths.RunPaths:
    return ep(workdir, name).run(*key)


def label(key: tuple[str, str, int]) -> str:
    return f"{key[0]}/{key[1]}/run_{key[2]:02d}"


def write_modes(path: Path, modes: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(modes))
    return path


def plan_modes(workdir: Path, hang: bool) -> None:
    """Per-run agent modes and per-slot judge modes, written before the pipeline starts."""
    write_modes(rp(workdir, FAILED_RUN).dir / "modes.json", ["agent:nothing"])
    if hang:
        for key in HANG_RUNS:
            write_modes(rp(workdir, key).dir / "modes.json", ["agent:hang"])
    key, slot = GARBAGE_SLOT
    write_modes(rp(workdir, key).judge_slot(slot).dir / "modes.json", ["judge:garbage"] * 2)


# -------------------------------------------------------------------------------- running


def output_of(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{proc.args}\n{output_of(proc)[-6000:]}"
    return proc


def scylla(workdir: Path, *args: str | Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    """The real `scylla` CLI, run in `workdir`."""
    return subprocess.run(
        [str(SCYLLA), *map(str, args)],
        cwd=workdir,
        env=env(kw.pop("extra_env", None)),
        capture_output=True,
        text=True,
        timeout=CMD_TIMEOUT,
        check=False,
        **kw,
    )


def snakemake(workdir: Path, *args: str, config: str = CONFIG) -> subprocess.CompletedProcess[str]:
    """Plain snakemake on `workdir` with the test config (the workflow profile loads itself)."""
    argv = [str(SNAKEMAKE), "-s", str(SNAKEFILE), "-d", str(workdir)]
    argv += ["--configfile", str(workdir / config), *args]
    return subprocess.run(
        argv, cwd=workdir, env=env(), capture_output=True, text=True, timeout=CMD_TIMEOUT
    )


def status(workdir: Path, *filters: str, name: str = EXP) -> list[dict[str, Any]]:
    proc = ok(scylla(workdir, "status", f"results/{name}", "--format", "json", *filters))
    return json.loads(proc.stdout)


def by_run(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(r["tier"], r["subtest"], r["run"]): r for r in rows}


def judge_states(row: dict[str, Any]) -> dict[str, str]:
    return {j["slot"]: j["status"] for j in row["judges"]}


# ------------------------------------------------------------------------- snakemake output

_JOB_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\s*$")
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")
_STATS_ROW = re.compile(r"^(\w+)\s+(\d+)$")


def job_stats(text: str) -> dict[str, int]:
    """The first "Job stats" table of snakemake's output: {rule: count}, without `total`."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Job stats:":
            counts: dict[str, int] = {}
            for row in lines[i + 3 :]:
                m = _STATS_ROW.match(row.strip())
                if not m:
                    break
                if m.group(1) != "total":
                    counts[m.group(1)] = int(m.group(2))
            return counts
    return {}


@dataclass
class Plan:
    """A parsed `snakemake -n`: job counts per rule and the wildcards of each job."""

    counts: dict[str, int]
    jobs: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    text: str = ""

    def runs(self, rule: str) -> set[tuple[str, str, int]]:
        return {
            (w["tier"], w["subtest"], int(w["run"]))
            for r, w in self.jobs
            if r == rule and "run" in w
        }

    def slots(self, rule: str = "judge") -> set[tuple[tuple[str, str, int], str]]:
        return {
            ((w["tier"], w["subtest"], int(w["run"])), w["slot"]) for r, w in self.jobs if r == rule
        }


def parse_plan(text: str) -> Plan:
    jobs: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        header = _JOB_HEADER.match(line)
        if header:
            jobs.append((header.group(1), {}))
            continue
        wc = _WILDCARDS.match(line)
        if wc and jobs and not jobs[-1][1]:
            pairs = (p.split("=", 1) for p in wc.group(1).split(", "))
            jobs[-1][1].update({k.strip(): v.strip() for k, v in pairs})
    return Plan(job_stats(text), jobs, text)


def dry_run(workdir: Path, *args: str) -> Plan:
    """`snakemake -n` with the test config, parsed."""
    proc = ok(snakemake(workdir, "-n", *args))
    plan = parse_plan(output_of(proc))
    if not plan.counts:
        assert "Nothing to be done" in plan.text, plan.text[-4000:]
    return plan


# ---------------------------------------------------------------------------- file content


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(root: Path, skip: Callable[[Path], bool] | None = None) -> dict[str, str]:
    """{path relative to root: sha256} of every file below root."""
    return {
        str(p.relative_to(root)): sha256(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not (skip and skip(p.relative_to(root)))
    }


def run_files(run: paths.RunPaths) -> dict[str, str]:
    """sha256 of a run's results: agent/, judge/, the judge prompt and run_result.json."""
    out = {f"agent/{k}": v for k, v in tree_hashes(run.agent_dir).items()}
    out.update({f"judge/{k}": v for k, v in tree_hashes(run.judge_dir).items()})
    for f in (run.judge_prompt, run.diff, run.checks, run.run_result):
        out[f.name] = sha256(f)
    return out


def mtimes(files: Iterable[Path]) -> dict[str, int]:
    return {str(f): f.stat().st_mtime_ns for f in files}


# ------------------------------------------------------------------------------- processes


def processes_under(root: Path, needle: str = "") -> list[int]:
    """Live processes whose cwd is inside `root` (and whose command line holds `needle`)."""
    root = root.resolve()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if (cwd == root or root in cwd.parents) and needle in cmd:
            found.append(int(pid))
    return found


def hanging_agents(workdir: Path) -> dict[tuple[str, str, int], int]:
    """{run: pid} of the stand-in agents running in a run workspace below `workdir`."""
    out = {}
    for pid in processes_under(workdir / "results", "claude-standin"):
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        run_dir = cwd.parents[2]  # the workspace is run_NN/attempts/<k>/workspace
        if cwd.name == "workspace" and run_dir.name.startswith("run_"):
            out[(run_dir.parent.parent.name, run_dir.parent.name, int(run_dir.name[4:]))] = pid
    return out


def wait_for(what: str, predicate: Callable[[], Any], timeout: float, proc=None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the pipeline ended (rc {proc.returncode}) before: {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for: {what}")


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


# ---------------------------------------------------------------------------------- trees


def _prepare(workdir: Path, task: Path, hang: bool) -> None:
    write_config(workdir, experiment(task))
    plan_modes(workdir, hang)


@dataclass
class Background:
    """`scylla run` of the finished tree, started early so it overlaps other work."""

    dir: Path
    proc: subprocess.Popen

    @property
    def log(self) -> Path:
        return self.dir / "scylla-run.log"

    def wait(self) -> Path:
        self.proc.wait(timeout=CMD_TIMEOUT)
        assert self.proc.returncode == 0, self.log.read_text()[-6000:]
        return self.dir

    def stop(self) -> None:
        if self.proc.poll() is None:
            kill_group(self.proc.pid)
            self.proc.wait()


def start_finished(workdir: Path, task: Path) -> Background:
    """The experiment run to its end: one failed agent and one invalid judge slot included."""
    _prepare(workdir, task, hang=False)
    with open(workdir / "scylla-run.log", "w") as log:
        proc = subprocess.Popen(
            [str(SCYLLA), "run", CONFIG],
            cwd=workdir,
            env=env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Background(workdir, proc)


@dataclass
class Killed:
    dir: Path
    killed_pids: list[int]
    output: str


def build_killed(workdir: Path, task: Path) -> Killed:
    """`scylla run` SIGKILLed (with its hanging agents) once every other run has finished."""
    _prepare(workdir, task, hang=True)
    others = [k for k in ALL_RUNS if k not in HANG_RUNS]
    log = open(workdir / "scylla-run.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(SCYLLA), "run", CONFIG, "--parallel", "4"],
        cwd=workdir,
        env=env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # scylla, snakemake and its job shells: one process group
    )
    try:
        wait_for(
            "every run but the hanging ones has its run_result.json, and both agents hang",
            lambda: (
                all(rp(workdir, k).run_result.is_file() for k in others)
                and ep(workdir).subtest_report("T0", "00").is_file()
                and set(hanging_agents(workdir)) == set(HANG_RUNS)
            ),
            timeout=180,
            proc=proc,
        )
        agents = hanging_agents(workdir)
        groups = {os.getpgid(pid) for pid in agents.values()}
        assert proc.pid not in groups, "the agents run in process groups of their own"
        schedulers = procs.snakemake_schedulers(workdir)
        assert schedulers, "snakemake is running"
        for pid in schedulers:  # kill -9 of snakemake and its job shells (a group of its own)
            kill_group(os.getpgid(pid))
        kill_group(proc.pid)  # and of scylla
        for pgid in groups:  # and of each agent's process group (the agent and its child)
            kill_group(pgid)
        proc.wait(timeout=30)
        wait_for(
            "no process left in the working directory",
            lambda: not processes_under(workdir),
            timeout=30,
        )
    finally:
        if proc.poll() is None:
            kill_group(proc.pid)
            proc.wait()
        log.close()
    return Killed(workdir, sorted(agents.values()), (workdir / "scylla-run.log").read_text())


_CACHE: dict[str, Any] = {}


def _once(key: str, build: Callable[[], Any]) -> Any:
    """Build something once per session (both test modules share this module's cache)."""
    if key not in _CACHE:
        try:
            _CACHE[key] = build()
        except BaseException as exc:  # fail every user fast instead of building it again
            _CACHE[key] = exc
            raise
    value = _CACHE[key]
    if isinstance(value, BaseException):
        raise AssertionError(f"building {key!r} failed earlier in this session") from value
    return value


def session_task(factory: Any) -> Path:
    """The `quick` task, once per session (factory: pytest's tmp_path_factory)."""
    return _once("task", lambda: write_task(factory.mktemp("task") / "quick"))


def _finished_started(factory: Any) -> Background:
    def start() -> Background:
        bg = start_finished(factory.mktemp("finished") / "wd", session_task(factory))
        atexit.register(bg.stop)  # never leave it running after the session
        return bg

    return _once("finished-started", start)


def killed_tree(factory: Any) -> Killed:
    """The killed experiment (read-only: copy it with `copy_tree` before changing it)."""
    task = session_task(factory)
    _finished_started(factory)  # most sessions need both: build them at the same time
    return _once("killed", lambda: build_killed(factory.mktemp("killed") / "wd", task))


def finished_tree(factory: Any) -> Path:
    """The finished experiment (read-only: copy it with `copy_tree` before changing it)."""
    return _once("finished", lambda: _finished_started(factory).wait())


def copy_tree(src: Path, dst: Path) -> Path:
    """A private copy of a working directory, `.snakemake` metadata and mtimes included."""
    shutil.copytree(src, dst, symlinks=True)
    return dst
