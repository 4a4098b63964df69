"""Killed schedulers and signals: paid work is finished or adopted, never paid twice, never
overwritten by a late writer, and no process outlives recovery."""

from __future__ import annotations

import base64
import json
import os
import signal
import time

import helpers as h
from helpers import faults as f

from scylla.recovery import archive, attempts
from scylla.util import procs

SLOW = ("T0", "00", 1)
OTHERS = [k for k in f.RUNS if k != SLOW]


def _agent_running(wd, key):
    """The stand-in agent of `key` has started (its call is logged) and still runs."""
    return any(
        c["role"] == "agent" and f"/{key[0]}/{key[1]}/run_{key[2]:02d}/" in c["cwd"]
        for c in f.calls(wd)
    ) and bool(h.processes_under(f.rp(wd, key).dir, "claude-standin"))


def _fresh(tree, key):
    """Retire one finished run (what `scylla rerun agents` does first) so the next run
    re-runs its agent."""
    archive.archive_run(f.rp(tree, key), "fault test: run it again")


def _agent_calls(case, key):
    return [
        c
        for c in case.new_calls()
        if c["role"] == "agent" and f"/run_{key[2]:02d}/" in c["cwd"] and f"/{key[1]}/" in c["cwd"]
    ]


def _kill_the_scheduler_mid_agent(tree, slow: float) -> None:
    """SLOW's agent runs again, answering after `slow` s; `kill -9` of snakemake alone while
    it runs (its job shells and steps live on)."""
    _fresh(tree, SLOW)
    f.modes(tree, SLOW, "slow")
    bg = f.start(tree, "run", f.CONFIG, env={"CLAUDE_STANDIN_SLOW": str(slow)})
    f.wait_for("the slow agent runs", lambda: _agent_running(tree, SLOW), 60, bg)
    (smk,) = f.schedulers(tree)
    os.kill(smk, signal.SIGKILL)
    bg.wait(timeout=30)


def test_kill9_of_the_scheduler_alone_the_orphan_finishes_and_is_adopted(tree):
    """Reproduction 1: after kill -9 of snakemake its jobs run on (parent PID 1). Recovery
    (repair, then rerun agents --status partial) must neither start a second agent nor let the
    orphan overwrite anything: its job finishes, promotes, and the new job adopts it."""
    case = f.Case("kill -9 snakemake mid-agent (jobs live on)", tree, protect=OTHERS)
    # long enough to outlive the recovery commands on a loaded machine: the orphan must
    # still be running when `rerun` looks, so that its new job waits for it and adopts it
    _kill_the_scheduler_mid_agent(tree, slow=20)
    assert not f.schedulers(tree)
    repair = f.ok(f.scylla(tree, "repair", "results/mini"))
    assert "attempts still running without a scheduler: 1" in repair.stdout, repair.stdout
    rerun = f.ok(f.scylla(tree, "rerun", "agents", "results/mini", "--status", "partial"))
    run = f.rp(tree, SLOW)
    # one agent call only: the orphan's; the new job waited for it and adopted its attempt
    assert len(_agent_calls(case, SLOW)) == 1, case.new_calls()
    assert attempts.numbers(run.attempts) == [1, 2]  # 1: retired by the test; 2: the orphan
    att = attempts.read(run.attempts / "2")
    assert att.state == "finished" and att.record.get("adopted_at")
    # what is promoted is that attempt's bytes, and the results agree with it
    for rel in ("agent/stdout.log", "agent/output.txt", "agent/command_log.json"):
        assert (run.dir / rel).read_bytes() == (att.dir / rel).read_bytes(), rel
    result = json.loads(run.agent_result.read_text())
    assert result["stdout"] == (att.dir / "agent/stdout.log").read_text()
    assert rerun.returncode == 0
    rows = h.by_run(
        json.loads(f.ok(f.scylla(tree, "status", "results/mini", "--format", "json")).stdout)
    )
    assert {r["status"] for r in rows.values()} <= {"completed", "failed"}
    case.close("orphan finished; adopted, 0 extra calls")


def test_kill9_of_the_whole_job_group_ends_the_orphan_agent(tree):
    """Reproductions 1 and 12: kill -9 of snakemake and its job processes leaves the agent
    CLI running (a session of its own) with a detached child that writes late by absolute
    path. Recovery ends the orphans, and the late write lands only in the dead attempt."""
    case = f.Case("kill -9 of snakemake's process group mid-agent", tree, protect=OTHERS)
    _fresh(tree, SLOW)
    f.modes(tree, SLOW, "late_write")
    # the CLI answers after 60 s: it is still running when recovery ends it (an answer
    # before that would be salvaged, not interrupted)
    slow = {"CLAUDE_STANDIN_LATE": "3", "CLAUDE_STANDIN_SLOW": "60"}
    bg = f.start(tree, "run", f.CONFIG, env=slow)
    f.wait_for("the first attempt's agent runs", lambda: _agent_running(tree, SLOW), 60, bg)
    run = f.rp(tree, SLOW)
    (smk,) = f.schedulers(tree)
    os.killpg(os.getpgid(smk), signal.SIGKILL)
    os.killpg(bg.pid, signal.SIGKILL)
    bg.wait(timeout=30)
    f.ok(f.scylla(tree, "repair", "results/mini"))
    f.ok(f.scylla(tree, "run", f.CONFIG))
    time.sleep(4)  # past the late writer's moment
    dead = attempts.read(run.attempts / "2")
    assert dead.state == "interrupted", dead.record
    current = json.loads(run.agent_timing.read_text())["attempt"]
    assert current == 3
    new_ws = run.attempts / "3" / "workspace"
    assert not (new_ws / "late.txt").exists()
    assert "late.txt" not in run.diff.read_text() and "late.txt" not in run.judge_prompt.read_text()
    case.close("orphans ended; late write only in its own attempt")


def test_sigterm_to_scylla_run_finishes_the_running_agent_and_stops(tree):
    """Reproduction 10: SIGTERM to `scylla run` reaches snakemake, which lets the running
    agent finish (paid work kept, no incomplete marker) and starts nothing new."""
    case = f.Case("SIGTERM to scylla run mid-agent", tree, protect=OTHERS)
    _fresh(tree, SLOW)
    f.modes(tree, SLOW, "slow")
    bg = f.start(tree, "run", f.CONFIG, env={"CLAUDE_STANDIN_SLOW": "4"})
    f.wait_for("the slow agent runs", lambda: _agent_running(tree, SLOW), 60, bg)
    os.kill(bg.pid, signal.SIGTERM)
    bg.wait(timeout=60)
    log = (tree / "bg.log").read_text()
    assert "scylla: stopping" in log, log
    # a stop on purpose reads like one: no failure message, no repeated chatter
    assert "WorkflowError" not in log and "exited with status" not in log, log
    assert log.count("Will exit after finishing currently running jobs") <= 1, log
    assert not f.schedulers(tree)
    run = f.rp(tree, SLOW)
    assert json.loads(run.agent_timing.read_text())["attempt"] == 2  # finished and promoted
    f.ok(f.scylla(tree, "run", f.CONFIG))
    assert len(_agent_calls(case, SLOW)) == 1
    case.close("graceful stop; agent kept; 0 extra calls")


def test_ctrl_c_twice_interrupts_and_the_next_run_recovers(tree):
    """Ctrl-C (twice): the running agent is interrupted, its attempt kept; status explains;
    `scylla run` finishes it."""
    case = f.Case("Ctrl-C twice mid-agent", tree, protect=OTHERS)
    _fresh(tree, SLOW)
    f.modes(tree, SLOW, "hang")
    # started the way `scylla run &` starts from a script: SIGINT ignored, and inherited
    bg = f.start(tree, "run", f.CONFIG, sigint_ignored=True)
    f.wait_for("the hanging agent runs", lambda: _agent_running(tree, SLOW), 60, bg)
    os.kill(bg.pid, signal.SIGINT)
    time.sleep(1)
    os.kill(bg.pid, signal.SIGINT)
    bg.wait(timeout=60)
    log = (tree / "bg.log").read_text()
    assert "Traceback" not in log, log
    assert "interrupting the running jobs" in log and "scylla run` resumes" in log, log
    rows = h.by_run(
        json.loads(f.ok(f.scylla(tree, "status", "results/mini", "--format", "json")).stdout)
    )
    assert rows[SLOW]["status"] in ("partial", "missing"), rows[SLOW]
    assert "interrupted" in rows[SLOW]["reason"], rows[SLOW]
    f.ok(f.scylla(tree, "repair", "results/mini"))
    # resumed through the other spelling of the same directory (reproduction 2)
    saved = h.ep(tree).resolved_config.resolve()
    f.ok(f.scylla(tree, "run", str(saved)))
    run = f.rp(tree, SLOW)
    assert attempts.read(run.attempts / "2").state == "interrupted"
    assert json.loads(run.agent_timing.read_text())["attempt"] == 3
    assert h.parse_plan(h.output_of(f.ok(f.snakemake(tree, "-n")))).counts == {}
    assert not list((tree / ".snakemake" / "incomplete").rglob("*.*"))
    rows = h.by_run(
        json.loads(f.ok(f.scylla(tree, "status", "results/mini", "--format", "json")).stdout)
    )
    assert rows[SLOW]["status"] == "completed", rows[SLOW]
    case.close("interrupted attempt kept; re-run completes")


def test_a_timeout_ends_the_whole_tree_even_a_setsid_child(tree):
    """Reproduction 6a: an agent whose child runs in its own session and keeps stdout open."""
    case = f.Case("agent timeout with a setsid child holding stdout", tree, protect=OTHERS)
    _fresh(tree, SLOW)
    f.modes(tree, SLOW, "hang_setsid")
    started = time.monotonic()
    proc = f.scylla(tree, "run", f.CONFIG, "--timeout", "3")
    elapsed = time.monotonic() - started
    f.ok(proc)
    run = f.rp(tree, SLOW)
    timing = json.loads(run.agent_timing.read_text())
    assert timing["timed_out"] is True
    log = json.loads(run.agent_command_log.read_text())["commands"][0]
    assert log["exit_code"] == 124
    assert elapsed < 60, elapsed
    case.close(f"timed out at 3 s; whole tree ended ({elapsed:.0f} s in all)")


def test_exit_0_with_a_background_child_is_a_success_not_a_timeout(tree):
    """Reproduction 6b: an agent that exits 0 and leaves a detached child behind."""
    case = f.Case("agent exits 0 leaving a detached child", tree, protect=OTHERS)
    _fresh(tree, SLOW)
    f.modes(tree, SLOW, "daemon")
    f.ok(f.scylla(tree, "run", f.CONFIG))
    run = f.rp(tree, SLOW)
    timing = json.loads(run.agent_timing.read_text())
    assert timing["timed_out"] is False
    cmd = json.loads(run.agent_command_log.read_text())["commands"][0]
    assert cmd["exit_code"] == 0
    att = attempts.read(run.attempts / "2")
    assert att.record["call"]["leftover_processes"] >= 1
    assert not procs.with_marker(procs.ATTEMPT_VAR, att.marker)
    case.close("exit 0 recorded; leftover child ended")


def test_kill_orphans_ends_what_a_killed_scheduler_left_running(tree):
    """`--kill-orphans`: the alternative to waiting for the orphans of a killed scheduler."""
    case = f.Case("kill -9 snakemake, then repair --kill-orphans", tree, protect=OTHERS)
    _fresh(tree, SLOW)
    f.modes(tree, SLOW, "hang")
    bg = f.start(tree, "run", f.CONFIG)
    f.wait_for("the hanging agent runs", lambda: _agent_running(tree, SLOW), 60, bg)
    (smk,) = f.schedulers(tree)
    os.kill(smk, signal.SIGKILL)
    bg.wait(timeout=30)
    repair = f.ok(f.scylla(tree, "repair", "results/mini", "--kill-orphans"))
    assert "ended" in repair.stderr and "orphaned attempt(s)" in repair.stderr, repair.stderr
    assert not f.leftovers(tree)
    run = f.rp(tree, SLOW)
    assert attempts.read(run.attempts / "2").state == "interrupted"
    f.ok(f.scylla(tree, "run", f.CONFIG))
    assert json.loads(run.agent_timing.read_text())["attempt"] == 3
    case.close("orphans ended on request; re-run completes")


def _unrecorded(wd, files) -> None:
    """What kill -9 leaves when it lands after a job's files are promoted and before
    Snakemake records them: their incomplete markers, and no metadata record."""
    for p in files:
        name = base64.urlsafe_b64encode(str(p.relative_to(wd)).encode()).decode()
        (wd / ".snakemake/metadata" / name).unlink()
        marker = wd / ".snakemake/incomplete" / name
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"external_jobid": None}))


def test_repair_records_what_a_kill_left_unrecorded_so_a_meaning_change_still_reruns_it(tree):
    """Reproduction: kill -9 between an agent's promotion and Snakemake's metadata record.
    Repair keeps the paid files; it also has Snakemake record them (`--touch` of that job),
    so no "missing metadata" is left, and a later change of meaning re-runs that run too."""
    case = f.Case("kill -9 after promotion, before the record", tree, protect=OTHERS)
    run = f.rp(tree, SLOW)
    files = [*run.agent_outputs.values(), *run.judge_slot("01").outputs.values()]
    before = {p: h.sha256(p) for p in files}
    _unrecorded(tree, files)

    repair = f.ok(f.scylla(tree, "repair", "results/mini"))
    assert f"recorded {len(files)} kept file(s)" in repair.stdout, repair.stdout
    assert {p: h.sha256(p) for p in files} == before  # nothing re-run or rewritten
    plan = h.dry(tree)
    assert not plan.counts, plan.text[-3000:]
    assert not case.new_calls()

    # the model of every run changes: this run is re-planned with the others
    exp = h.read_config(tree, f.CONFIG)["experiments"][0]
    h.edit_experiment(tree, f.CONFIG, agent={**exp["agent"], "model": "haiku"})
    assert h.dry(tree).runs("agent") == set(f.RUNS)
    case.close("recorded on repair; re-planned on a meaning change", wasted=0)


def test_a_meaning_change_saved_before_repair_still_reruns_what_a_kill_left_unrecorded(tree):
    """kill -9 between an agent's promotion and Snakemake's record; then a run with a new
    model saves the experiment's config and is killed too, before that job's turn. Repair
    must not record the old work as current, and Snakemake then has no record whose params
    could differ: `scylla run`, once confirmed, re-runs that run by name with the others."""
    case = f.Case("kill -9 before the record, meaning saved before repair", tree)
    run = f.rp(tree, SLOW)
    files = [*run.agent_outputs.values(), *run.judge_slot("01").outputs.values()]
    _unrecorded(tree, files)
    exp = h.read_config(tree, f.CONFIG)["experiments"][0]
    h.edit_experiment(tree, f.CONFIG, agent={**exp["agent"], "model": "haiku"})
    saved = str(h.ep(tree, "mini").resolved_config.relative_to(tree))
    f.ok(f.snakemake(tree, saved, "--forcerun", saved))  # the second run's first job

    repair = f.ok(f.scylla(tree, "repair", "results/mini"))
    judged = list(run.judge_slot("01").outputs.values())  # its judge's meaning is unchanged
    assert f"recorded {len(judged)} kept file(s)" in repair.stdout, repair.stdout
    assert not any(_recorded(tree, p) for p in run.agent_outputs.values())
    assert h.dry(tree).runs("agent") == set(f.RUNS) - {SLOW}  # Snakemake alone misses it

    preview = f.ok(f.scylla(tree, "run", f.CONFIG, "--", "-n"))
    assert f"{len(f.RUNS)} agent run(s)" in preview.stdout, preview.stdout
    f.ok(f.scylla(tree, "run", f.CONFIG, "--yes"))
    assert len(_agent_calls(case, SLOW)) == 1, case.new_calls()
    rows = json.loads(f.ok(f.scylla(tree, "status", "results/mini", "--format", "json")).stdout)
    assert {r["status"] for r in rows} == {"completed"}, rows
    assert all(_recorded(tree, p) for p in files)
    assert not h.dry(tree).counts
    case.close("re-run by name after confirmation; recorded", wasted=0)


def _recorded(wd, p) -> bool:
    name = base64.urlsafe_b64encode(str(p.relative_to(wd)).encode()).decode()
    return (wd / ".snakemake/metadata" / name).is_file()


def test_an_orphan_that_promotes_after_repair_is_adopted_and_recorded(tree):
    """kill -9 of the scheduler alone; repair while the orphaned agent still runs; the agent
    then finishes and promotes before the next run. Repair kept that job's markers, so the
    next run's job still runs: it adopts the attempt (no second call) and Snakemake records
    it, so a later change of meaning re-runs it like every other run."""
    case = f.Case("orphan promotes between repair and run", tree, protect=OTHERS)
    _kill_the_scheduler_mid_agent(tree, slow=12)
    repair = f.ok(f.scylla(tree, "repair", "results/mini"))
    assert "kept the incomplete markers of 7 file(s)" in repair.stdout, repair.stdout
    run = f.rp(tree, SLOW)

    def promoted() -> bool:
        att = attempts.newest(run.attempts)
        return att is not None and bool(att.record.get("promoted_at"))

    f.wait_for("the orphan promotes its files", promoted, 60)
    f.ok(f.scylla(tree, "run", f.CONFIG))
    assert len(_agent_calls(case, SLOW)) == 1, case.new_calls()  # the orphan's only
    assert attempts.newest(run.attempts).record.get("adopted_at")
    assert all(_recorded(tree, p) for p in run.agent_outputs.values())

    exp = h.read_config(tree, f.CONFIG)["experiments"][0]
    h.edit_experiment(tree, f.CONFIG, agent={**exp["agent"], "model": "haiku"})
    assert h.dry(tree).runs("agent") == set(f.RUNS)
    case.close("kept markers; adopted and recorded on the next run", wasted=0)
