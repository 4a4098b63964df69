"""Rule `agent`: one attempt of a run's agent, in its own directory, promoted when done.

    run_NN/attempts/<k>/attempt.json   lease, meaning, how the call ended, cost, promoted files
    run_NN/attempts/<k>/workspace/     the attempt's git worktree (run_NN/workspace links here)
    run_NN/attempts/<k>/agent/         prompt.md stdout.log stderr.log command_log.json ...
    run_NN/agent/                      copies of the newest finished attempt's files (outputs)

An agent that ran and ended badly (non-zero exit, timeout, is_error, max turns) is a finished
attempt and a successful job whose artifacts record how it ended. An infrastructure error (CLI
missing, auth, rate limit) fails the attempt and the job, which Snakemake retries. A finished
attempt that could not be promoted (a local write failed, the scheduler was killed) is adopted
by the next job for the same run: no second paid call.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from pathlib import Path
from typing import Any

from scylla import spend
from scylla.agents import AgentContext, InfraError, get_adapter, workspace
from scylla.agents.base import backoff_seconds
from scylla.agents.claude_json import find_result_object, parse_usage
from scylla.config import Experiment, meaning
from scylla.config.specs import AgentSpec
from scylla.layout import paths
from scylla.recovery import archive, attempts
from scylla.recovery.agent_attempt import current
from scylla.util import joblog, jsonio, procs, secrets
from scylla.util.process import KILL_GRACE_SECONDS, ProcessResult
from scylla.util.secrets import redact_env

RECORDED_ENV = ("PATH", "HOME", "USER", "SHELL", "LANG")
PROMPT_ARG = "<prompt: agent/prompt.md>"
SETUP_SECONDS = 300.0  # worktree, task repo: on top of the agent's own timeout


def _log(log: Path, message: str) -> None:
    joblog.append(log, message)


def replay_script(call: dict[str, Any]) -> str:
    """A bash script that re-runs the exact command from the run directory."""
    argv = ['"$PROMPT"' if arg == PROMPT_ARG else shlex.quote(arg) for arg in call["argv"]]
    lines = [
        "#!/usr/bin/env bash",
        f"# Generated: {call['measured_at']}",
        "# Re-runs this run's agent command in its workspace. Secrets are not recorded:",
        "# export them yourself before running.",
        "set -euo pipefail",
        'RUN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"',
        'cd "$RUN_DIR/workspace"',
        "# the prompt, byte for byte (command substitution would drop its final newline)",
        'PROMPT="$(cat "$RUN_DIR/agent/prompt.md"; printf x)"',
        'PROMPT="${PROMPT%x}"',
    ]
    for key, value in sorted(call["configured_env"].items()):
        prefix = "# " if value == "<redacted>" else ""
        lines.append(f"{prefix}export {key}={shlex.quote(value)}")
    lines.append(" ".join(argv) + " < /dev/null")
    return "\n".join(lines) + "\n"


def command_log(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "generated_at": call["measured_at"],
        "total_commands": 1,
        "commands": [
            {
                "timestamp": call["measured_at"],
                "command": call["argv"],
                "cwd": call["cwd"],
                "env_vars": call["env_vars"],
                "exit_code": call["exit_code"],
                "stdout_file": Path(paths.AGENT_FILES["stdout"]).name,
                "stderr_file": Path(paths.AGENT_FILES["stderr"]).name,
                "duration_seconds": call["duration_seconds"],
                "timed_out": call["timed_out"],
            }
        ],
    }


def call_record(result: ProcessResult, ctx: AgentContext, measured: float) -> dict[str, Any]:
    """How the call ended: enough to write every agent file again from the attempt alone."""
    env = ctx.env()
    recorded = {k: env[k] for k in RECORDED_ENV if k in env}  # never secrets: kept as they are
    recorded.update(redact_env(ctx.configured_env()))
    return {
        "argv": [PROMPT_ARG if a == ctx.prompt else a for a in result.argv],
        "cwd": result.cwd,
        "exit_code": result.exit_code,
        "duration_seconds": result.duration_seconds,
        "timed_out": result.timed_out,
        "leftover_processes": result.leftovers,
        "agent_duration_seconds": round(measured, 6),
        "measured_at": attempts.now(),
        "env_vars": recorded,
        "configured_env": redact_env(ctx.configured_env()),
    }


def write_files(att: attempts.Attempt) -> None:
    """The derived agent files of a finished attempt (from its record and stdout.log);
    idempotent, so an adopted attempt whose writing was cut short is completed."""
    call = att.record["call"]
    rel = paths.AGENT_FILES
    if not att.path(rel["stdout"]).exists():
        jsonio.write_text(att.path(rel["stdout"]), "")
    if not att.path(rel["stderr"]).exists():
        jsonio.write_text(att.path(rel["stderr"]), "")
    stdout = jsonio.read_text(att.path(rel["stdout"]))
    jsonio.write_json(att.path(rel["command_log"]), command_log(call))
    jsonio.write_text(att.path(rel["replay"]), replay_script(call))
    att.path(rel["replay"]).chmod(0o755)
    jsonio.write_json(
        att.path(rel["timing"]),
        {
            "agent_duration_seconds": call["agent_duration_seconds"],
            "measured_at": call["measured_at"],
            "timed_out": call["timed_out"],
            "attempt": att.number,
            "meaning": att.record["meaning"],
        },
    )
    jsonio.write_text(att.path(rel["output"]), stdout)


def promote(rp: paths.RunPaths, att: attempts.Attempt) -> None:
    """Copy the attempt's agent files into run_NN/agent/ and point run_NN/workspace at its
    worktree (only while it is the newest attempt: see attempts.promote)."""
    attempts.promote(rp.attempts, att, rp.agent_copies)
    link_workspace(rp, att)


def link_workspace(rp: paths.RunPaths, att: attempts.Attempt) -> None:
    target = Path(paths.ATTEMPTS_DIR) / str(att.number) / paths.WORKSPACE_DIR
    if rp.workspace.is_symlink() and os.readlink(rp.workspace) == str(target):
        return
    if rp.workspace.exists() and not rp.workspace.is_symlink():
        return  # a first-release worktree in place: archived when its run is re-run
    tmp = rp.dir / f".{paths.WORKSPACE_DIR}.link.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, rp.workspace)


def _backoff(agent: AgentSpec, attempt: int, log: Path) -> None:
    delay = backoff_seconds(agent.rate_limit_backoff, attempt)
    _log(log, f"rate limited: waiting {delay:.0f}s before failing the job for a retry")
    time.sleep(delay)


def _call(
    exp: Experiment, ep: paths.ExperimentPaths, rp: paths.RunPaths, att: attempts.Attempt, ctx_args
) -> tuple[ProcessResult, AgentContext, float]:
    tier, subtest, run, attempt_no = ctx_args
    task = exp.task_spec
    repo_info = workspace.ensure_task_repo(task, ep.task_repo, ep.task_marker)
    solution = task.solution
    if solution and jsonio.read_text(ep.task_solution) != solution:
        jsonio.write_text(ep.task_solution, solution)
    sub = exp.subtest_spec(tier, subtest)
    ws = att.path(paths.WORKSPACE_DIR)
    workspace.create_worktree(ep.task_repo, repo_info["commit"], ws, dict(sub.files))
    rel = paths.AGENT_FILES
    jsonio.write_text(att.path(rel["prompt"]), task.prompt)
    ctx = AgentContext(
        workspace=ws,
        prompt=task.prompt,
        prompt_file=att.path(rel["prompt"]),
        agent=exp.agent_spec(tier, subtest),
        subtest=sub,
        task=task,
        run_dir=rp.dir,
        tier=tier,
        subtest_id=subtest,
        run=run,
        attempt=attempt_no,
        task_dir=ep.task_dir,
        stdout_path=att.path(rel["stdout"]),
        stderr_path=att.path(rel["stderr"]),
        marker_env={procs.ATTEMPT_VAR: att.marker},
    )
    secrets.register(ctx.configured_env().values())  # placeholders expanded
    start = time.monotonic()
    result = get_adapter(ctx.agent).run(ctx)
    for out in (ctx.stdout_path, ctx.stderr_path):  # an agent may print its environment
        if out is not None:
            jsonio.scrub_file(out)
    if result.exit_code < 0 and not result.timed_out:
        # killed by a signal nobody here sent (the OOM killer, a kill -9): not the agent's doing
        raise InfraError("killed", f"the agent was killed by signal {-result.exit_code}", result)
    return result, ctx, time.monotonic() - start


def _before_agent(ep: paths.ExperimentPaths, exp: Experiment, rp: paths.RunPaths) -> None:
    """Under the attempt lock, before a new agent call: refuse over the spending cap, and set
    the judging of the run's earlier attempt aside."""
    spend.refuse_over_cap(ep, exp)
    archive.archive_judging(rp)


def run_agent(exp: Experiment, root: Path, ref: paths.RunRef, log: Path, attempt: int = 1) -> None:
    ep = exp.paths_under(root)
    rp = ep.of(ref)
    tier, subtest, run = ref.tier, ref.subtest, ref.run
    _log(log, f"agent {ref} (snakemake try {attempt})")
    wanted = meaning.agent(exp, tier, subtest)
    current(rp)
    budget = float(exp.agent_spec(tier, subtest).timeout) + KILL_GRACE_SECONDS + SETUP_SECONDS
    got = attempts.claim(
        rp.attempts,
        "agent",
        wanted,
        "",
        budget,
        lambda m: _log(log, m),
        _complete_enough,
        before_begin=lambda: _before_agent(ep, exp, rp),
        salvage=_salvage,
        before_adopt=lambda earlier: archive.swap_judging(rp, earlier),
    )
    att = got.attempt
    if got.adopted:
        _log(log, f"adopting attempt {att.number}: it finished earlier; no new agent call")
        write_files(att)
        promote(rp, att)
        if att.record.get("reconstructed_from") or att.record.get("call", {}).get(
            "reconstructed_from"
        ):
            spend.record(ep, att)  # its cost was not on the ledger yet
        return
    _log(log, f"attempt {att.number} begins in {att.dir}")
    os.environ[procs.ATTEMPT_VAR] = att.marker  # this job is part of the attempt too
    with attempts.Heartbeat(att):
        try:
            result, ctx, measured = _call(exp, ep, rp, att, (tier, subtest, run, attempt))
        except InfraError as exc:
            _log(log, f"INFRASTRUCTURE ERROR {exc}")
            if exc.result is not None:
                _log(log, f"exit_code={exc.result.exit_code}\n--- stdout ---\n{exc.result.stdout}")
                _log(log, f"--- stderr ---\n{exc.result.stderr}")
            att.update(
                state=attempts.FAILED,
                ended_at=attempts.now(),
                error=exc.message,
                failure_kind=exc.kind,
            )
            spend.record(ep, att)
            if exc.kind == "rate_limit":
                _backoff(exp.agent_spec(tier, subtest), attempt, log)
            raise
        except BaseException as exc:
            with contextlib.suppress(Exception):
                att.update(
                    state=attempts.INTERRUPTED,
                    ended_at=attempts.now(),
                    error=attempts.stop_reason(exc),
                )
            raise
        _log(
            log,
            f"exit_code={result.exit_code} timed_out={result.timed_out} "
            f"duration={result.duration_seconds}s leftovers={result.leftovers}",
        )
        _finish(att, result, ctx, measured)
        spend.record(ep, att)
    promote(rp, att)


def _finish(att: attempts.Attempt, result: ProcessResult, ctx: AgentContext, measured: float):
    """Record the ended call first (small), then the files derived from it."""
    rel = paths.AGENT_FILES
    if ctx.stdout_path is None or not att.path(rel["stdout"]).exists():
        jsonio.write_text(att.path(rel["stdout"]), result.stdout)  # in-process adapters
    if not att.path(rel["stderr"]).exists():
        jsonio.write_text(att.path(rel["stderr"]), result.stderr)
    usage = get_adapter(ctx.agent).parse(result.stdout, result.stderr, result.exit_code)
    att.update(
        state=attempts.FINISHED,
        ended_at=attempts.now(),
        call=call_record(result, ctx, measured),
        exit_code=result.exit_code,
        cost_usd=usage.cost_usd if usage.cost_known else None,  # unknown, never 0
    )
    write_files(att)


def _salvage(att: attempts.Attempt) -> bool:
    """An attempt whose job died (disk full, kill -9) after the CLI gave its final answer is
    a finished attempt: its call is rebuilt from that answer, so it is adopted, not re-paid."""
    stdout = jsonio.read_text(att.path(paths.AGENT_FILES["stdout"]))
    answer = find_result_object(stdout) if stdout.strip() else None
    if not answer or answer.get("type") != "result":
        return False
    usage = parse_usage(stdout, 1 if answer.get("is_error") else 0)
    seconds = float(answer.get("duration_ms") or 0) / 1000
    att.update(
        state=attempts.FINISHED,
        ended_at=attempts.now(),
        exit_code=usage.exit_code,
        cost_usd=usage.cost_usd,
        call={
            "argv": ["<not recorded: the job died before writing it>"],
            "cwd": str(att.path(paths.WORKSPACE_DIR)),
            "exit_code": usage.exit_code,
            "duration_seconds": seconds,
            "timed_out": False,
            "leftover_processes": 0,
            "agent_duration_seconds": seconds,
            "measured_at": attempts.now(),
            "env_vars": {},
            "configured_env": {},
            "reconstructed_from": "the CLI's final JSON answer in agent/stdout.log",
        },
    )
    return True


def _complete_enough(att: attempts.Attempt) -> bool:
    """A finished attempt can be adopted if its call record and stdout are there."""
    return (
        isinstance(att.record.get("call"), dict) and att.path(paths.AGENT_FILES["stdout"]).is_file()
    )
