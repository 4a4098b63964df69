"""SLURM jobs a killed scheduler left behind, and what scylla does with them.

`kill -9` of the submitting snakemake does not reach SLURM: its running jobs go on and its
queued jobs still start later, each a `snakemake` of its own working in the same directory.
Left alone while a new scheduler starts, such a stale job deletes and re-promotes the outputs
of a run the new scheduler works on (Snakemake removes a job's outputs before it runs it, and
after it fails). So before `scylla run` (or `repair`) starts anything, no job of an earlier
scheduler in the same working directory may be alive (docs/slurm.md):
- queued jobs (PENDING) are cancelled: none of them has spent anything yet;
- running jobs are waited for, because their paid work is kept: the next run adopts their
  finished attempts with no second paid call. With --kill-orphans, or past the wait, they are
  cancelled (`scancel`: SIGTERM, which the steps record as an interrupted attempt).
The jobs of a workflow are found by name (`scylla_<run uuid>`: profiles/slurm sets
`slurm-jobname-prefix`) and working directory (sbatch runs in the scheduler's directory).
Without `squeue` on PATH, or where the slurm executor never ran (no .snakemake/slurm_logs),
there is nothing to do.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

JOB_PREFIX = "scylla_"  # profiles/slurm: slurm-jobname-prefix
ACTIVE = "PENDING,CONFIGURING,RUNNING,COMPLETING,SUSPENDED,REQUEUED,RESIZING,SIGNALING"
DEFAULT_WAIT = 24 * 3600.0
SLURM_LOGS = ".snakemake/slurm_logs"  # the executor plugin's, in the working directory


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    state: str
    workdir: str
    comment: str  # rule_<rule>_wildcards_<wildcards> (the executor plugin's)

    @property
    def rule(self) -> str:
        return self.comment.removeprefix("rule_").split("_wildcards_")[0]


def jobs(workdir: Path | None = None, states: str = "all") -> list[Job]:
    """The scylla jobs squeue knows in `states` (finished ones too, for MinJobAge), optionally
    only those working in `workdir`. [] without SLURM."""
    if shutil.which("squeue") is None:
        return []
    try:
        out = subprocess.run(
            ["squeue", "-h", "-t", states, "-o", "%i|%j|%T|%Z|%k"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    here = Path(workdir).resolve() if workdir is not None else None
    for line in out.splitlines():
        parts = line.split("|", 4)
        if len(parts) != 5 or not parts[1].startswith(JOB_PREFIX):
            continue
        job = Job(*parts)
        if here is None or Path(job.workdir).resolve() == here:
            found.append(job)
    return found


@dataclass
class Recovery:
    cancelled_pending: list[str] = field(default_factory=list)
    waited_for: list[str] = field(default_factory=list)
    cancelled_running: list[str] = field(default_factory=list)
    waited_seconds: float = 0.0


def _scancel(ids: list[str]) -> None:
    subprocess.run(["scancel", *ids], check=False, timeout=60)


def recover(
    workdir: Path,
    wait: float = DEFAULT_WAIT,
    cancel_running: bool = False,
    poll: float = 2.0,
    say: Callable[[str], None] = lambda line: None,
) -> Recovery:
    """Make sure no SLURM job of an earlier scheduler in `workdir` is alive (the policy
    above); `say` gets one line per decision."""
    rec = Recovery()
    start = time.monotonic()
    if not (Path(workdir) / SLURM_LOGS).is_dir():
        return rec  # the slurm executor never ran here: ask no controller (it may be down)
    active = jobs(workdir, ACTIVE)
    if not active:
        return rec
    pending = [j.id for j in active if j.state == "PENDING"]
    if pending:
        _scancel(pending)
        rec.cancelled_pending = pending
        ids = " ".join(pending)
        say(f"cancelled {len(pending)} queued SLURM job(s) of a stopped scheduler: {ids}")
    running = [j.id for j in active if j.state != "PENDING"]
    if running and cancel_running:
        _scancel(running)
        rec.cancelled_running = running
        say(f"cancelled {len(running)} running SLURM job(s) (--kill-orphans): {' '.join(running)}")
    elif running:
        rec.waited_for = running
        say(
            f"waiting for {len(running)} running SLURM job(s) of a stopped scheduler "
            f"({' '.join(running)}): their results will be adopted (--kill-orphans cancels them)"
        )
    deadline = start + wait
    while True:
        alive = [j.id for j in jobs(workdir, ACTIVE)]
        if not alive:
            break
        if time.monotonic() > deadline:
            _scancel(alive)
            rec.cancelled_running += [i for i in alive if i not in rec.cancelled_running]
            say(f"cancelled {len(alive)} SLURM job(s) still running after {wait:.0f} s")
            deadline = float("inf")  # now only wait for the cancelled jobs to end
        time.sleep(poll)
    rec.waited_seconds = time.monotonic() - start
    return rec
