"""Run the rubric's check commands in a workspace, and score them deterministically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scylla.judging.rubric import Rubric
from scylla.util import process

CHECK_TIMEOUT_SECONDS = 120.0
OUTPUT_TAIL = 4000


def run_checks(
    rubric: Rubric,
    workspace: Path,
    timeout: float = CHECK_TIMEOUT_SECONDS,
    tools: str | None = None,
) -> dict:
    """{item_id: {command, exit_code, passed, output, duration_seconds, timed_out}}

    `tools`: a software environment (the rule's conda env) whose bin/ goes first on PATH."""
    env = process.base_env(
        PYTHONDONTWRITEBYTECODE="1", GIT_CEILING_DIRECTORIES=str(workspace.resolve().parent)
    )
    if tools:
        env["PATH"] = process.prepend_path(str(Path(tools) / "bin"), env["PATH"])
    results: dict[str, Any] = {}
    for item in rubric.command_items:
        if not workspace.is_dir():
            results[item.id] = {"command": item.command, "passed": False, "error": "no workspace"}
            continue
        res = process.run(
            ["bash", "-c", str(item.command)], cwd=workspace, env=env, timeout=timeout, grace=2
        )
        output = (res.stdout + res.stderr)[-OUTPUT_TAIL:]
        results[item.id] = {
            "command": item.command,
            "exit_code": res.exit_code,
            "passed": res.exit_code == 0 and not res.timed_out,
            "output": output,
            "duration_seconds": res.duration_seconds,
            "timed_out": res.timed_out,
        }
    return results


def score(rubric: Rubric, results: dict[str, Any]) -> dict[str, Any]:
    """Checklist points of the command items; categories weighted as in the rubric."""
    categories: dict[str, Any] = {}
    weighted, weights = 0.0, 0.0
    for cat in rubric.categories:
        items = {}
        achieved = maximum = 0.0
        for item in cat.items:
            if not item.command:
                continue
            ok = bool(results.get(item.id, {}).get("passed"))
            got = item.points if ok else 0.0
            achieved += got
            maximum += item.points
            items[item.id] = {
                "achieved": got,
                "max": item.points,
                "reason": f"`{item.command}` {'passed' if ok else 'failed'}",
            }
        if not items:
            continue
        cat_score = achieved / maximum if maximum else 0.0
        categories[cat.name] = {
            "achieved": achieved,
            "max": maximum,
            "score": cat_score,
            "items": items,
        }
        weighted += cat.weight * cat_score
        weights += cat.weight
    total = weighted / weights if weights else 0.0
    return {"score": total, "categories": categories, "valid": bool(categories)}
