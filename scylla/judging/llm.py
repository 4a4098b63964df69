"""An LLM judge over the Claude Code CLI: no tools, a system prompt file, the prompt on stdin."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scylla.agents.base import AgentContext, InfraError, Usage, which
from scylla.agents.claude_code import classify_failure
from scylla.agents.claude_json import parse_usage
from scylla.config.specs import AgentSpec, JudgeSpec, SubtestSpec, TaskSpec
from scylla.judging.parse import extract_json, validate
from scylla.util import process

JSON_REMINDER = (
    "\n\nIMPORTANT: your previous answer could not be parsed. Answer again with ONLY the JSON "
    "object (keys: score, passed, reasoning, categories) and nothing else."
)


@dataclass
class LlmVerdict:
    judgment: dict[str, Any] | None
    error: str
    response: str
    stdout: str
    stderr: str
    attempts: int
    usages: list[Usage] = field(default_factory=list)
    timed_out: bool = False


def _argv(cli: str, model: str, system_prompt_file: Path) -> list[str]:
    return [
        cli,
        "--model",
        model,
        "--print",
        "--output-format",
        "json",
        "--dangerously-skip-permissions",
        "--allowedTools",
        "",
        "--system-prompt-file",
        str(system_prompt_file.resolve()),
    ]


def judge(
    judge_cfg: JudgeSpec,
    prompt: str,
    system_prompt_file: Path,
    cwd: Path,
    pass_threshold: float,
    marker_env: dict[str, str] | None = None,
) -> LlmVerdict:
    """Ask once, retry once with a JSON reminder; never raises for a bad answer.

    Raises InfraError (CLI missing, auth, rate limit) so the job fails and is retried.
    """
    env = AgentContext(
        cwd, "", cwd, AgentSpec(), SubtestSpec(), TaskSpec(""), cwd, marker_env=marker_env or {}
    ).env()
    cli = which(judge_cfg.cli, env)
    argv = _argv(cli, judge_cfg.name, system_prompt_file)
    timeout = float(judge_cfg.timeout)
    stdouts: list[str] = []
    stderrs: list[str] = []
    usages: list[Usage] = []
    response, error = "", ""
    for attempt in (1, 2):
        text = prompt if attempt == 1 else prompt + JSON_REMINDER
        try:
            res = process.run(argv, cwd=cwd, env=env, timeout=timeout, stdin_text=text)
        except OSError as exc:
            raise InfraError("cli_missing", f"cannot start {cli}: {exc}") from exc
        stdouts.append(res.stdout)
        stderrs.append(res.stderr)
        if res.timed_out:
            return LlmVerdict(
                None,
                f"judge timed out after {timeout:.0f}s",
                "",
                "\n".join(stdouts),
                "\n".join(stderrs),
                attempt,
                usages,
                timed_out=True,
            )
        usage = parse_usage(res.stdout, res.exit_code)
        classify_failure(res, usage)
        usages.append(usage)
        response = usage.result_text if usage.result_text or res.stdout.strip() else ""
        if not response and not res.stdout.lstrip().startswith("{"):
            response = res.stdout
        judgment, error = validate(extract_json(response), pass_threshold)
        if judgment is not None:
            return LlmVerdict(
                judgment, "", response, "\n".join(stdouts), "\n".join(stderrs), attempt, usages
            )
    return LlmVerdict(None, error, response, "\n".join(stdouts), "\n".join(stderrs), 2, usages)
