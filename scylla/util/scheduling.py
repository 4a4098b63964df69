"""Fixes for Snakemake's job scheduler and its bookkeeping, installed at parse time
(rules/common.smk): the three below, and `after_init`, which also installs
scylla.recovery.stopping's re-entrant lock.

**One pending wake-up (`coalesce_reevaluations`).**

With a job rate limiter, which the command line always sets (`--max-jobs-per-timespan`,
default `100/1s`; `10000/1s` in profiles/default), `JobScheduler.schedule` ends every round
by starting a `threading.Timer` that wakes the scheduler one timespan later, so that jobs
the limiter held back are looked at again. The round that timer causes starts a timer of
its own: every round begets one more round per second for as long as the run lasts, whether
anything was held back or not.
Measured on Snakemake 9.27.1, a `scylla run` of 200 agents (807 jobs, 41 s) made 13,375
scheduling rounds and started 12,567 threads; the scheduler's thread was busy 92 % of the
time. With `coalesce_reevaluations`, the same run made 844 rounds.

At most one such wake-up is kept pending (the earliest asked for), in a daemon thread: the
end of a run never waits for it. Rate limiting still holds: a round held back by the limiter
asks again, and is woken within one timespan.

**Input sizes asked once (`sizes_asked_once`).** In every round, `JobScheduler.job_selector`
asks whether each input of each ready job exists and how big it is, through one asyncio task
per file, and the greedy scheduler ranks jobs by those sizes. A ready job's inputs are final
(their producers have finished), so a size once known is kept and only the others are asked
for. Snakemake 9.27.1, 1,131 jobs of one input each (benchmarks/bench.py, figure 2's floor):
89,513 size queries (cProfile) for 1,131 input files.

**Each input checksummed once per finished job (`checksums_once_per_job`).** When a job
ends, `PersistenceBase.finished` writes one metadata record per output, and for each record
it reads and hashes every input again: rule run_result (7 inputs, 3 outputs) hashed 21 files
per job where 7 give the same records. Within one `finished` call, each input's checksum is
now computed once and reused for the job's other records (every record's bytes are the
same; a finished job's inputs do not change while it is recorded).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import threading
import time
from collections.abc import Callable
from typing import Any

METHOD = "_schedule_reevalutation"  # sic: Snakemake's spelling


class Reevaluation:
    """Stands in for `JobScheduler._schedule_reevalutation(delay)`: one pending wake-up."""

    def __init__(self, wake: Callable[[], Any]) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._due = math.inf
        self.started = 0  # timers started (for tests and profiles)

    def __call__(self, delay: float) -> None:
        due = time.monotonic() + delay
        with self._lock:
            if due >= self._due:
                return  # an earlier wake-up is pending: that round asks again if it must
            self._due = due
            self.started += 1
        timer = threading.Timer(delay, self._fire, args=(due,))
        timer.daemon = True
        timer.start()

    def _fire(self, due: float) -> None:
        with self._lock:
            if self._due == due:
                self._due = math.inf
        self._wake()


def after_init(marker: str, setup: Callable[[Any], None], replaces: str | None = None) -> bool:
    """Run `setup(scheduler)` at the end of every `JobScheduler.__init__` in this process,
    once per `marker` however often it is asked (the Snakefile is parsed once per process,
    a test may ask again). The markers of earlier fixes stay on the wrapper. `replaces`: the
    method the fix stands in for; False, and nothing changed, for a Snakemake whose scheduler
    has no such method (renamed, or fixed upstream)."""
    from snakemake.scheduling.job_scheduler import JobScheduler

    if replaces is not None and not callable(getattr(JobScheduler, replaces, None)):
        return False
    init = JobScheduler.__init__
    if getattr(init, marker, False):
        return True

    @functools.wraps(init)  # also copies the markers of the fixes already installed
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        setup(self)

    setattr(__init__, marker, True)
    JobScheduler.__init__ = __init__
    return True


def _one_pending_wake_up(scheduler: Any) -> None:
    wake = getattr(getattr(scheduler, "_open_jobs", None), "release", None)
    if callable(wake):  # else Snakemake's own method stays
        setattr(scheduler, METHOD, Reevaluation(wake))


def coalesce_reevaluations() -> bool:
    """Give every `JobScheduler` this process makes one pending wake-up at most (call in the
    Snakemake process before it schedules). False, and nothing changed, for a Snakemake
    whose scheduler lacks the method this replaces (renamed, or fixed upstream)."""
    return after_init("coalesced", _one_pending_wake_up, replaces=METHOD)


def _sizes_asked_once(scheduler: Any) -> None:
    if not isinstance(getattr(scheduler, "_input_sizes", None), dict):
        return  # else Snakemake's own method stays

    async def update_input_sizes(jobs: Any) -> None:
        async def get_size(path: Any) -> tuple[Any, int | None]:
            return path, await path.size() if await path.exists() else None

        sizes: dict[Any, int | None] = scheduler._input_sizes
        paths = {path for job in jobs for path in job.input}
        unknown = [path for path in paths if sizes.get(path) is None]
        if unknown:
            sizes.update(await asyncio.gather(*[get_size(path) for path in unknown]))
        if len(sizes) > 10000:  # as Snakemake bounds it: only the current jobs' inputs stay
            for path in [p for p in sizes if p not in paths]:
                del sizes[path]

    scheduler.update_input_sizes = update_input_sizes


def sizes_asked_once() -> bool:
    """Make every `JobScheduler` this process makes ask for each input's size once, not in
    every round. False, and nothing changed, for a Snakemake whose scheduler has no
    `update_input_sizes` (renamed, or fixed upstream)."""
    return after_init("sizes_asked_once", _sizes_asked_once, replaces="update_input_sizes")


# The checksums one `PersistenceBase.finished` call has computed, by (file, size threshold);
# None outside such a call. Each asyncio task has its own (a ContextVar set inside it).
_job_checksums: contextvars.ContextVar[dict[tuple[str, Any], Any] | None] = contextvars.ContextVar(
    "scylla_job_checksums", default=None
)


def checksums_once_per_job() -> bool:
    """Make Snakemake hash each input of a finished job once, not once per output. False,
    and nothing changed, for a Snakemake without `PersistenceBase.finished` or
    `_IOFile.checksum` (renamed, or fixed upstream)."""
    from snakemake.io import _IOFile
    from snakemake.persistence import PersistenceBase

    finished = getattr(PersistenceBase, "finished", None)
    checksum = getattr(_IOFile, "checksum", None)
    if not (callable(finished) and callable(checksum)):
        return False
    if getattr(finished, "checksums_once", False):
        return True

    @functools.wraps(checksum)
    async def checksum_once(
        self: Any, threshold: Any = None, force: bool = False, algorithm: Any = None
    ) -> Any:
        known = _job_checksums.get()
        if known is None or force or algorithm is not None:  # as Snakemake asks elsewhere
            return await checksum(self, threshold, force, algorithm)
        key = (str(self), threshold)
        if key not in known:
            known[key] = await checksum(self, threshold, force, algorithm)
        return known[key]

    @functools.wraps(finished)
    async def finished_once(self: Any, job: Any) -> Any:
        token = _job_checksums.set({})
        try:
            return await finished(self, job)
        finally:
            _job_checksums.reset(token)

    finished_once.checksums_once = True  # type: ignore[attr-defined]
    _IOFile.checksum = checksum_once
    PersistenceBase.finished = finished_once
    return True
