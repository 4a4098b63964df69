"""Rule `judge`: one judge slot of one run -> judge/judge_NN/{judgment.json, response.txt, ...}.

Outcomes: a valid judgment; an invalid one (unparseable twice, timeout; score 0, grade F,
is_valid false, raw response kept); agent_failed (the agent left nothing to judge: no LLM
call is made). Infrastructure errors raise so Snakemake retries the job.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from scylla import checks, jsonio, rubric
from scylla.adapters.base import InfraError, backoff_seconds
from scylla.config import Experiment
from scylla.grading import grade_for
from scylla.judges import llm
from scylla.paths import JudgePaths, RunPaths
from scylla.run_result import agent_failed


def _invalid(error: str, status: str) -> dict[str, Any]:
    return {
        "score": 0.0,
        "passed": False,
        "grade": "F",
        "reasoning": error,
        "is_valid": False,
        "criteria_scores": {},
        "status": status,
        "error": error,
    }


def agent_left_nothing(rp: RunPaths) -> bool:
    """Judged from the output alone: judges do not depend on agent/result.json."""
    return agent_failed({}, jsonio.read_text(rp.agent_output))


def _checks_judgment(rp: RunPaths, rub: rubric.Rubric) -> dict[str, Any]:
    results = jsonio.read_json_object(rp.checks)
    if results is None:
        return _invalid("checks.json missing or corrupt", "invalid")
    scored = checks.score(rub, results)
    if not scored["valid"]:
        return _invalid("the rubric has no items with a command", "invalid")
    passed_items = sum(1 for r in results.values() if r.get("passed"))
    return {
        "score": scored["score"],
        "passed": scored["score"] >= rub.pass_threshold,
        "grade": grade_for(scored["score"]),
        "reasoning": f"{passed_items}/{len(results)} automated checks passed.",
        "is_valid": True,
        "criteria_scores": scored["categories"],
        "status": "complete",
    }


def _llm_judgment(
    exp: Experiment, cfg: dict[str, Any], rp: RunPaths, jp: JudgePaths, rub: rubric.Rubric
) -> tuple[dict[str, Any], dict[str, Any]]:
    jsonio.write_text(jp.system_prompt, exp.data["judge_system_prompt"] + "\n")
    verdict = llm.judge(
        cfg, jsonio.read_text(rp.judge_prompt), jp.system_prompt, jp.dir, rub.pass_threshold
    )
    jsonio.write_text(jp.response, verdict.response)
    jsonio.write_text(jp.stdout, verdict.stdout)
    jsonio.write_text(jp.stderr, verdict.stderr)
    if verdict.judgment is None:
        judgment = _invalid(verdict.error, "timeout" if verdict.timed_out else "invalid")
    else:
        judgment = {
            **verdict.judgment,
            "grade": grade_for(verdict.judgment["score"]),
            "is_valid": True,
            "status": "complete",
        }
    extra = {
        "attempts": verdict.attempts,
        "token_stats": {
            k: sum(u.token_stats[k] for u in verdict.usages)
            for k in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
        },
        "cost_usd": sum(u.cost_usd for u in verdict.usages),
    }
    return judgment, extra


def run_slot(exp: Experiment, rp: RunPaths, slot: str, attempt: int = 1) -> None:
    cfg = exp.judge(slot)
    jp = rp.judge_slot(slot)
    jp.dir.mkdir(parents=True, exist_ok=True)
    rub = rubric.parse(exp.task["rubric"])
    start = time.monotonic()
    extra: dict[str, Any] = {"attempts": 0, "token_stats": {}, "cost_usd": 0.0}
    if agent_left_nothing(rp):
        judgment = _invalid("the agent left no output to judge", "agent_failed")
    elif cfg["adapter"] == "checks":
        judgment = _checks_judgment(rp, rub)
    else:
        try:
            judgment, extra = _llm_judgment(exp, cfg, rp, jp, rub)
        except InfraError as exc:
            if exc.kind == "rate_limit":
                time.sleep(backoff_seconds(cfg.get("rate_limit_backoff", 30), attempt))
            raise
    for path in (jp.response, jp.stdout):
        if not path.exists():
            jsonio.write_text(path, "")
    duration = round(time.monotonic() - start, 6)
    jsonio.write_json(
        jp.timing,
        {"judge_duration_seconds": duration, "measured_at": datetime.now(UTC).isoformat()},
    )
    jsonio.write_json(
        jp.judgment,
        {
            **judgment,
            "judge_number": int(slot),
            "model": cfg.get("model", cfg["adapter"]),
            "adapter": cfg["adapter"],
            **extra,
            "judge_duration_seconds": duration,
        },
    )
