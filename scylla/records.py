"""The artifact records and what makes each one *present*: a file that does not parse, an
empty object or a record without its required fields is corrupt, never present.

Field names are those of the original tool (DESIGN.md); scylla adds fields, never renames.
Each record type (`AgentResult`, `Judgment`, `Consensus`, `RunResult`, and `TokenStats`
inside them) has `read(path) -> record | None` (corrupt is None) and an atomic `write`.
A record read from a file writes back the same keys in the same order (keys it does not
declare are kept in `extra`), so re-deriving a file changes no byte it did not mean to.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Self

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


# ---------------------------------------------------------------------------- typed records


@dataclass
class Record:
    """A JSON artifact with typed fields (the subclasses declare them)."""

    NESTED: ClassVar[dict[str, type[Record]]] = {}

    extra: dict[str, Any] = field(default_factory=dict, kw_only=True, repr=False)
    # The keys of the file it was read from, in order (None: made here, all fields written).
    keys: tuple[str, ...] | None = field(default=None, kw_only=True, repr=False, compare=False)

    @classmethod
    def declared(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name not in ("extra", "keys"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = cls.declared()
        values = {k: data[k] for k in names if k in data}
        for name, kind in cls.NESTED.items():
            if isinstance(values.get(name), dict):
                values[name] = kind.from_dict(values[name])
        extra = {k: v for k, v in data.items() if k not in names}
        return cls(**values, extra=extra, keys=tuple(data))

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Self | None:
        """The record at `path`; None when it is missing, does not parse or is incomplete."""
        data = jsonio.read_json(path)
        return cls.from_dict(data) if isinstance(data, dict) and cls.valid(data) else None

    @staticmethod
    def valid(data: Any) -> bool:
        return isinstance(data, dict)

    def to_dict(self) -> dict[str, Any]:
        names = self.declared()
        order = self.keys if self.keys is not None else (*names, *self.extra)
        out = {}
        for key in order:
            if key in names:
                value = getattr(self, key)
                out[key] = value.to_dict() if isinstance(value, Record) else value
            elif key in self.extra:
                out[key] = self.extra[key]
        for f in fields(self):  # set since it was read
            if f.name in names and f.name not in out:
                value = getattr(self, f.name)
                default = f.default_factory() if f.default_factory is not MISSING else f.default
                if value != default:
                    out[f.name] = value.to_dict() if isinstance(value, Record) else value
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def write(self, path: str | os.PathLike[str]) -> None:
        jsonio.write_json(path, self.to_dict())


@dataclass(kw_only=True)
class TokenStats(Record):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0

    @staticmethod
    def valid(data: Any) -> bool:
        return valid_tokens(data)


# Fields in the order the files have them (a record made here writes them in this order).


@dataclass(kw_only=True)
class AgentResult(Record):
    """agent/result.json: what the agent's logs say about its call."""

    NESTED = {"token_stats": TokenStats}

    exit_code: int
    stdout: str = ""
    stderr: str = ""
    token_stats: TokenStats = field(default_factory=TokenStats)
    cost_usd: float | None  # None: unknown (a killed CLI left no final answer)
    cost_known: bool = True
    api_calls: int = 0
    is_error: bool = False
    subtype: str | None = None
    timed_out: bool = False
    session_id: str | None = None
    adapter: str | None = None
    model: str | None = None

    @staticmethod
    def valid(data: Any) -> bool:
        return valid_agent_result(data)


@dataclass(kw_only=True)
class Judgment(Record):
    """judge/judge_<NN>/judgment.json: one judge's verdict on one run."""

    NESTED = {"token_stats": TokenStats}

    score: float
    passed: bool
    reasoning: str = ""
    criteria_scores: dict[str, Any] = field(default_factory=dict)
    grade: str
    is_valid: bool
    status: str | None = None
    judge_number: int | None = None
    model: str | None = None
    adapter: str | None = None
    attempts: int = 0
    token_stats: TokenStats = field(default_factory=TokenStats)
    cost_usd: float = 0.0
    judge_duration_seconds: float | None = None
    attempt: int | None = None
    meaning: dict[str, Any] | None = None
    failure_class: str | None = None
    failure_reason: str | None = None

    @staticmethod
    def valid(data: Any) -> bool:
        return valid_judgment(data)


@dataclass(kw_only=True)
class Consensus(Record):
    """judge/result.json: the judges' consensus on one run."""

    score: float
    passed: bool
    grade: str
    reasoning: str = ""
    is_valid: bool = False  # the original tool's has none: not counted as valid
    criteria_scores: dict[str, Any] = field(default_factory=dict)
    agent_failed: bool = False
    agreement: dict[str, Any] = field(default_factory=dict)
    judges: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float = 0.0
    judge_duration_seconds: float = 0.0

    @staticmethod
    def valid(data: Any) -> bool:
        return valid_consensus(data)


@dataclass(kw_only=True)
class RunResult(Record):
    """run_result.json: one run, as the original tool's reports read it."""

    NESTED = {"token_stats": TokenStats}

    run_number: int
    exit_code: int
    token_stats: TokenStats = field(default_factory=TokenStats)
    tokens_input: int = 0
    tokens_output: int = 0
    cost_usd: float | None
    cost_known: bool = True
    agent_cost_usd: float | None = None
    judge_cost_usd: float = 0.0
    duration_seconds: float = 0.0
    agent_duration_seconds: float = 0.0
    judge_duration_seconds: float = 0.0
    api_calls: int = 0
    agent_failed: bool = False
    failure_class: str | None = None
    failure_reason: str | None = None
    timed_out: bool = False
    judge_score: float
    judge_passed: bool
    judge_grade: str = "F"
    judge_reasoning: str = ""
    judge_valid: bool = False
    criteria_scores: dict[str, Any] = field(default_factory=dict)
    judges: list[dict[str, Any]] = field(default_factory=list)
    attempt: int | None = None
    attempts: int = 1
    earlier_attempts_cost_usd: float = 0.0

    @staticmethod
    def valid(data: Any) -> bool:
        return valid_run_result(data)


class CorruptInput(RuntimeError):
    """A step's input exists but is not a valid record: the step refuses to derive from it."""


def model_md(path: str | os.PathLike[str]) -> str | None:
    """The model named by the original tool's MODEL.md (`**Model**: <id>`), or None."""
    text = jsonio.read_text(path)
    for line in text.splitlines():
        if line.startswith("**Model**:"):
            return line.split(":", 1)[1].strip() or None
    return None
