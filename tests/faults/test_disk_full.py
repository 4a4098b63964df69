"""Reproduction 11: a disk that fills up after the agent was paid for. The call's answer is
kept, the job fails as infrastructure, and once there is room again the attempt is adopted:
the agent is never called a second time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import helpers as h
import pytest
from helpers import faults as f

from scylla.recovery import archive, attempts

RUN = ("T0", "00", 1)
OTHERS = [k for k in f.RUNS if k != RUN]


def _mount_tmpfs(where, size="4m") -> None:
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({proc.stderr.strip()}): needs root")


def test_disk_full_after_the_call_keeps_the_answer_and_never_pays_twice(tree):
    case = f.Case("disk full after the agent's call", tree, protect=OTHERS)
    run = f.rp(tree, RUN)
    archive.archive_run(run, "fault test: run it again")
    # the run's attempts/ on a small filesystem of its own (its content moved onto it)
    keep = run.dir / "attempts.before"
    run.attempts.rename(keep)
    run.attempts.mkdir()
    _mount_tmpfs(run.attempts)
    try:
        subprocess.run(["cp", "-a", f"{keep}/.", str(run.attempts)], check=True)
        shutil.rmtree(keep)
        f.modes(tree, RUN, "slow")
        bg = f.start(tree, "run", f.CONFIG, env={"CLAUDE_STANDIN_SLOW": "4"})
        f.wait_for(
            "the agent runs",
            lambda: any(c["role"] == "agent" for c in f.calls(tree)),
            60,
            bg,
        )
        st = os.statvfs(run.attempts)
        ballast = run.attempts / "ballast"
        with open(ballast, "wb") as fh:  # leave one page: the agent's answer fits, no more
            fh.write(b"\0" * (st.f_bavail * st.f_frsize - st.f_frsize))
        bg.wait(timeout=120)
        assert bg.returncode != 0, "the job must fail while the disk is full"
        att = attempts.read(run.attempts / "2")
        answer = (att.dir / "agent" / "stdout.log").read_text()
        assert '"type": "result"' in answer or '"type":"result"' in answer, answer[:300]
        ballast.unlink()  # room again
        f.ok(f.scylla(tree, "repair", "results/mini"))
        f.ok(f.scylla(tree, "run", f.CONFIG))
        agents = [c for c in case.new_calls() if c["role"] == "agent"]
        assert len(agents) == 1, agents
        att = attempts.read(run.attempts / "2")
        assert att.state == "finished" and att.record["call"].get("reconstructed_from")
        assert json.loads(run.agent_timing.read_text())["attempt"] == 2
        rows = h.by_run(
            json.loads(f.ok(f.scylla(tree, "status", "results/mini", "--format", "json")).stdout)
        )
        assert rows[RUN]["status"] in ("completed", "failed")
    finally:
        subprocess.run(["umount", "-l", str(run.attempts)], capture_output=True)
    case.close("answer kept; adopted after room came back (1 agent call)")
