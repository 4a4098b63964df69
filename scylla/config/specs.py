"""Typed agent and judge settings, with every default in one place.

The resolved experiment stays a plain mapping (it is saved in the results directory and its
parts are hashed into each run's meaning, so its bytes must not move); code that *uses*
settings reads them through these records instead of `.get(key, default)` on that mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class AgentSpec:
    """How one subtest's agent is run (`agent:` in the config, the subtest's model applied)."""

    adapter: str = "claude-code"
    cli: str = "claude"
    model: str = "claude-sonnet-4-5-20250929"
    timeout: float = 600
    max_turns: int | None = None
    env: Mapping[str, Any] = field(default_factory=dict)
    # Seconds to wait after a rate limit before failing the job for a retry (doubles).
    rate_limit_backoff: float = 30
    command: tuple[str, ...] = ()  # the command adapter's argv template
    parser: str | None = None  # the command adapter's usage parser (module:function)
    replay_from: str | None = None  # the replay adapter's source directory
    max_cost_usd_per_run: float | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> AgentSpec:
        values = _known(cls, data)
        if values.get("command") is not None:
            values["command"] = tuple(str(part) for part in values["command"])
        else:
            values.pop("command", None)
        return cls(**values)


@dataclass(frozen=True)
class JudgeSpec:
    """One judge slot (`judges:` in the config)."""

    slot: int
    adapter: str = "claude-code"
    cli: str = "claude"
    timeout: float = 300
    model: str | None = None
    rate_limit_backoff: float = 30

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> JudgeSpec:
        values = _known(cls, data)
        values["slot"] = int(values["slot"])
        return cls(**values)

    @property
    def name(self) -> str:
        """What judgments and reports call this judge: its model, or its adapter."""
        return self.model or self.adapter

    @property
    def calls_nothing(self) -> bool:
        """A judge that makes no call and starts no process: `checks` scores the rubric's
        automated checks (checks.json). Its job runs in one of Snakemake's threads."""
        return self.adapter == "checks"


@dataclass(frozen=True)
class TaskSpec:
    """The task, resolved: its prompt and rubric inline, its repository and commit."""

    repo: str
    commit: str = "HEAD"
    prompt: str = ""
    rubric: str = ""
    solution: str = ""  # the reference solution patch (the oracle adapter applies it)
    source_digest: str | None = None  # a plain-directory repo: its content digest

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> TaskSpec:
        return cls(**_known(cls, data))

    @property
    def identity(self) -> dict[str, Any]:
        """What makes the prepared task repository this task's (its cache key)."""
        return {"repo": self.repo, "commit": self.commit, "source_digest": self.source_digest}


@dataclass(frozen=True)
class SubtestSpec:
    """One subtest of a tier, resolved: the files it puts into the workspace, and how the
    agent is started there."""

    files: Mapping[str, str] = field(default_factory=dict)  # workspace path: content
    model: str | None = None
    system_prompt: str | None = None  # default | empty | the prompt text
    agent_name: str | None = None
    description: str = ""

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> SubtestSpec:
        return cls(**_known(cls, data))


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def defaults(cls: type, names: tuple[str, ...]) -> dict[str, Any]:
    """The record's defaults for `names`, as the mapping the resolver merges under a config."""
    out = {}
    for f in fields(cls):
        if f.name in names:
            factory = f.default_factory
            out[f.name] = factory() if factory is not MISSING else f.default
    return out


# The settings a resolved config always spells out (part of every saved config and meaning):
# changing this list or these defaults changes what existing results mean.
AGENT_RESOLVED = ("adapter", "cli", "model", "timeout", "max_turns", "env", "rate_limit_backoff")
JUDGE_RESOLVED = ("adapter", "cli", "timeout")
