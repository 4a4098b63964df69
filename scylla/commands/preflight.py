"""Checks that used to fail only once jobs ran, made before the first job starts."""

from __future__ import annotations

import shutil

from scylla.config import ConfigError, Experiment
from scylla.process import base_env

INSTALL_HINT = {
    "claude": "install Claude Code (npm install -g @anthropic-ai/claude-code) or set `cli:`",
}


def clis(exp: Experiment) -> list[tuple[str, str]]:
    """(config key, executable) of every CLI the experiment's agent and judges start."""
    out = []
    agent = exp.agent
    if agent["adapter"] == "claude-code":
        out.append((f"experiments[{exp.name}].agent.cli", str(agent["cli"])))
    elif agent["adapter"] == "command" and agent.get("command"):
        out.append((f"experiments[{exp.name}].agent.command", str(agent["command"][0])))
    for i, judge in enumerate(exp.judges):
        if judge["adapter"] == "claude-code":
            out.append((f"experiments[{exp.name}].judges[{i}].cli", str(judge["cli"])))
    return out


def check_clis(exps: list[Experiment]) -> None:
    """Every agent and judge CLI is on the PATH the jobs get (this interpreter's bin first)."""
    path = base_env().get("PATH")
    for exp in exps:
        for key, cli in clis(exp):
            if shutil.which(cli, path=path) is None:
                hint = INSTALL_HINT.get(cli, "install it or fix the config")
                raise ConfigError(f"{key}: {cli!r} is not on PATH ({hint})")
