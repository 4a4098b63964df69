"""Find the judgment object in an LLM answer: bare JSON, a ```json fence, or JSON amid prose."""

from __future__ import annotations

import json
import re
from typing import Any

FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


def _objects_in(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object that decodes, scanning from each '{'."""
    decoder = json.JSONDecoder()
    found = []
    i = text.find("{")
    while i != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        i = text.find("{", end)
    return found


def extract_json(text: str) -> dict[str, Any] | None:
    """The judgment object in `text`, or None. Prefers fenced blocks, then a `score` key."""
    candidates: list[dict[str, Any]] = []
    for block in FENCE.findall(text):
        candidates += _objects_in(block)
    candidates += _objects_in(text)
    with_score = [c for c in candidates if "score" in c]
    return with_score[0] if with_score else None


def validate(obj: dict[str, Any] | None, pass_threshold: float) -> tuple[dict | None, str]:
    """Normalise a parsed answer; (None, reason) when it is not a usable judgment."""
    if obj is None:
        return None, "no JSON object with a score in the answer"
    score = obj.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None, f"score is not a number: {score!r}"
    if not 0.0 <= float(score) <= 1.0:
        return None, f"score out of range 0..1: {score}"
    passed = obj.get("passed")
    if not isinstance(passed, bool):
        passed = float(score) >= pass_threshold
    categories = obj.get("categories", obj.get("criteria_scores", {}))
    return {
        "score": float(score),
        "passed": passed,
        "reasoning": str(obj.get("reasoning", "")),
        "criteria_scores": categories if isinstance(categories, dict) else {},
    }, ""
