"""What every agent adapter shares: the invocation context, usage, infrastructure errors."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from scylla.config.specs import AgentSpec, SubtestSpec, TaskSpec
from scylla.util import process
from scylla.util.process import ProcessResult, base_env
from scylla.util.secrets import REDACTED

RATE_LIMIT_SIGNS = ("429", "rate limit", "rate_limit", "usage limit")
OVERLOAD_SIGNS = ("529", "overloaded")
NETWORK_SIGNS = ("econnreset", "etimedout", "enotfound", "connection error", "network error")
AUTH_SIGNS = ("invalid api key", "please run /login", "authentication_error", "oauth token")
ROOT_SIGNS = ("cannot be used with root/sudo privileges",)


class InfraError(RuntimeError):
    """The agent could not run for reasons outside its control: the job must fail (and retry).

    kind: one of scylla.recovery.failures.KINDS (cli_missing, auth, env_refused, spend_cap: fatal;
    rate_limit, overloaded, network, killed, infra: transient).
    """

    def __init__(self, kind: str, message: str, result: ProcessResult | None = None):
        super().__init__(f"[{kind}] {message}")
        self.kind = kind
        self.message = message
        self.result = result

    @property
    def fatal(self) -> bool:
        from scylla.recovery.failures import is_fatal

        return is_fatal(self.kind)


@dataclass(frozen=True)
class Usage:
    """What the logs say about one agent invocation (agent/result.json's source)."""

    exit_code: int
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    api_calls: int = 0
    is_error: bool = False
    subtype: str | None = None
    result_text: str = ""
    session_id: str | None = None
    # False when the CLI left no final answer (killed, timed out, crashed): its cost is then
    # unknown, never 0
    cost_known: bool = True

    @property
    def token_stats(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
            "cache_read_tokens": self.cache_read_tokens,
        }


@dataclass
class AgentContext:
    """Everything an adapter needs to run one agent in one workspace."""

    workspace: Path
    prompt: str
    prompt_file: Path
    agent: AgentSpec
    subtest: SubtestSpec
    task: TaskSpec
    run_dir: Path
    tier: str = ""
    subtest_id: str = ""
    run: int = 0
    attempt: int = 1
    task_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # Where a CLI's stdout/stderr go (the attempt's agent/ folder); None: temporary files.
    stdout_path: Path | None = None
    stderr_path: Path | None = None
    # Marker variables of the attempt (procs.ATTEMPT_VAR): set, never recorded.
    marker_env: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return self.agent.model

    @property
    def timeout(self) -> float:
        return float(self.agent.timeout)

    def env(self) -> dict[str, str]:
        """The agent's environment: ours, the bin dir of this Python, the configured extras."""
        # git inside the workspace must never find an enclosing repository.
        env = base_env(GIT_CEILING_DIRECTORIES=str(self.workspace.resolve().parent))
        for key, value in self.configured_env().items():
            if value != REDACTED:  # a saved config never holds secrets: take the caller's
                env[key] = value
        env.update(self.marker_env)
        return env

    def expand(self, value: str) -> str:
        """Placeholders in configured env values: {workspace}, {run_dir}, {task_dir}."""
        for name, path in {
            "workspace": self.workspace,
            "run_dir": self.run_dir,
            "task_dir": self.task_dir or self.run_dir,
        }.items():
            value = value.replace("{" + name + "}", str(path.resolve()))
        return value

    def configured_env(self) -> dict[str, str]:
        """The configured extra variables, placeholders expanded (secrets still to redact)."""
        return {k: self.expand(str(v)) for k, v in {**self.agent.env, **self.extra_env}.items()}


class Adapter(Protocol):
    name: str

    def run(self, ctx: AgentContext) -> ProcessResult: ...

    def parse(self, stdout: str, stderr: str, exit_code: int) -> Usage: ...


def run_cli(ctx: AgentContext, argv: list[str], env: dict[str, str]) -> ProcessResult:
    """Run an agent CLI in the workspace under its timeout, stdout/stderr into the attempt."""
    try:
        return process.run(
            argv,
            cwd=ctx.workspace,
            env=env,
            timeout=ctx.timeout,
            stdout_path=ctx.stdout_path,
            stderr_path=ctx.stderr_path,
        )
    except OSError as exc:
        raise InfraError("cli_missing", f"cannot start {argv[0]}: {exc}") from exc


def which(cli: str, env: dict[str, str]) -> str:
    """Resolve an executable on the agent's PATH; InfraError(cli_missing) when absent."""
    found = shutil.which(cli, path=env.get("PATH"))
    if not found:
        raise InfraError("cli_missing", f"agent CLI '{cli}' not found on PATH")
    return found


MAX_BACKOFF_SECONDS = 600.0


def backoff_seconds(base: float, attempt: int) -> float:
    """Wait before failing a rate-limited job for Snakemake to retry: base * 2^(attempt-1)."""
    return min(float(base) * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)


def has_sign(text: str, signs: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(s in low for s in signs)
