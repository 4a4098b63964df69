"""Rule `agent`: prepare the run's worktree, run the agent, write its artifacts.

An agent that ran and ended badly (non-zero exit, timeout, is_error, max turns) is a
successful job whose artifacts record how it ended. An infrastructure error (CLI missing,
auth, rate limit) raises, so the job fails, its outputs are dropped, its `log:` survives and
Snakemake retries it.
"""

from __future__ import annotations

import shlex
import time
from datetime import UTC, datetime
from pathlib import Path

from scylla import joblog, jsonio, paths, workspace
from scylla.adapters import AgentContext, InfraError, get_adapter
from scylla.adapters.base import backoff_seconds
from scylla.config import Experiment
from scylla.process import ProcessResult
from scylla.secrets import redact_env

RECORDED_ENV = ("PATH", "HOME", "USER", "SHELL", "LANG")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _log(log: Path, message: str) -> None:
    joblog.append(log, message)


def replay_script(result: ProcessResult, ctx: AgentContext, env: dict[str, str]) -> str:
    """A bash script that re-runs the exact command from the run directory."""
    argv = ['"$PROMPT"' if arg == ctx.prompt else shlex.quote(arg) for arg in result.argv]
    lines = [
        "#!/usr/bin/env bash",
        f"# Generated: {_now()}",
        "# Re-runs this run's agent command in its workspace. Secrets are not recorded:",
        "# export them yourself before running.",
        "set -euo pipefail",
        'RUN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"',
        'cd "$RUN_DIR/workspace"',
        "# the prompt, byte for byte (command substitution would drop its final newline)",
        'PROMPT="$(cat "$RUN_DIR/agent/prompt.md"; printf x)"',
        'PROMPT="${PROMPT%x}"',
    ]
    for key, value in sorted(env.items()):
        prefix = "# " if value == "<redacted>" else ""
        lines.append(f"{prefix}export {key}={shlex.quote(value)}")
    lines.append(" ".join(argv) + " < /dev/null")
    return "\n".join(lines) + "\n"


def command_log(result: ProcessResult, ctx: AgentContext, env: dict[str, str]) -> dict:
    recorded = {k: env[k] for k in RECORDED_ENV if k in env}
    recorded.update(ctx.configured_env())
    now = _now()
    return {
        "generated_at": now,
        "total_commands": 1,
        "commands": [
            {
                "timestamp": now,
                "command": [
                    "<prompt: agent/prompt.md>" if a == ctx.prompt else a for a in result.argv
                ],
                "cwd": result.cwd,
                "env_vars": redact_env(recorded),
                "exit_code": result.exit_code,
                "stdout_file": "stdout.log",
                "stderr_file": "stderr.log",
                "duration_seconds": result.duration_seconds,
                "timed_out": result.timed_out,
            }
        ],
    }


def _backoff(ctx: AgentContext, log: Path) -> None:
    delay = backoff_seconds(ctx.agent.get("rate_limit_backoff", 30), ctx.attempt)
    _log(log, f"rate limited: waiting {delay:.0f}s before failing the job for a retry")
    time.sleep(delay)


def run_agent(
    exp: Experiment, root: Path, tier: str, subtest: str, run: int, log: Path, attempt: int = 1
) -> None:
    ep = paths.experiment(root, exp.name)
    rp = ep.run(tier, subtest, run)
    _log(log, f"agent {exp.name}/{tier}/{subtest}/run_{run:02d} attempt {attempt}")
    repo_info = workspace.ensure_task_repo(exp.task, ep.task_repo, ep.task_marker)
    solution = exp.task.get("solution", "")
    if solution and jsonio.read_text(ep.task_solution) != solution:
        jsonio.write_text(ep.task_solution, solution)
    sub = exp.subtest(tier, subtest)
    workspace.create_worktree(ep.task_repo, repo_info["commit"], rp.workspace, sub["files"])
    jsonio.write_text(rp.agent_prompt, exp.task["prompt"])
    ctx = AgentContext(
        workspace=rp.workspace,
        prompt=exp.task["prompt"],
        prompt_file=rp.agent_prompt,
        agent=exp.agent_for(tier, subtest),
        subtest=sub,
        task=exp.task,
        run_dir=rp.dir,
        tier=tier,
        subtest_id=subtest,
        run=run,
        attempt=attempt,
        task_dir=ep.task_dir,
    )
    adapter = get_adapter(ctx.agent)
    measured_start = time.monotonic()
    try:
        result = adapter.run(ctx)
    except InfraError as exc:
        _log(log, f"INFRASTRUCTURE ERROR {exc}")
        if exc.result is not None:
            _log(log, f"exit_code={exc.result.exit_code}\n--- stdout ---\n{exc.result.stdout}")
            _log(log, f"--- stderr ---\n{exc.result.stderr}")
        if exc.kind == "rate_limit":
            _backoff(ctx, log)
        raise
    env = ctx.env()
    _log(
        log,
        f"exit_code={result.exit_code} timed_out={result.timed_out} "
        f"duration={result.duration_seconds}s",
    )
    jsonio.write_text(rp.agent_stdout, result.stdout)
    jsonio.write_text(rp.agent_stderr, result.stderr)
    jsonio.write_text(rp.agent_output, result.stdout)
    jsonio.write_json(rp.agent_command_log, command_log(result, ctx, env))
    jsonio.write_text(rp.agent_replay, replay_script(result, ctx, redact_env(ctx.configured_env())))
    rp.agent_replay.chmod(0o755)
    jsonio.write_json(
        rp.agent_timing,
        {
            "agent_duration_seconds": round(time.monotonic() - measured_start, 6),
            "measured_at": _now(),
            "timed_out": result.timed_out,
            "attempt": attempt,
        },
    )
