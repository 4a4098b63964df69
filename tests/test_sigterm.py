"""A SIGTERM stops Snakemake gracefully whenever it comes (scylla.recovery.stopping).

scylla's graceful stop is a SIGTERM to snakemake: the first Ctrl-C, the death of the `scylla`
command, a job that meets a failure waiting cannot heal. Snakemake 9.27.1's handler takes the
scheduler's lock, which the main thread holds while it finishes jobs: a SIGTERM that lands
then hung snakemake for good (seen by hand: `scylla run` killed, its snakemake still there
17 minutes later, in JobScheduler.exit_gracefully).

The Snakefile below makes the signal land at exactly that moment, every time: Snakemake's
`_finish_jobs` (called under the lock) is wrapped to send it first. Real snakemake, no mock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SNAKEFILE = """
import os, signal
from snakemake.scheduling.job_scheduler import JobScheduler
from scylla.recovery import stopping

if os.environ["SCYLLA_REENTRANT"] == "1":
    stopping.reentrant_scheduler_lock()

_finish_jobs = JobScheduler._finish_jobs


def finish_jobs_after_a_sigterm(self):
    # runs in the main thread, under the scheduler's lock
    if self._tofinish and not getattr(self, "sigterm_sent", False):
        self.sigterm_sent = True
        os.kill(os.getpid(), signal.SIGTERM)
    return _finish_jobs(self)


JobScheduler._finish_jobs = finish_jobs_after_a_sigterm


rule all:
    input:
        expand("out/{i}.txt", i=range(20)),


rule one:
    output:
        "out/{i}.txt",
    localrule: True
    run:
        with open(output[0], "w") as fh:
            fh.write("x")
"""


def start(where: Path, reentrant: bool) -> subprocess.Popen[str]:
    (where / "Snakefile").write_text(SNAKEFILE)
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--force-use-threads"],
        cwd=where,
        env={**os.environ, "SCYLLA_REENTRANT": "1" if reentrant else "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_sigterm_while_jobs_are_being_finished_stops_snakemake(tmp_path):
    proc = start(tmp_path, reentrant=True)
    out, _ = proc.communicate(timeout=120)
    assert "Will exit after finishing currently running jobs" in out, out[-3000:]
    # it stopped early: not every job ran
    assert len(list((tmp_path / "out").glob("*.txt"))) < 20, out[-3000:]


def test_without_it_snakemake_hangs(tmp_path):
    """The same, with Snakemake's own lock: the defect the fix is for (fails once Snakemake
    fixes it upstream; then the fix can go)."""
    proc = start(tmp_path, reentrant=False)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.communicate(timeout=15)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.communicate()
