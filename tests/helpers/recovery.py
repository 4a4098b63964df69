"""The recovery scenario of test_status.py and test_recovery.py (and, smaller, of the fault
suite): the `quick` task, two tiers, three runs per subtest, two judges.

Two experiment trees are built once per session and copied by the tests that change them:

* `killed_tree`: `scylla run` started in the background with two agents in mode `hang`; once
  every other run has finished, the scheduler and the hanging agents are SIGKILLed.
* `finished_tree`: the same experiment (without hangs) run to the end.

Both hold one agent that left nothing (`failed`) and one judge slot that answered garbage twice
(judge `failed`). Modes are per run and per judge slot, so which run gets which outcome does not
depend on the order Snakemake picks jobs in:

* agents: CLAUDE_STANDIN_MODE_FILE="{run_dir}/modes.json" in the agent's configured env (the
  `{run_dir}` placeholder is expanded per run);
* judges: CLAUDE_STANDIN_MODE_FILE=modes.json in the scheduler's environment (run.tool_env), which
  the judges inherit; a judge runs in its slot directory, so that is judge/judge_NN/modes.json.

The rubric of the `quick` task has two cheap command checks instead of the demo task's pytest
runs: the same pipeline, a fraction of the time.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scylla.util import procs

from .processes import hanging_agents, kill_group, processes_under, wait_for
from .project import CONFIG, EXP, write_config, write_modes, write_task
from .run import SCYLLA_TIMEOUT, start
from .trees import ep, rp

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


def quick_experiment(task: Path, name: str = EXP, **changes: Any) -> dict[str, Any]:
    """The scenario's experiment on the `quick` task at `task`, with `changes` applied."""
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


def plan_modes(workdir: Path, hang: bool) -> None:
    """Per-run agent modes and per-slot judge modes, written before the pipeline starts."""
    write_modes(rp(workdir, FAILED_RUN).dir / "modes.json", ["agent:nothing"])
    if hang:
        for key in HANG_RUNS:
            write_modes(rp(workdir, key).dir / "modes.json", ["agent:hang"])
    key, slot = GARBAGE_SLOT
    write_modes(rp(workdir, key).judge_slot(slot).dir / "modes.json", ["judge:garbage"] * 2)


# ---------------------------------------------------------------------------------- trees


def _prepare(workdir: Path, task: Path, hang: bool) -> None:
    write_config(workdir, quick_experiment(task))
    plan_modes(workdir, hang)


@dataclass
class Background:
    """`scylla run` of the finished tree, started early so it overlaps other work."""

    dir: Path
    proc: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.dir / "scylla-run.log"

    def wait(self) -> Path:
        self.proc.wait(timeout=SCYLLA_TIMEOUT)
        assert self.proc.returncode == 0, self.log.read_text()[-6000:]
        return self.dir

    def stop(self) -> None:
        if self.proc.poll() is None:
            kill_group(self.proc.pid)
            self.proc.wait()


def start_finished(workdir: Path, task: Path) -> Background:
    """The experiment run to its end: one failed agent and one invalid judge slot included."""
    _prepare(workdir, task, hang=False)
    return Background(workdir, start(workdir, "run", CONFIG, log="scylla-run.log"))


@dataclass
class Killed:
    dir: Path
    killed_pids: list[int]
    output: str


def build_killed(workdir: Path, task: Path) -> Killed:
    """`scylla run` SIGKILLed (with its hanging agents) once every other run has finished."""
    _prepare(workdir, task, hang=True)
    others = [k for k in ALL_RUNS if k not in HANG_RUNS]
    # scylla, snakemake and its job shells: one process group
    proc = start(workdir, "run", CONFIG, "--parallel", "4", log="scylla-run.log")
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
    return Killed(workdir, sorted(agents.values()), (workdir / "scylla-run.log").read_text())


_CACHE: dict[str, Any] = {}


def _once(key: str, build: Callable[[], Any]) -> Any:
    """Build something once per session (every test module shares this module's cache)."""
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
    def begin() -> Background:
        bg = start_finished(factory.mktemp("finished") / "wd", session_task(factory))
        atexit.register(bg.stop)  # never leave it running after the session
        return bg

    return _once("finished-started", begin)


def killed_tree(factory: Any) -> Killed:
    """The killed experiment (read-only: copy it with `copy_tree` before changing it)."""
    task = session_task(factory)
    _finished_started(factory)  # most sessions need both: build them at the same time
    return _once("killed", lambda: build_killed(factory.mktemp("killed") / "wd", task))


def finished_tree(factory: Any) -> Path:
    """The finished experiment (read-only: copy it with `copy_tree` before changing it)."""
    return _once("finished", lambda: _finished_started(factory).wait())
