"""The real Claude Code CLI contract (see DESIGN.md): flags, timeout, usage, infra errors."""

from __future__ import annotations

from scylla.agents.base import (
    AUTH_SIGNS,
    NETWORK_SIGNS,
    OVERLOAD_SIGNS,
    RATE_LIMIT_SIGNS,
    ROOT_SIGNS,
    AgentContext,
    InfraError,
    Usage,
    has_sign,
    run_cli,
    which,
)
from scylla.agents.claude_json import parse_usage
from scylla.util.process import ProcessResult


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
    if ctx.agent.max_turns:
        argv += ["--max-turns", str(ctx.agent.max_turns)]
    if ctx.agent.max_cost_usd_per_run:
        argv += ["--max-budget-usd", str(ctx.agent.max_cost_usd_per_run)]
    mode = ctx.subtest.system_prompt or "default"
    if mode == "empty":
        argv += ["--system-prompt", ""]
    elif mode not in ("default", "", None):
        argv += ["--system-prompt", str(mode)]
    if ctx.subtest.agent_name:
        argv += ["--agent", ctx.subtest.agent_name]
    argv.append(ctx.prompt)
    return argv


def classify_failure(result: ProcessResult, usage: Usage) -> None:
    """Raise InfraError when a failed invocation is the infrastructure's fault.

    The evidence is the CLI's own error fields and stderr, never the agent's prose: an agent
    whose answer mentions "rate limit" or "429" after max turns is an agent result. API and
    login errors come back as a result with `is_error` and subtype `error_during_execution`
    (its text is the error, not an answer), or as no result at all.
    """
    if result.timed_out or not (usage.is_error or result.exit_code != 0):
        return
    if result.exit_code < 0:  # killed by a signal we did not send (OOM killer, kill -9, ...)
        raise InfraError("killed", f"the CLI was killed by signal {-result.exit_code}", result)
    answered = usage.subtype is not None
    api_error = usage.subtype == "error_during_execution"
    evidence = "\n".join(
        [result.stderr, usage.result_text if api_error else "", "" if answered else result.stdout]
    )
    if has_sign(evidence, ROOT_SIGNS):
        raise InfraError("env_refused", "the agent CLI refuses to run as root", result)
    if has_sign(evidence, AUTH_SIGNS):
        raise InfraError("auth", "the agent CLI is not authenticated", result)
    if has_sign(evidence, RATE_LIMIT_SIGNS):
        raise InfraError("rate_limit", "rate limited", result)
    if has_sign(evidence, OVERLOAD_SIGNS):
        raise InfraError("overloaded", "the API is overloaded", result)
    if has_sign(evidence, NETWORK_SIGNS):
        raise InfraError("network", "a network error", result)


class ClaudeCodeAdapter:
    name = "claude-code"

    def run(self, ctx: AgentContext) -> ProcessResult:
        env = ctx.env()
        cli = which(ctx.agent.cli, env)
        result = run_cli(ctx, build_argv(ctx, cli), env)
        classify_failure(result, self.parse(result.stdout, result.stderr, result.exit_code))
        return result

    def parse(self, stdout: str, stderr: str, exit_code: int) -> Usage:
        return parse_usage(stdout, exit_code)
