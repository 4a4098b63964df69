"""Rule `agent_result`: agent/result.json parsed from the agent's logs only (cheap, repeatable).

It refuses to derive from corrupt logs: a damaged promoted copy is first put back from the
agent's attempt (integrity.py); a log that is still not a valid record stops the job with a
message naming the file, instead of turning a successful run into `exit_code -1`.
"""

from __future__ import annotations

from scylla import records
from scylla.agents import get_adapter
from scylla.config.specs import AgentSpec
from scylla.layout.paths import RunPaths
from scylla.recovery import integrity
from scylla.util import jsonio


def build(rp: RunPaths, agent: AgentSpec) -> records.AgentResult:
    integrity.heal_agent_files(rp)
    log = records.read(rp.agent_command_log, records.valid_command_log)
    if log is None:
        raise records.CorruptInput(
            f"{rp.agent_command_log} is missing or corrupt and no attempt holds an intact copy; "
            "re-run this run's agent (scylla rerun agents)"
        )
    timing = records.read(rp.agent_timing, records.valid_timing)
    if timing is None:
        raise records.CorruptInput(f"{rp.agent_timing} is missing or corrupt")
    stdout = jsonio.read_text(rp.agent_stdout)
    stderr = jsonio.read_text(rp.agent_stderr)
    exit_code = int(log["commands"][-1]["exit_code"])
    usage = get_adapter(agent).parse(stdout, stderr, exit_code)
    return records.AgentResult(
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        token_stats=records.TokenStats.from_dict(usage.token_stats),
        # null, never 0, when the CLI left no final answer to read it from
        cost_usd=usage.cost_usd if usage.cost_known else None,
        cost_known=usage.cost_known,
        api_calls=usage.api_calls,
        is_error=usage.is_error or exit_code != 0,
        subtype=usage.subtype,
        timed_out=bool(timing.get("timed_out", False)),
        session_id=usage.session_id,
        adapter=agent.adapter,
        model=agent.model,
    )


def write(rp: RunPaths, agent: AgentSpec) -> None:
    build(rp, agent).write(rp.agent_result)
