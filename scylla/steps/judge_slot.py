"""Rule `judge`: one judge slot of one run -> judge/judge_NN/{judgment.json, response.txt, ...}.

Each call is an attempt (judge/judge_NN/attempts/<j>/, see attempts.py) that writes its files
there and promotes copies. Outcomes: a valid judgment; an invalid one (unparseable twice,
timeout; score 0, grade F, is_valid false, raw response kept); agent_failed (the agent left
nothing to judge: no LLM call is made). Infrastructure errors raise so Snakemake retries the
job. A finished call on the same prompt, under the same meaning, is adopted, never paid twice.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from scylla import records, spend
from scylla.agents.base import InfraError, backoff_seconds
from scylla.config import Experiment, meaning
from scylla.config.specs import JudgeSpec
from scylla.judging import checks, llm, rubric
from scylla.judging.grading import grade_for
from scylla.judging.parse import extract_json, validate
from scylla.layout import paths
from scylla.layout.paths import JudgePaths, RunPaths
from scylla.recovery import attempts, failures
from scylla.recovery.agent_attempt import current
from scylla.util import joblog, jsonio, procs

SYSTEM_PROMPT = paths.JUDGE_SYSTEM_PROMPT
PROMPT_COPY = paths.JUDGE_PROMPT
STDERR = paths.JUDGE_STDERR


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
    return failures.agent_failed({}, jsonio.read_text(rp.agent_output))


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


def from_response(response: str, pass_threshold: float) -> dict[str, Any] | None:
    """A judgment made from an LLM answer (the same parsing as the live call), or None."""
    judgment, _error = validate(extract_json(response), pass_threshold)
    if judgment is None:
        return None
    return {
        **judgment,
        "grade": grade_for(judgment["score"]),
        "is_valid": True,
        "status": "complete",
    }


def _llm_judgment(
    exp: Experiment,
    cfg: JudgeSpec,
    rp: RunPaths,
    jp: JudgePaths,
    att: attempts.Attempt,
    rub: rubric.Rubric,
) -> tuple[dict[str, Any], dict[str, Any]]:
    system = att.path(SYSTEM_PROMPT)
    jsonio.write_text(system, exp.judge_system_prompt + "\n")
    verdict = llm.judge(
        cfg,
        jsonio.read_text(rp.judge_prompt),
        system,
        jp.dir,
        rub.pass_threshold,
        marker_env={procs.ATTEMPT_VAR: att.marker},
    )
    jsonio.write_text(att.path(paths.JUDGE_FILES["response"]), verdict.response)
    jsonio.write_text(att.path(paths.JUDGE_FILES["stdout"]), verdict.stdout)
    jsonio.write_text(att.path(STDERR), verdict.stderr)
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
            k: sum(u.token_stats[k] for u in verdict.usages) for k in records.TOKEN_KEYS
        },
        "cost_usd": sum(u.cost_usd for u in verdict.usages),
    }
    return judgment, extra


def prompt_key(rp: RunPaths) -> str:
    """What a judgment is made from: the agent attempt and the exact judge prompt."""
    att = current(rp)
    number = att.number if att is not None else 0
    prompt = rp.judge_prompt
    digest = attempts.sha256(prompt)[:16] if prompt.is_file() else "-"
    return f"agent-attempt:{number}:prompt:{digest}"


def run_slot(
    exp: Experiment,
    rp: RunPaths,
    slot: str,
    attempt: int = 1,
    log: Path | None = None,
    ep: paths.ExperimentPaths | None = None,
) -> None:
    cfg = exp.judge_spec(slot)
    jp = rp.judge_slot(slot)

    def say(msg: str) -> None:
        if log is not None:
            joblog.append(log, msg)

    from scylla.recovery import integrity

    for rel in integrity.heal_agent_files(rp):
        say(f"restored {rel} from the agent's attempt")
    wanted = meaning.judge(exp, slot)
    key = prompt_key(rp)
    for old in attempts.listing(jp.attempts):
        if old.corrupt and rebuild_record(jp, old, key):
            say(f"judge attempt {old.number}: its damaged record was rebuilt from its files")
    budget = 2 * float(cfg.timeout) + 120
    got = attempts.claim(
        jp.attempts,
        "judge",
        wanted,
        key,
        budget,
        say,
        before_begin=lambda: spend.refuse_over_cap(ep, exp) if ep is not None else None,
    )
    att = got.attempt
    if got.adopted:
        say(f"adopting judge attempt {att.number}: it finished earlier; no new judge call")
        attempts.promote(jp.attempts, att, jp.copies)
        return
    if att.lease_process() is not None:  # this job's own process is part of the attempt too
        os.environ[procs.ATTEMPT_VAR] = att.marker
    with attempts.Heartbeat(att):
        try:
            judgment, extra = _judge(exp, cfg, rp, jp, att, slot, attempt)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                if isinstance(exc, InfraError):
                    att.update(
                        state=attempts.FAILED,
                        ended_at=attempts.now(),
                        error=exc.message,
                        failure_kind=exc.kind,
                    )
                    if ep is not None:
                        spend.record(ep, att)
                else:
                    att.update(
                        state=attempts.INTERRUPTED,
                        ended_at=attempts.now(),
                        error=attempts.stop_reason(exc),
                    )
            raise
        att.update(
            state=attempts.FINISHED,
            ended_at=attempts.now(),
            cost_usd=extra.get("cost_usd", 0.0),
            is_valid=judgment["is_valid"],
        )
        if ep is not None:
            spend.record(ep, att)
    attempts.promote(jp.attempts, att, jp.copies)


def _judge(
    exp: Experiment,
    cfg: JudgeSpec,
    rp: RunPaths,
    jp: JudgePaths,
    att: attempts.Attempt,
    slot: str,
    attempt: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    rub = rubric.parse(exp.task_spec.rubric)
    start = time.monotonic()
    if rp.judge_prompt.is_file():  # the evidence this judgment was made from, kept with it
        attempts.copy_atomic(rp.judge_prompt, att.path(PROMPT_COPY))
    extra: dict[str, Any] = {"attempts": 0, "token_stats": {}, "cost_usd": 0.0}
    if agent_left_nothing(rp):
        judgment = _invalid("the agent left no output to judge", "agent_failed")
    elif cfg.calls_nothing:
        judgment = _checks_judgment(rp, rub)
    else:
        try:
            judgment, extra = _llm_judgment(exp, cfg, rp, jp, att, rub)
        except InfraError as exc:
            if exc.kind == "rate_limit":
                time.sleep(backoff_seconds(cfg.rate_limit_backoff, attempt))
            raise
    for name in (paths.JUDGE_FILES["response"], paths.JUDGE_FILES["stdout"], STDERR):
        if not att.path(name).exists():
            jsonio.write_text(att.path(name), "")
    if not att.path(SYSTEM_PROMPT).exists():
        jsonio.write_text(att.path(SYSTEM_PROMPT), exp.judge_system_prompt + "\n")
    duration = round(time.monotonic() - start, 6)
    jsonio.write_json(
        att.path(paths.JUDGE_FILES["timing"]),
        {"judge_duration_seconds": duration, "measured_at": attempts.now()},
    )
    judgment = {
        **judgment,
        **_identity(cfg),
        **extra,
        "judge_duration_seconds": duration,
        "attempt": att.number,
        "meaning": att.record["meaning"],
    }
    why_class, why = failures.of_judgment(judgment)
    judgment["failure_class"], judgment["failure_reason"] = why_class or None, why or None
    records.Judgment.from_dict(judgment).write(att.path(paths.JUDGE_FILES["judgment"]))
    return judgment, extra


def rebuild_record(jp: JudgePaths, att: attempts.Attempt, key: str) -> bool:
    """A damaged judge attempt.json made again from the attempt's judgment.json (its meaning
    and cost) and the prompt copy beside it. False when the judgment is not there either."""
    j = records.read(att.path(paths.JUDGE_FILES["judgment"]), records.valid_judgment)
    if j is None or not isinstance(j.get("meaning"), dict):
        return False
    prompt = att.path(PROMPT_COPY)
    if prompt.is_file():
        key = f"{key.rsplit(':prompt:', 1)[0]}:prompt:{attempts.sha256(prompt)[:16]}"
    with attempts.locked(jp.attempts):
        att.record.update(
            kind="judge",
            number=att.number,
            state=attempts.FINISHED,
            meaning=j["meaning"],
            key=key,
            cost_usd=float(j.get("cost_usd") or 0.0),
            is_valid=j["is_valid"],
            rebuilt_at=attempts.now(),
        )
        promoted = jp.judgment
        if promoted.is_file() and promoted.read_bytes() == att.path(promoted.name).read_bytes():
            att.record["promoted_at"] = att.record["rebuilt_at"]
            att.record["files"] = {
                r: attempts.file_facts(att.path(r)) for r in jp.copies if att.path(r).is_file()
            }
        att.save()
    return True


def repair_judgment(exp: Experiment, rp: RunPaths, slot: str) -> str | None:
    """A judgment.json that is missing-but-paid-for or corrupt, made good for free.

    From the slot's newest attempt: its own judgment.json copied back when intact, else a
    judgment re-derived from its response.txt. A first-release slot (no attempt) is re-derived
    from the response.txt beside it. Returns how it was repaired, or None when it could not be
    (a new judge call is then needed).
    """
    jp = rp.judge_slot(slot)
    if records.read(jp.judgment, records.valid_judgment) is not None:
        return None
    att = attempts.current(jp.attempts)
    rub = rubric.parse(exp.task_spec.rubric)
    if att is not None and att.state == attempts.FINISHED and not att.retired:
        own = records.read(att.path(paths.JUDGE_FILES["judgment"]), records.valid_judgment)
        if own is None:
            made = from_response(
                jsonio.read_text(att.path(paths.JUDGE_FILES["response"])), rub.pass_threshold
            )
            if made is None:
                return None
            damaged = att.path(paths.JUDGE_FILES["judgment"])
            if damaged.exists():  # the attempt's own damaged bytes are kept beside it
                os.replace(damaged, damaged.with_name(f"{damaged.name}.corrupt-{time.time_ns()}"))
            records.Judgment.from_dict(
                {
                    **_identity(exp.judge_spec(slot)),
                    **made,
                    **_call_facts(att),
                    "attempt": att.number,
                    "meaning": att.record.get("meaning"),
                    "rederived": True,
                }
            ).write(damaged)
            how = "re-derived from its response.txt"
        else:
            how = f"restored from judge attempt {att.number}"
        _set_aside(rp, jp)
        attempts.promote(jp.attempts, att, jp.copies)
        return how
    if att is None:
        made = from_response(jsonio.read_text(jp.response), rub.pass_threshold)
        if made is None:
            return None
        _set_aside(rp, jp)
        records.Judgment.from_dict(
            {**_identity(exp.judge_spec(slot)), **made, "rederived": True}
        ).write(jp.judgment)
        return "re-derived from response.txt"
    return None


def _call_facts(att: attempts.Attempt) -> dict[str, Any]:
    """What the judge calls of an attempt cost and took, read again from what they left:
    their JSON answers on stdout.log (one per call) and the attempt's timing.json."""
    from scylla.agents.claude_json import parse_usage

    answers = [
        line
        for line in jsonio.read_text(att.path(paths.JUDGE_FILES["stdout"])).splitlines()
        if line.lstrip().startswith("{") and '"type"' in line
    ]
    usages = [parse_usage(line, 0) for line in answers]
    timing = jsonio.read_json_object(att.path(paths.JUDGE_FILES["timing"])) or {}
    return {
        "attempts": len(usages),
        "token_stats": {k: sum(u.token_stats[k] for u in usages) for k in records.TOKEN_KEYS},
        "cost_usd": att.cost_usd if att.cost_usd is not None else sum(u.cost_usd for u in usages),
        "judge_duration_seconds": float(timing.get("judge_duration_seconds") or 0.0),
    }


def _identity(cfg: JudgeSpec) -> dict[str, Any]:
    return {"judge_number": cfg.slot, "model": cfg.name, "adapter": cfg.adapter}


def _set_aside(rp: RunPaths, jp: JudgePaths) -> None:
    from scylla.recovery import archive

    if jp.judgment.exists():
        archive.quarantine(rp.dir, [jp.judgment], "corrupt judgment.json")
