"""scylla.util.scheduling.Reevaluation: one pending wake-up of Snakemake's scheduler, the
earliest asked for, in a daemon thread (real timers; the Snakemake run is tests/test_threads.py)."""

from __future__ import annotations

import threading
import time

from scylla.util.scheduling import Reevaluation, coalesce_reevaluations


def _waker() -> tuple[list[float], threading.Event, Reevaluation]:
    """When the wake-ups came, an event set by the first, and the Reevaluation."""
    woken: list[float] = []
    event = threading.Event()

    def wake() -> None:
        woken.append(time.monotonic())
        event.set()

    return woken, event, Reevaluation(wake)


def test_requests_while_one_is_pending_start_no_timer():
    woken, event, r = _waker()
    asked = time.monotonic()
    for _ in range(50):
        r(0.3)
    assert r.started == 1
    assert event.wait(5)
    time.sleep(0.4)  # no second wake-up follows
    assert len(woken) == 1 and woken[0] - asked >= 0.29
    r(0.05)  # once it has fired, the next request starts a timer again
    assert r.started == 2


def test_an_earlier_request_is_not_held_behind_a_later_one():
    woken, event, r = _waker()
    r(60)  # a long wait (Snakemake's queue input) is pending
    asked = time.monotonic()
    r(0.05)
    assert r.started == 2
    assert event.wait(5) and woken[0] - asked < 5


def test_its_timers_never_keep_the_process_alive():
    r = Reevaluation(lambda: None)
    before = set(threading.enumerate())
    r(60)
    (timer,) = set(threading.enumerate()) - before
    assert timer.daemon


def test_each_fix_installed_once_on_snakemakes_scheduler():
    from snakemake.scheduling.job_scheduler import JobScheduler

    from scylla.recovery.stopping import reentrant_scheduler_lock

    reentrant_scheduler_lock()
    assert coalesce_reevaluations()
    init = JobScheduler.__init__
    assert getattr(init, "coalesced", False) and getattr(init, "reentrant_lock", False)
    reentrant_scheduler_lock()  # asked again below the newer fix: not wrapped twice
    assert coalesce_reevaluations() and JobScheduler.__init__ is init
