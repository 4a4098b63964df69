"""Leases of attempts taken in a thread (scylla.recovery.attempts): a judge that calls nothing
scores in one of Snakemake's threads, so its lease names the scheduler's process *and* the
thread. Such a lease ends with its thread, and is never ended by ending its process (that
would end the scheduler: here, this test's own process)."""

from __future__ import annotations

import os
import threading
import time

from scylla.config.meaning import Meaning
from scylla.recovery import attempts

MEANING = Meaning("m1", {}, 2)


def _claim(root, budget=60.0):
    return attempts.claim(root, "judge", MEANING, "key", budget, lambda m: None)


def _in_thread(root, hold: threading.Event | None = None, budget=60.0):
    """Claim in a new thread (as a job in a Snakemake thread would); the thread then waits
    for `hold` (if given) before it ends, without finishing its attempt."""
    got: list[attempts.Claim] = []
    started = threading.Event()

    def job() -> None:
        got.append(_claim(root, budget))
        started.set()
        if hold is not None:
            hold.wait(30)

    t = threading.Thread(target=job, daemon=True)
    t.start()
    started.wait(10)
    return t, got[0]


def test_a_lease_taken_in_a_thread_names_it_and_ends_with_it(tmp_path):
    hold = threading.Event()
    t, got = _in_thread(tmp_path, hold)
    lease = got.attempt.record["lease"]
    assert lease["pid"] == os.getpid() and lease["thread"] != threading.get_native_id()
    assert got.attempt.lease_process() is None  # never a process to end

    att = attempts.read(got.attempt.dir)
    assert att.lease_alive()  # its thread still runs
    hold.set()
    t.join(10)
    assert not attempts.read(got.attempt.dir).lease_alive()  # same process, thread gone

    # the next claim treats it as a job that died: interrupted, and a new attempt begins
    again = _claim(tmp_path)
    assert again.attempt.number == 2 and not again.adopted
    assert attempts.read(got.attempt.dir).state == attempts.INTERRUPTED


def test_a_lease_taken_in_the_main_thread_is_the_process(tmp_path):
    got = _claim(tmp_path)
    assert "thread" not in got.attempt.record["lease"]
    assert got.attempt.lease_process() == os.getpid()
    assert attempts.read(got.attempt.dir).lease_alive()


def test_an_overdue_thread_lease_is_set_aside_without_ending_its_process(tmp_path):
    hold = threading.Event()
    t, got = _in_thread(tmp_path, hold, budget=0.0)  # its deadline is now
    time.sleep(0.05)
    try:
        # Ending the lease's process would end this test's process: it must survive this.
        again = _claim(tmp_path)
        assert again.attempt.number == 2 and not again.adopted
        first = attempts.read(got.attempt.dir)
        assert first.state == attempts.INTERRUPTED
        assert first.record["error"] == "ended past its deadline"
    finally:
        hold.set()
        t.join(10)
