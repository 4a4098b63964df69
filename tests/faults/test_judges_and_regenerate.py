"""Judge faults (garbage twice, a hanging judge, 429 then success) and kill -9 while
`scylla regenerate` writes consensus, run results and reports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

import helpers as h
import yaml
from helpers import faults as f

from scylla import records
from scylla.recovery import attempts

RUN = ("T0", "00", 1)
OTHERS = [k for k in f.RUNS if k != RUN]
SELECT = ("--tier", "T0", "--subtest", "00", "--runs", "1", "--judge-slot", "1")


def _rejudge(tree, *judge_modes: str, status: str = "complete"):
    f.judge_modes(tree, RUN, "01", *judge_modes)
    return f.scylla(tree, "rerun", "judges", "results/mini", *SELECT, "--status", status)


def test_a_judge_that_answers_garbage_twice_is_an_invalid_judgment(tree):
    case = f.Case("judge answers garbage twice", tree, protect=OTHERS)
    f.ok(_rejudge(tree, "garbage", "garbage"))
    run = f.rp(tree, RUN)
    j = json.loads(run.judge_slot("01").judgment.read_text())
    assert j["is_valid"] is False and j["attempts"] == 2 and j["status"] == "invalid"
    assert json.loads(run.consensus.read_text())["is_valid"] is False
    assert len(case.new_calls()) == 2  # the call and its one retry with a JSON reminder
    case.close("invalid judgment after the retry")


def test_a_hanging_judge_times_out_and_leaves_nothing_running(tree):
    case = f.Case("judge hangs past its timeout", tree, protect=OTHERS)
    cfg = yaml.safe_load((tree / f.CONFIG).read_text())
    cfg["experiments"][0]["judges"][0]["timeout"] = 2  # a limit: no meaning change
    (tree / f.CONFIG).write_text(yaml.safe_dump(cfg))
    f.ok(f.scylla(tree, "run", f.CONFIG))  # the saved config learns the timeout
    f.ok(_rejudge(tree, "hang"))
    j = json.loads(f.rp(tree, RUN).judge_slot("01").judgment.read_text())
    assert j["status"] == "timeout" and j["is_valid"] is False
    case.close("timeout: invalid judgment; tree ended")


def test_a_rate_limited_judge_waits_retries_and_succeeds(tree):
    case = f.Case("judge 429 then success", tree, protect=OTHERS)
    f.ok(_rejudge(tree, "rate_limit", "clean"))
    slot = f.rp(tree, RUN).judge_slot("01")
    j = json.loads(slot.judgment.read_text())
    assert j["is_valid"] is True and j["status"] == "complete"
    states = [a.state for a in attempts.listing(slot.attempts)]
    assert states[-2:] == ["failed", "finished"], states
    rows = h.by_run(
        json.loads(f.ok(f.scylla(tree, "status", "results/mini", "--format", "json")).stdout)
    )
    assert h.judge_states(rows[RUN])["01"] == "complete"
    case.close("failed attempt kept; retry judged")


def _kill_everything(tree, proc):
    for pid in f.schedulers(tree):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_kill9_while_regenerate_writes_leaves_no_half_written_artifact(tree):
    case = f.Case("kill -9 during scylla regenerate (x4)", tree, protect=f.RUNS)
    ep = h.ep(tree)
    derived = []
    for key in f.RUNS:
        run = f.rp(tree, key)
        derived += [run.agent_result, run.consensus, run.run_result]
    derived += [ep.report(), ep.tier_report("T0"), ep.subtest_report("T0", "00")]
    for delay in (0.8, 1.6, 2.4, 3.2):
        for p in derived:
            p.unlink(missing_ok=True)
        bg = f.start(tree, "regenerate", "results/mini")
        time.sleep(delay)
        _kill_everything(tree, bg)
        for p in derived:  # whatever exists is whole: written atomically
            if p.exists():
                assert json.loads(p.read_text()), p
        f.ok(f.scylla(tree, "repair", "results/mini"))
    f.ok(f.scylla(tree, "regenerate", "results/mini"))
    for key in f.RUNS:
        run = f.rp(tree, key)
        assert records.read(run.run_result, records.valid_run_result) is not None
    assert case.new_calls() == []
    case.close("atomic writes; regenerate completes")
