"""Rule `run_result`: run_result.json from agent/result.json, timing and judge/result.json."""

from __future__ import annotations

from scylla import records
from scylla.layout.paths import RunPaths
from scylla.records import AgentResult, Consensus, RunResult
from scylla.recovery import failures
from scylla.util import jsonio


def build(
    rp: RunPaths,
    run_number: int,
    agent: AgentResult | None = None,
    judge: Consensus | None = None,
) -> RunResult:
    """Refuses corrupt inputs (records.CorruptInput): steps.run_result_ re-derives them first.
    `agent` and `judge`: the agent result and consensus when made in memory (an adopted run
    keeps the original tool's files as they are)."""
    agent = agent or AgentResult.read(rp.agent_result)
    timing = records.read(rp.agent_timing, records.valid_timing)
    judge = judge or Consensus.read(rp.consensus)
    for what, got, path in (
        ("agent result", agent, rp.agent_result),
        ("agent timing", timing, rp.agent_timing),
        ("consensus", judge, rp.consensus),
    ):
        if got is None:
            raise records.CorruptInput(f"{path} ({what}) is missing or corrupt")
    assert agent is not None and timing is not None and judge is not None
    tokens = agent.token_stats
    agent_cost = float(agent.cost_usd) if agent.cost_usd is not None else None  # a killed CLI
    judge_cost = float(judge.cost_usd or 0.0)
    agent_s = float(timing.get("agent_duration_seconds") or 0.0)
    judge_s = float(judge.judge_duration_seconds or 0.0)
    output = jsonio.read_text(rp.agent_output)
    as_read = agent.to_dict()
    failed = failures.agent_failed(as_read, output)
    why_class, why = failures.of_agent_result(as_read, output)
    if not why_class and not judge.is_valid:
        invalid = [j for j in judge.judges if not j.get("is_valid")]
        why_class, why = failures.JUDGE, f"{len(invalid)} judge(s) without a valid judgment"
    from scylla.recovery.status import spend_of

    attempt, attempts_made, earlier = spend_of(rp.dir)
    return RunResult(
        run_number=run_number,
        exit_code=agent.exit_code,
        token_stats=tokens,
        tokens_input=tokens.input_tokens + tokens.cache_read_tokens,
        tokens_output=tokens.output_tokens,
        cost_usd=agent_cost + judge_cost if agent_cost is not None else None,
        cost_known=agent_cost is not None,
        agent_cost_usd=agent_cost,
        judge_cost_usd=judge_cost,
        duration_seconds=agent_s + judge_s,
        agent_duration_seconds=agent_s,
        judge_duration_seconds=judge_s,
        api_calls=agent.api_calls,
        agent_failed=failed,
        # why this run is not a clean result: agent (a fail) or judge (reported apart)
        failure_class=why_class or None,
        failure_reason=why or None,
        timed_out=bool(agent.timed_out),
        judge_score=judge.score,
        judge_passed=bool(judge.passed),
        judge_grade=judge.grade,
        judge_reasoning=judge.reasoning,
        judge_valid=bool(judge.is_valid),
        criteria_scores=judge.criteria_scores or {},
        judges=[
            {k: j.get(k) for k in ("model", "score", "passed", "grade", "is_valid", "reasoning")}
            | {"judge_number": j.get("judge_number")}
            for j in judge.judges
        ],
        # Paid attempts that were replaced (re-runs, re-judging, failures) stay counted.
        attempt=attempt,
        attempts=max(attempts_made, 1),
        earlier_attempts_cost_usd=earlier,
    )


def write(rp: RunPaths, run_number: int) -> None:
    build(rp, run_number).write(rp.run_result)
