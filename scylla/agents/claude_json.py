"""Parsing Claude Code's `--output-format json` result object."""

from __future__ import annotations

import json
from typing import Any

from scylla.agents.base import Usage


def find_result_object(stdout: str) -> dict[str, Any] | None:
    """The last JSON object on stdout whose type is "result" (or any last JSON object)."""
    candidates: list[dict[str, Any]] = []
    text = stdout.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
            if isinstance(obj, dict):
                return obj
        except ValueError:
            pass
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            candidates.append(obj)
    results = [c for c in candidates if c.get("type") == "result"]
    found = results or candidates
    return found[-1] if found else None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def parse_usage(stdout: str, exit_code: int) -> Usage:
    """Map Claude's JSON to Usage: num_turns -> api_calls, total_cost_usd -> cost_usd."""
    obj = find_result_object(stdout)
    if obj is None:
        return Usage(exit_code=exit_code, is_error=exit_code != 0, cost_known=False)
    usage = obj.get("usage") or {}
    try:
        cost = float(obj.get("total_cost_usd") or 0.0)
    except (TypeError, ValueError):
        cost = 0.0
    return Usage(
        exit_code=exit_code,
        input_tokens=_int(usage.get("input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        cache_creation_tokens=_int(usage.get("cache_creation_input_tokens")),
        cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
        cost_usd=cost,
        api_calls=_int(obj.get("num_turns")),
        is_error=bool(obj.get("is_error")),
        subtype=obj.get("subtype"),
        result_text=str(obj.get("result") or ""),
        session_id=obj.get("session_id"),
    )
