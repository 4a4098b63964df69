"""Experiment configs and task directories of the tests.

The shared `mini` experiment (`experiment_cfg`): the demo task `textstats`, one tier, a plain
subtest and one with resources, 2 runs each, the offline `claude-standin` as agent and judges.
The `quick` task (`write_task`): the demo task's repository, prompt and solution with a rubric
of two cheap command checks instead of pytest runs, for the recovery and fault scenarios.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .repo import DEMO_TASK

EXP = "mini"
CONFIG = "mini.yaml"
TASK = "config/tasks/textstats"  # relative: resolved against the workdir, then the repo
AGENT_MODEL = "claude-sonnet-4-5-20250929"
JUDGE_MODELS = ("claude-opus-4-5-20251101", "claude-haiku-4-5")
SECRET = "sk-ant-test-0000-not-a-real-key"  # must never reach an artifact

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
ONE_SUBTEST = {"T0": {"subtests": {"00": {}}}}

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


# ------------------------------------------------------------------------------ experiments


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
    """The `mini` experiment (see the module docstring), with `changes` applied."""
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


def one_run_experiment(name: str, **agent: Any) -> dict[str, Any]:
    """One subtest, one run, one judge: a single agent behaviour per experiment."""
    return experiment_cfg(
        name,
        tiers=ONE_SUBTEST,
        runs=1,
        agent=agent_cfg(**agent),
        judges=[judge_cfg("claude-opus-4-5-20251101")],
    )


# ----------------------------------------------------------------------------- config files


def write_config(workdir: Path, *experiments: dict[str, Any], name: str = CONFIG) -> Path:
    """Write a scylla config of `experiments` (default: the `mini` experiment) into
    `workdir`; return its path."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = {"experiments": list(experiments) or [experiment_cfg()]}
    path = workdir / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def read_config(workdir: Path, name: str = CONFIG) -> dict[str, Any]:
    return yaml.safe_load((workdir / name).read_text())


def edit_experiment(workdir: Path, name: str = CONFIG, **changes: Any) -> Path:
    """Rewrite the (single) experiment of the config in `workdir` with `changes` applied."""
    cfg = read_config(workdir, name)
    cfg["experiments"][0].update(changes)
    path = workdir / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_modes(path: Path, modes: list[str]) -> Path:
    """A CLAUDE_STANDIN_MODE_FILE: one mode popped per stand-in call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(modes))
    return path


def two_runs_one_slow(workdir: Path, slow: float, **env: str) -> Path:
    """The config of two runs of one subtest with one LLM judge, whose second agent call
    answers `slow` s late (the stand-in's `slow` mode); `env`: more of the stand-in's
    settings."""
    modes = write_modes(workdir / "agent-modes.json", ["agent:normal", "agent:slow"])
    env = {"CLAUDE_STANDIN_MODE_FILE": str(modes), "CLAUDE_STANDIN_SLOW": str(slow), **env}
    exp = experiment_cfg(
        tiers=ONE_SUBTEST,
        runs=2,
        agent=agent_cfg(env=env),
        judges=[judge_cfg("claude-opus-4-5-20251101")],
    )
    return write_config(workdir, exp)


# ---------------------------------------------------------------------------------- tasks


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


@dataclass
class Finished:
    """An experiment run to its end: its working directory and the run's output."""

    dir: Path
    proc: subprocess.CompletedProcess[str]
