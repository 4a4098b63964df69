"""Why a run or a judge slot is not a clean result: every failure has a class and a reason.

- `infra`: the work could not be done (CLI missing, authentication, an environment the CLI
  refuses such as root, rate limit or overload, network, a kill, a crash of our own code, the
  spend cap). Infrastructure failures are retried and kept out of the statistics.
- `agent`: the agent ran and did badly (non-zero exit, timeout, max turns, `is_error`, nothing
  produced). Agent failures are results: they count as fails.
- `judge`: no valid judgment after the retry. Such a run is reported apart.

Some infrastructure failures cannot heal by waiting (`fatal`): the first one stops the
scheduling of new paid jobs (scylla.recovery.stopping) with one message naming the cause and
the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scylla import records

INFRA, AGENT, JUDGE = "infra", "agent", "judge"
CLASSES = (INFRA, AGENT, JUDGE)


@dataclass(frozen=True)
class Kind:
    fatal: bool
    fix: str = ""


KINDS = {
    "cli_missing": Kind(True, "install the agent CLI, or set `cli:` in the config"),
    "auth": Kind(True, "log in (`claude /login`) or set ANTHROPIC_API_KEY for the jobs"),
    "env_refused": Kind(
        True,
        "run scylla as a non-root user (Claude Code refuses --dangerously-skip-permissions "
        "as root), or set IS_SANDBOX=1 in the agent's env inside a real sandbox",
    ),
    "spend_cap": Kind(True, "raise max_cost_usd (or pass --max-cost) to go on"),
    "rate_limit": Kind(False),
    "overloaded": Kind(False),
    "network": Kind(False),
    "killed": Kind(False),
    "infra": Kind(False),
}


def is_fatal(kind: str) -> bool:
    return KINDS.get(kind, Kind(False)).fatal


def fix_for(kind: str) -> str:
    return KINDS.get(kind, Kind(False)).fix


def of_agent_result(result: dict[str, Any], output_text: str | None = None) -> tuple[str, str]:
    """("agent", reason) when the agent's own run went badly, else ("", "")."""
    if output_text is not None and not output_text.strip():
        return AGENT, "produced nothing"
    if result.get("timed_out"):
        return AGENT, "timeout"
    subtype = result.get("subtype") or ""
    if subtype == "error_max_turns":
        return AGENT, "max turns"
    if subtype == "error_max_budget_usd":
        return AGENT, "per-run budget reached"
    code = result.get("exit_code")
    if isinstance(code, int) and code != 0:
        return AGENT, f"exit code {code}"
    if result.get("is_error"):
        return AGENT, f"is_error ({subtype or 'no subtype'})"
    return "", ""


def of_judgment(judgment: dict[str, Any]) -> tuple[str, str]:
    """(class, reason) of a judgment that is not a valid verdict, else ("", "")."""
    if judgment.get("status") == "agent_failed":
        return AGENT, "the agent left nothing to judge"
    if not judgment.get("is_valid"):
        return JUDGE, str(judgment.get("error") or judgment.get("reasoning") or "invalid")
    return "", ""


def agent_failed(agent: dict[str, Any], output_text: str) -> bool:
    """The agent left nothing usable: empty output, or the infra-failure signature."""
    if not output_text.strip():
        return True
    tokens = agent.get("token_stats") or {}
    return agent.get("exit_code") == -1 and not any(tokens.get(k) for k in records.TOKEN_KEYS)
