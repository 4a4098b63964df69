"""Rule `agent_result`: agent/result.json parsed from the agent's logs only (cheap, repeatable)."""

from __future__ import annotations

from typing import Any

from scylla import jsonio
from scylla.adapters import get_adapter
from scylla.paths import RunPaths


def build(rp: RunPaths, agent: dict[str, Any]) -> dict[str, Any]:
    stdout = jsonio.read_text(rp.agent_stdout)
    stderr = jsonio.read_text(rp.agent_stderr)
    log = jsonio.read_json_object(rp.agent_command_log) or {}
    commands = log.get("commands") or [{}]
    exit_code = int(commands[-1].get("exit_code", -1))
    timing = jsonio.read_json_object(rp.agent_timing) or {}
    usage = get_adapter(agent).parse(stdout, stderr, exit_code)
    return {
        "exit_code": exit_code,
        "stdout": stdout,
        "stderr": stderr,
        "token_stats": usage.token_stats,
        "cost_usd": usage.cost_usd,
        "api_calls": usage.api_calls,
        "is_error": usage.is_error or exit_code != 0,
        "subtype": usage.subtype,
        "timed_out": bool(timing.get("timed_out", False)),
        "session_id": usage.session_id,
        "adapter": agent.get("adapter", "claude-code"),
        "model": agent.get("model"),
    }


def write(rp: RunPaths, agent: dict[str, Any]) -> None:
    jsonio.write_json(rp.agent_result, build(rp, agent))
