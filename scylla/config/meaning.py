"""What a run, a judge slot and a judge prompt *mean*: digests that decide re-runs.

A meaning is a digest plus the digests of its named parts (model, prompt, task, resources,
...), so a change can be explained ("model changed") before anything runs. The digest is a
Snakemake `params` value: a change re-runs exactly the affected jobs, and every paid attempt
records the meaning it was made under (attempt.json, timing.json, judgment.json).

Formatting-only edits change nothing: YAML is compared as parsed data (comments, key order and
quoting do not count), text as its lines without trailing whitespace and trailing blank lines.

Version 1 is the formula of the first release (raw text, one digest). Results directories
written by it keep it (config/scylla.json without `meaning_version`), so upgrading scylla does
not re-run their agents or judges; new directories use the current version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scylla.util import hashing
from scylla.util.secrets import redact_secret_names

if TYPE_CHECKING:
    from scylla.config import Experiment

CURRENT_VERSION = 2
LEGACY_VERSION = 1
# Execution limits: raising a timeout must not throw finished work away.
AGENT_LIMITS = ("timeout", "rate_limit_backoff", "max_cost_usd_per_run")
JUDGE_LIMITS = ("timeout", "slot", "rate_limit_backoff")

REASONS = {
    "model": "model changed",
    "prompt": "prompt changed",
    "task": "task changed",
    "resources": "subtest resources changed",
    "agent": "agent settings changed",
    "judge": "judge settings changed",
    "rubric": "rubric changed",
    "system": "judge system prompt changed",
}


@dataclass(frozen=True)
class Meaning:
    digest: str
    parts: dict[str, str] = field(default_factory=dict)
    version: int = CURRENT_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "parts": dict(self.parts), "version": self.version}

    @classmethod
    def from_dict(cls, data: Any) -> Meaning | None:
        if not isinstance(data, dict) or not isinstance(data.get("digest"), str):
            return None
        raw = data.get("parts")
        parts: dict[str, str] = raw if isinstance(raw, dict) else {}
        return cls(data["digest"], dict(parts), int(data.get("version", CURRENT_VERSION)))


def normalize_text(text: str) -> str:
    """Text as far as meaning goes: lines without trailing whitespace, no trailing blank lines."""
    return "\n".join(line.rstrip() for line in str(text).splitlines()).strip("\n")


@functools.lru_cache(maxsize=16)
def canonical_yaml(text: str) -> Any:
    """YAML as parsed data (comments, key order, quoting and layout do not count). Parsed
    once per text in a process: the data is shared, only ever digested, never changed."""
    import yaml  # lazily: most commands never compute a meaning

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return normalize_text(text)


def _of(parts: dict[str, Any], version: int) -> Meaning:
    digests = {k: hashing.digest(v) for k, v in parts.items()}
    return Meaning(hashing.digest(digests), digests, version)


def _resources(sub: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in sub.items() if k not in ("description", "model", "files")}
    out["files"] = {k: normalize_text(v) for k, v in (sub.get("files") or {}).items()}
    return out


def agent(exp: Experiment, tier: str, subtest: str) -> Meaning:
    """The meaning of every run of one subtest (model, prompt, task, resources, settings)."""
    settings = exp.agent_for(tier, subtest)
    if exp.meaning_version == LEGACY_VERSION:
        legacy = {k: v for k, v in settings.items() if k not in AGENT_LIMITS}
        legacy["env"] = redact_secret_names(legacy.get("env", {}))
        sub = {k: v for k, v in exp.subtest(tier, subtest).items() if k != "description"}
        whole = {"agent": legacy, "task": exp.task_meaning(), "subtest": sub}
        return Meaning(hashing.digest(whole), {}, LEGACY_VERSION)
    task = exp.task_meaning()
    rest = {k: v for k, v in settings.items() if k not in (*AGENT_LIMITS, "model")}
    # env: its names only. Every value may be a secret (scylla.util.secrets): no digest of one is
    # recorded, and a saved (redacted) configuration means the same as the one that ran.
    rest["env"] = sorted(rest.get("env") or {})
    return _of(
        {
            "model": settings.get("model"),
            "prompt": normalize_text(task["prompt"]),
            "task": {"source": task["source"], "commit": task["commit"]},
            "resources": _resources(exp.subtest(tier, subtest)),
            "agent": rest,
        },
        exp.meaning_version,
    )


def judge(exp: Experiment, slot: str | int) -> Meaning:
    """The meaning of one judge slot's judgments (its model and settings, rubric, system)."""
    settings = {k: v for k, v in exp.judge(slot).items() if k not in JUDGE_LIMITS}
    rubric, system = exp.task["rubric"], exp.data["judge_system_prompt"]
    if exp.meaning_version == LEGACY_VERSION:
        whole = {"judge": settings, "rubric": rubric, "system": system}
        return Meaning(hashing.digest(whole), {}, LEGACY_VERSION)
    return _of(
        {
            "model": settings.get("model"),
            "judge": {k: v for k, v in settings.items() if k != "model"},
            "rubric": canonical_yaml(rubric),
            "system": normalize_text(system),
        },
        exp.meaning_version,
    )


def judge_prompt(exp: Experiment) -> Meaning:
    """The meaning of a run's judge prompt (the rubric and the task prompt in it)."""
    rubric, prompt = exp.task["rubric"], exp.task["prompt"]
    if exp.meaning_version == LEGACY_VERSION:
        return Meaning(hashing.digest({"rubric": rubric, "prompt": prompt}), {}, LEGACY_VERSION)
    return _of(
        {"rubric": canonical_yaml(rubric), "prompt": normalize_text(prompt)},
        exp.meaning_version,
    )


def changes(recorded: Meaning | None, current: Meaning) -> list[str]:
    """Why `recorded` differs from `current` ([] when it does not, or nothing was recorded)."""
    if recorded is None or recorded.digest == current.digest:
        return []
    if recorded.version != current.version or not recorded.parts:
        return ["meaning changed"]
    keys = sorted(set(recorded.parts) | set(current.parts))
    return [
        REASONS.get(k, f"{k} changed")
        for k in keys
        if recorded.parts.get(k) != current.parts.get(k)
    ] or ["meaning changed"]
