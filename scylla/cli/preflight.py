"""Checks that used to fail only once jobs ran, made before the first job starts."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from scylla.config import ConfigError, Experiment
from scylla.util.process import base_env

INSTALL_HINT = {
    "claude": "install Claude Code (npm install -g @anthropic-ai/claude-code) or set `cli:`",
}


def clis(exp: Experiment) -> list[tuple[str, str]]:
    """(config key, executable) of every CLI the experiment's agent and judges start."""
    out = []
    agent = exp.agent_spec()
    if agent.adapter == "claude-code":
        out.append((f"experiments[{exp.name}].agent.cli", agent.cli))
    elif agent.adapter == "command" and agent.command:
        out.append((f"experiments[{exp.name}].agent.command", agent.command[0]))
    for i, slot in enumerate(exp.slots):
        judge = exp.judge_spec(slot)
        if judge.adapter == "claude-code":
            out.append((f"experiments[{exp.name}].judges[{i}].cli", judge.cli))
    return out


def check_clis(exps: list[Experiment], workdir: Path | None = None) -> None:
    """Every agent and judge CLI is on the PATH the jobs get (this interpreter's bin first).
    With `workdir`, a missing one is also recorded as the stop of the experiment (status then
    names it as the infrastructure reason of every run it kept from starting)."""
    path = base_env().get("PATH")
    for exp in exps:
        for key, cli in clis(exp):
            if shutil.which(cli, path=path) is None:
                hint = INSTALL_HINT.get(cli, "install it or fix the config")
                if workdir is not None:
                    from scylla.recovery import failures, stopping

                    stopping.stop(
                        workdir,
                        "cli_missing",
                        f"{cli!r} is not on PATH",
                        failures.fix_for("cli_missing"),
                        signal=False,
                    )
                raise ConfigError(f"{key}: {cli!r} is not on PATH ({hint})")


# Executors built into Snakemake: no plugin to install.
BUILTIN_EXECUTORS = ("local", "dryrun", "touch")


def check_profile(profile: Path) -> Path:
    """A Snakemake profile directory that can run here: it exists, holds config.yaml, and
    the plugin of its `executor:` is installed. Returns its absolute path (snakemake runs
    with -d, so a relative profile would be looked up elsewhere)."""
    from scylla.util import yamlio

    where = profile / "config.yaml"
    if not where.is_file():
        raise ConfigError(f"--profile {profile}: no such Snakemake profile ({where} is missing)")
    try:
        settings = yamlio.load(where) or {}
    except (OSError, ValueError, yamlio.YamlError) as exc:
        raise ConfigError(f"--profile {profile}: cannot read {where}: {exc}") from exc
    executor = str(settings.get("executor", "local")) if isinstance(settings, dict) else "local"
    if executor not in BUILTIN_EXECUTORS:
        module = "snakemake_executor_plugin_" + executor.replace("-", "_")
        if importlib.util.find_spec(module) is None:
            package = module.replace("_", "-")
            raise ConfigError(
                f"--profile {profile} runs jobs with the `{executor}` executor, whose plugin "
                f"is not installed: pip install {package}"
                + (" (or pip install -e '.[slurm]' here)" if executor == "slurm" else "")
            )
    return profile.resolve()
