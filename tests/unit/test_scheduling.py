"""scylla.util.scheduling: one pending wake-up of Snakemake's scheduler, the earliest asked
for, in a daemon thread (real timers; the Snakemake run is tests/test_threads.py), and each
ready job's input sizes asked for once."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from scylla.util.scheduling import (
    Reevaluation,
    _sizes_asked_once,
    coalesce_reevaluations,
    sizes_asked_once,
)


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
    assert coalesce_reevaluations() and sizes_asked_once()
    init = JobScheduler.__init__
    for marker in ("coalesced", "reentrant_lock", "sizes_asked_once"):
        assert getattr(init, marker, False), marker
    reentrant_scheduler_lock()  # asked again below the newer fixes: not wrapped twice
    assert coalesce_reevaluations() and sizes_asked_once() and JobScheduler.__init__ is init


class Input(str):
    """An input file as Snakemake's scheduler asks about it (`_IOFile.exists`/`size` are
    coroutines), counting the questions."""

    asked = 0

    async def exists(self) -> bool:
        Input.asked += 1
        return Path(self).exists()

    async def size(self) -> int:
        return Path(self).stat().st_size


def test_a_ready_jobs_input_sizes_are_asked_for_once(tmp_path):
    a, b, later = (Input(tmp_path / n) for n in ("a", "b", "later"))
    Path(a).write_text("abc")
    Path(b).write_text("12345")
    scheduler = SimpleNamespace(_input_sizes={})
    _sizes_asked_once(scheduler)
    jobs = [SimpleNamespace(input=[a, b]), SimpleNamespace(input=[b, later])]
    Input.asked = 0
    asyncio.run(scheduler.update_input_sizes(jobs))
    assert scheduler._input_sizes == {a: 3, b: 5, later: None} and Input.asked == 3
    Path(later).write_text("1")  # not there yet in the first round: asked again
    for _ in range(5):  # one scheduling round after another
        asyncio.run(scheduler.update_input_sizes(jobs))
    assert scheduler._input_sizes == {a: 3, b: 5, later: 1} and Input.asked == 4
