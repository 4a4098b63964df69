"""The artifact records and what makes each one *present*: a file that does not parse, an
empty object or a record without its required fields is corrupt, never present.

Field names are those of the original tool (DESIGN.md); scylla adds fields, never renames.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from scylla.util import jsonio

TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")

Validator = Callable[[Any], bool]


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def valid_tokens(v: Any) -> bool:
    return isinstance(v, dict) and all(_int(v.get(k)) for k in TOKEN_KEYS)


def valid_agent_result(d: Any) -> bool:
    """agent/result.json: exit_code, token_stats{4 counts}, cost_usd, api_calls."""
    return (
        isinstance(d, dict)
        and _int(d.get("exit_code"))
        and valid_tokens(d.get("token_stats"))
        and (_num(d.get("cost_usd")) or d.get("cost_usd") is None)  # None: unknown
        and _int(d.get("api_calls"))
    )


def valid_judgment(d: Any) -> bool:
    """judgment.json: score in 0..1, passed, grade, is_valid."""
    return (
        isinstance(d, dict)
        and _num(d.get("score"))
        and 0.0 <= float(d["score"]) <= 1.0
        and isinstance(d.get("passed"), bool)
        and isinstance(d.get("is_valid"), bool)
        and isinstance(d.get("grade"), str)
    )


def valid_consensus(d: Any) -> bool:
    """judge/result.json: score, passed, grade; is_valid and the judges it was made of where
    scylla wrote it (the original tool's holds only score, passed, grade and reasoning)."""
    return (
        isinstance(d, dict)
        and _num(d.get("score"))
        and isinstance(d.get("passed"), bool)
        and isinstance(d.get("grade"), str)
        and isinstance(d.get("is_valid", True), bool)
        and isinstance(d.get("judges", []), list)
    )


def valid_run_result(d: Any) -> bool:
    """run_result.json: run_number, exit_code, cost, tokens and the judge fields."""
    return (
        isinstance(d, dict)
        and _int(d.get("run_number"))
        and _int(d.get("exit_code"))
        and (_num(d.get("cost_usd")) or d.get("cost_usd") is None)  # None: unknown
        and isinstance(d.get("token_stats"), dict)
        and _num(d.get("judge_score"))
        and isinstance(d.get("judge_passed"), bool)
    )


def valid_command_log(d: Any) -> bool:
    """agent/command_log.json: at least one command with its exit code."""
    cmds = d.get("commands") if isinstance(d, dict) else None
    return isinstance(cmds, list) and bool(cmds) and _int((cmds[-1] or {}).get("exit_code"))


def valid_timing(d: Any) -> bool:
    return isinstance(d, dict) and _num(d.get("agent_duration_seconds"))


def read(path: str | os.PathLike[str], valid: Validator) -> dict[str, Any] | None:
    """The record at `path`, or None when it is missing, does not parse or is incomplete."""
    data = jsonio.read_json(path)
    return data if valid(data) else None


class CorruptInput(RuntimeError):
    """A step's input exists but is not a valid record: the step refuses to derive from it."""


def model_md(path: str | os.PathLike[str]) -> str | None:
    """The model named by the original tool's MODEL.md (`**Model**: <id>`), or None."""
    text = jsonio.read_text(path)
    for line in text.splitlines():
        if line.startswith("**Model**:"):
            return line.split(":", 1)[1].strip() or None
    return None
