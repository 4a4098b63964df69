"""scylla.util.scheduling: one pending wake-up of Snakemake's scheduler, the earliest asked
for, in a daemon thread (real timers; the Snakemake run is tests/test_threads.py), each
ready job's input sizes asked for once, and each input of a finished job hashed once (a real
Snakemake run of one job)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from scylla.util.scheduling import (
    Reevaluation,
    _sizes_asked_once,
    checksums_once_per_job,
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


def test_the_checksum_fix_is_installed_once():
    from snakemake.io import _IOFile
    from snakemake.persistence import PersistenceBase

    assert checksums_once_per_job()
    finished, checksum = PersistenceBase.finished, _IOFile.checksum
    assert checksums_once_per_job()  # the Snakefile parsed again: not wrapped twice
    assert (PersistenceBase.finished, _IOFile.checksum) == (finished, checksum)


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


FINISHED_JOB = """
import hashlib, json, os
from scylla.util import scheduling

if os.environ.get("FIX") == "1":
    assert scheduling.checksums_once_per_job()
hashed = []
digest = hashlib.file_digest


def counted(f, algorithm):
    hashed.append(f.name)
    return digest(f, algorithm)


hashlib.file_digest = counted


rule job:
    input:
        "a.txt",
        "b.txt",
    output:
        "x",
        "y",
        "z",
    run:
        for path in output:
            Path(path).write_text("out")


onsuccess:
    Path("hashed.json").write_text(json.dumps(hashed))
"""


def _finish_one_job(workdir: Path, fix: bool) -> tuple[list[str], list[dict]]:
    """A real Snakemake run of one job (2 inputs, 3 outputs): the inputs it hashed, and the
    input checksums of its three metadata records."""
    import json
    import os
    import subprocess
    import sys

    workdir.mkdir()
    (workdir / "Snakefile").write_text("from pathlib import Path\n" + FINISHED_JOB)
    (workdir / "a.txt").write_text("a")
    (workdir / "b.txt").write_text("b" * 100)
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "FIX": "1" if fix else "0", "PYTHONPATH": root}
    argv = [sys.executable, "-m", "snakemake", "--cores", "1", "--quiet", "all"]
    subprocess.run(argv, cwd=workdir, env=env, check=True, capture_output=True)
    records = [json.loads(p.read_text()) for p in (workdir / ".snakemake/metadata").iterdir()]
    return json.loads((workdir / "hashed.json").read_text()), records


def test_a_finished_jobs_inputs_are_hashed_once_for_all_its_records(tmp_path):
    import hashlib

    expected = {
        name: "sha256:" + hashlib.sha256(data).hexdigest()
        for name, data in (("a.txt", b"a"), ("b.txt", b"b" * 100))
    }
    hashed, records = _finish_one_job(tmp_path / "snakemake", fix=False)
    assert sorted(hashed) == sorted(["a.txt", "b.txt"] * 3)  # once per output record
    assert [r["input_checksums"] for r in records] == [expected] * 3
    hashed, records = _finish_one_job(tmp_path / "fixed", fix=True)
    assert sorted(hashed) == ["a.txt", "b.txt"]
    assert [r["input_checksums"] for r in records] == [expected] * 3  # the same records
