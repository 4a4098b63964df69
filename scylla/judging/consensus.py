"""Rule `consensus`: judge/result.json from the slots' judgments.

score = mean of valid judges; passed = strict majority of valid judges; grade from the score;
reasoning and criteria from the valid judge closest to the mean; is_valid only if every judge is
valid; agreement figures for the run. Invalid judgments never count as fails.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scylla import records
from scylla.judging.grading import grade_for
from scylla.layout import paths
from scylla.records import Consensus, Judgment
from scylla.util import jsonio


def _summary(j: Judgment, slot: str) -> dict[str, Any]:
    return {
        "slot": slot,
        "judge_number": int(slot),
        "model": j.model,
        "score": j.score,
        "passed": j.passed,
        "grade": j.grade,
        "is_valid": j.is_valid,
        "status": j.status,
        "reasoning": j.reasoning,
        "cost_usd": float(j.cost_usd or 0.0),
    }


def build(judgments: Mapping[str, Judgment | None]) -> Consensus:
    present = {s: j for s, j in judgments.items() if j is not None}
    valid = {s: j for s, j in present.items() if j.is_valid}
    scores = [float(j.score) for j in valid.values()]
    if valid:
        mean = statistics.fmean(scores)
        votes = sum(1 for j in valid.values() if j.passed)
        passed = votes * 2 > len(valid)
        closest = min(valid.values(), key=lambda j: abs(float(j.score) - mean))
        reasoning = closest.reasoning
        criteria = closest.criteria_scores
        agreement = {
            "n_judges": len(judgments),
            "n_valid": len(valid),
            "score_stdev": statistics.pstdev(scores) if len(scores) > 1 else 0.0,
            "score_range": max(scores) - min(scores),
            "pass_agreement": max(votes, len(valid) - votes) / len(valid),
            "grade_agreement": len({grade_for(s) for s in scores}) == 1,
        }
    else:
        mean, passed, reasoning, criteria = 0.0, False, "no valid judgment", {}
        agreement = {"n_judges": len(judgments), "n_valid": 0}
    statuses = {j.status for j in present.values()}
    return Consensus(
        score=mean,
        passed=passed,
        grade=grade_for(mean) if valid else "F",
        reasoning=reasoning,
        is_valid=bool(judgments) and len(valid) == len(judgments),
        criteria_scores=criteria,
        agent_failed=statuses == {"agent_failed"},
        agreement=agreement,
        judges=[_summary(j, s) for s, j in sorted(present.items())],
        cost_usd=sum(float(j.cost_usd or 0.0) for j in present.values()),
        judge_duration_seconds=sum(
            float(j.judge_duration_seconds or 0.0) for j in present.values()
        ),
    )


def read_judgment(path: Path) -> Judgment | None:
    """A slot's judgment.json; what the original tool kept beside it instead fills the gaps:
    the model from MODEL.md, the duration from the slot's timing.json."""
    j = Judgment.read(path)
    if j is None:
        return None
    if not j.model:
        j.model = records.model_md(path.parent / paths.MODEL_MD) or j.model
    if j.judge_duration_seconds is None:
        timing = jsonio.read_json_object(path.parent / paths.JUDGE_FILES["timing"]) or {}
        if isinstance(timing.get("judge_duration_seconds"), int | float):
            j.judge_duration_seconds = timing["judge_duration_seconds"]
    return j


def build_from(judgment_files: Mapping[str, Path]) -> Consensus:
    """A judgment that is not a valid record (no score, `{}`) counts as an invalid one."""
    return build({s: read_judgment(Path(p)) for s, p in judgment_files.items()})


def write(judgment_files: Mapping[str, Path], out: Path) -> None:
    build_from(judgment_files).write(out)
