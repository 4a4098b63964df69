"""The real Claude Code CLI contract (see DESIGN.md): flags, timeout, usage, infra errors."""

from __future__ import annotations

from scylla.adapters.base import (
    AUTH_SIGNS,
    RATE_LIMIT_SIGNS,
    AgentContext,
    InfraError,
    Usage,
    has_sign,
    run_cli,
    which,
)
from scylla.adapters.claude_json import parse_usage
from scylla.process import ProcessResult


def build_argv(ctx: AgentContext, cli_path: str) -> list[str]:
    argv = [
        cli_path,
        "--model",
        ctx.model,
        "--print",
        "--output-format",
        "json",
        "--dangerously-skip-permissions",
    ]
    if ctx.agent.get("max_turns"):
        argv += ["--max-turns", str(ctx.agent["max_turns"])]
    mode = ctx.subtest.get("system_prompt", "default")
    if mode == "empty":
        argv += ["--system-prompt", ""]
    elif mode not in ("default", "", None):
        argv += ["--system-prompt", str(mode)]
    if ctx.subtest.get("agent_name"):
        argv += ["--agent", str(ctx.subtest["agent_name"])]
    argv.append(ctx.prompt)
    return argv


def classify_failure(result: ProcessResult, usage: Usage) -> None:
    """Raise InfraError when a failed invocation is the infrastructure's fault."""
    if result.timed_out or not (usage.is_error or result.exit_code != 0):
        return
    if result.exit_code < 0:  # killed by a signal we did not send (OOM killer, kill -9, ...)
        raise InfraError("killed", f"the CLI was killed by signal {-result.exit_code}", result)
    evidence = "\n".join([usage.result_text, result.stderr, result.stdout[-2000:]])
    if has_sign(evidence, AUTH_SIGNS):
        raise InfraError("auth", "authentication failed", result)
    if has_sign(evidence, RATE_LIMIT_SIGNS):
        raise InfraError("rate_limit", "rate limited / overloaded", result)


class ClaudeCodeAdapter:
    name = "claude-code"

    def run(self, ctx: AgentContext) -> ProcessResult:
        env = ctx.env()
        cli = which(str(ctx.agent.get("cli", "claude")), env)
        result = run_cli(ctx, build_argv(ctx, cli), env)
        classify_failure(result, self.parse(result.stdout, result.stderr, result.exit_code))
        return result

    def parse(self, stdout: str, stderr: str, exit_code: int) -> Usage:
        return parse_usage(stdout, exit_code)
