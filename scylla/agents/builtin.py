"""In-process adapters: oracle (reference solution), nop (does nothing), replay (re-emits)."""

from __future__ import annotations

import time
from pathlib import Path

from scylla.agents.base import AgentContext, InfraError, Usage
from scylla.agents.claude_json import parse_usage
from scylla.layout import paths
from scylla.util.gitutil import GitError, git
from scylla.util.jsonio import read_text
from scylla.util.process import ProcessResult


def _result(ctx: AgentContext, argv: list[str], start: float, out: str, code: int = 0):
    return ProcessResult(
        argv=argv,
        cwd=str(ctx.workspace),
        exit_code=code,
        stdout=out,
        stderr="",
        duration_seconds=round(time.monotonic() - start, 6),
        timed_out=False,
    )


def _apply_patch(workspace: Path, patch: str) -> None:
    if not patch.strip():
        return
    patch_file = workspace.parent / paths.APPLY_PATCH
    patch_file.write_text(patch)
    try:
        git("apply", "--whitespace=nowarn", str(patch_file.resolve()), cwd=workspace)
    finally:
        patch_file.unlink(missing_ok=True)


class OracleAdapter:
    """Applies the task's reference solution: the ceiling any agent is compared with."""

    name = "oracle"

    def run(self, ctx: AgentContext) -> ProcessResult:
        start = time.monotonic()
        patch = ctx.task.solution
        if not patch:
            raise InfraError("infra", "oracle adapter: the task has no reference solution")
        argv = ["git", "apply", paths.TASK_SOURCE["solution"]]
        try:
            _apply_patch(ctx.workspace, patch)
        except GitError as exc:
            return _result(ctx, argv, start, str(exc), 1)
        return _result(ctx, argv, start, "Applied the reference solution.\n")

    def parse(self, stdout: str, stderr: str, exit_code: int) -> Usage:
        return Usage(exit_code=exit_code, result_text=stdout.strip(), is_error=exit_code != 0)


class NopAdapter:
    """Changes nothing: the floor (what the untouched task scores)."""

    name = "nop"

    def run(self, ctx: AgentContext) -> ProcessResult:
        return _result(ctx, ["true"], time.monotonic(), "No changes made.\n")

    def parse(self, stdout: str, stderr: str, exit_code: int) -> Usage:
        return Usage(exit_code=exit_code, result_text=stdout.strip())


class ReplayAdapter:
    """Re-emits a recorded run (stdout + its diff) to re-judge an old experiment."""

    name = "replay"

    def run(self, ctx: AgentContext) -> ProcessResult:
        start = time.monotonic()
        source = ctx.agent.replay_from
        if not source:
            raise InfraError("infra", "replay adapter: agent.replay_from is required")
        old = paths.ExperimentPaths(Path(source)).run(ctx.tier, ctx.subtest_id, ctx.run)
        if not old.agent_stdout.exists():
            raise InfraError("infra", f"replay: no recorded stdout at {old.agent_stdout}")
        try:
            _apply_patch(ctx.workspace, read_text(old.diff))
        except GitError as exc:
            raise InfraError("infra", f"replay: recorded diff does not apply: {exc}") from exc
        stdout = read_text(old.agent_stdout)
        usage = parse_usage(stdout, 0)
        code = 1 if usage.is_error else 0
        return _result(ctx, ["replay", str(old.agent_stdout)], start, stdout, code)

    def parse(self, stdout: str, stderr: str, exit_code: int) -> Usage:
        return parse_usage(stdout, exit_code)
