"""A run's current agent attempt, read by every step and command that works on the run.

Its record (attempt.json) is scylla's own bookkeeping: when it is damaged it is rebuilt from
the attempt's files (timing.json holds the meaning, command_log.json the call, stdout.log the
cost), so restoring a promoted copy or adopting the attempt still works.
"""

from __future__ import annotations

from scylla import records
from scylla.agents.claude_json import parse_usage
from scylla.layout import paths
from scylla.recovery import attempts
from scylla.util import jsonio


def rebuild_record(rp: paths.RunPaths, att: attempts.Attempt) -> bool:
    """A damaged attempt.json made again from the attempt's own files (its timing.json holds
    the meaning, command_log.json the call, stdout.log the cost). False when they cannot."""
    rel = paths.AGENT_FILES
    timing = records.read(att.path(rel["timing"]), records.valid_timing)
    log = records.read(att.path(rel["command_log"]), records.valid_command_log)
    if timing is None or log is None or "meaning" not in timing:
        return False
    cmd = log["commands"][-1]
    stdout = jsonio.read_text(att.path(rel["stdout"]))
    usage = parse_usage(stdout, int(cmd["exit_code"]))
    att.record.update(
        kind="agent",
        number=att.number,
        state=attempts.FINISHED,
        meaning=timing["meaning"],
        key="",
        exit_code=int(cmd["exit_code"]),
        cost_usd=usage.cost_usd,
        rebuilt_at=attempts.now(),
        call={
            "argv": cmd.get("command", []),
            "cwd": cmd.get("cwd", ""),
            "exit_code": int(cmd["exit_code"]),
            "duration_seconds": cmd.get("duration_seconds", 0.0),
            "timed_out": bool(cmd.get("timed_out", timing.get("timed_out", False))),
            "leftover_processes": 0,
            "agent_duration_seconds": timing["agent_duration_seconds"],
            "measured_at": timing.get("measured_at", attempts.now()),
            "env_vars": cmd.get("env_vars", {}),
            "configured_env": {},
        },
    )
    promoted = records.read(rp.agent_timing, records.valid_timing)
    if promoted is not None and promoted.get("attempt") == att.number:
        att.record["promoted_at"] = att.record["rebuilt_at"]
        att.record["files"] = {
            r: attempts.file_facts(att.path(r)) for r in rp.agent_copies if att.path(r).is_file()
        }
    att.save()
    return True


def current(rp: paths.RunPaths) -> attempts.Attempt | None:
    """The run's newest agent attempt; a damaged record is rebuilt from its files first."""
    att = attempts.current(rp.attempts)
    if att is not None and att.corrupt:
        with attempts.locked(rp.attempts):
            rebuild_record(rp, att)
    return att
