"""Running the real tools in a working directory: `scylla`, `snakemake`, and the status the
CLI reports. Nothing of scylla is mocked: every call is a subprocess of this interpreter's
executables (see repo.py) with the offline `claude-standin` as agent and judges.

The environment (`tool_env`) of every run: this interpreter's bin directory first on PATH (the
workflow's `claude-standin` and `python -m scylla.steps`), no CLAUDE_STANDIN_* setting of the
caller, no stand-in delay, and CLAUDE_STANDIN_MODE_FILE=modes.json: a stand-in finds its modes
in a modes.json of its working directory when a test wrote one there (a judge runs in its slot
directory, so judge/judge_NN/modes.json; nothing happens where there is none). Every stand-in
call of a run in `workdir` is logged to workdir/calls.jsonl (`calls`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .project import CONFIG, EXP
from .repo import BIN, SCYLLA, SNAKEFILE, SNAKEMAKE

SCYLLA_TIMEOUT = 600
SNAKEMAKE_TIMEOUT = 300

Proc = subprocess.CompletedProcess[str]


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the tools the tests run (see the module docstring), `extra` last."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_STANDIN")}
    out["PATH"] = os.pathsep.join([str(BIN), out.get("PATH", "")])
    out["CLAUDE_STANDIN_DELAY"] = "0"  # the judges see the scheduler's environment
    out["CLAUDE_STANDIN_MODE_FILE"] = "modes.json"
    out.update(extra or {})
    return out


def _env_in(workdir: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    return tool_env({"CLAUDE_STANDIN_CALLS": str(Path(workdir) / "calls.jsonl"), **(extra or {})})


def scylla(
    workdir: Path,
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float = SCYLLA_TIMEOUT,
) -> Proc:
    """The real `scylla` CLI in `workdir`. `env` adds to (or replaces in) the environment."""
    return _run([str(SCYLLA), *map(str, args)], workdir, env, timeout)


def snakemake(
    workdir: Path,
    *args: str,
    config: str | Path = CONFIG,
    env: Mapping[str, str] | None = None,
    snakefile: Path = SNAKEFILE,
    cores: int | None = 2,
    timeout: float = SNAKEMAKE_TIMEOUT,
) -> Proc:
    """Plain snakemake on `workdir` with its config `config` (relative to `workdir`, or an
    absolute path); the workflow profile loads itself."""
    argv = [str(SNAKEMAKE), "-s", str(snakefile), "-d", str(workdir)]
    argv += ["--configfile", str(Path(workdir) / config)]
    if cores is not None:
        argv += ["--cores", str(cores)]
    return _run([*argv, *args], workdir, env, timeout)


def _run(argv: list[str], workdir: Path, env: Mapping[str, str] | None, timeout: float) -> Proc:
    """One tool run in `workdir`, its output captured, never raising on a failure."""
    return subprocess.run(
        argv,
        cwd=workdir,
        env=_env_in(workdir, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start(
    workdir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    log: str = "bg.log",
    sigint_ignored: bool = False,
) -> subprocess.Popen[bytes]:
    """`scylla ARGS` in the background, its output in workdir/`log`, in a session of its own
    (like a terminal's job: scylla, snakemake and its job shells in one process group). With
    `sigint_ignored`, as a non-interactive shell starts a background job `cmd &`."""
    with open(Path(workdir) / log, "w") as out:
        return subprocess.Popen(
            [str(SCYLLA), *map(str, args)],
            cwd=workdir,
            env=_env_in(workdir, env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_ignore_sigint if sigint_ignored else None,
        )


def output_of(proc: Proc) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


def ok(proc: Proc) -> Proc:
    """Assert the command succeeded; show its command line and output otherwise."""
    assert proc.returncode == 0, f"{proc.args}\n{output_of(proc)[-6000:]}"
    return proc


def calls(workdir: Path) -> list[dict[str, Any]]:
    """The stand-in calls (paid calls, for a real CLI) logged in workdir/calls.jsonl."""
    path = Path(workdir) / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ---------------------------------------------------------------------------------- status


def status(workdir: Path, *filters: str, name: str = EXP) -> list[dict[str, Any]]:
    """`scylla status results/NAME --format json [filters]`: one row per run."""
    proc = ok(scylla(workdir, "status", f"results/{name}", "--format", "json", *filters))
    return json.loads(proc.stdout)


def by_run(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(r["tier"], r["subtest"], r["run"]): r for r in rows}


def judge_states(row: dict[str, Any]) -> dict[str, str]:
    return {j["slot"]: j["status"] for j in row["judges"]}
