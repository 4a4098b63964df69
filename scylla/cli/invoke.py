"""Build and run snakemake command lines for scylla (the DAG stays the source of truth)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scylla.layout import paths
from scylla.layout.paths import ExperimentPaths, run_dir_of
from scylla.recovery import snakemeta

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"
JOB_STATS = re.compile(r"^(\w+)\s+(\d+)$")


@dataclass
class Invocation:
    """One snakemake call: where it runs, with which config, on which targets."""

    workdir: Path
    configfile: Path | None = None
    config: dict[str, str] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    supervisor: Supervisor | None = None  # of the last supervised run (was it stopped?)

    @property
    def stopped(self) -> bool:
        return self.supervisor is not None and self.supervisor.count > 0

    def argv(self, *more: str) -> list[str]:
        # Targets come first: several snakemake options take a variable number of values.
        argv = [sys.executable, "-m", "snakemake", *self.targets]
        argv += ["-s", str(SNAKEFILE), "-d", str(self.workdir)]
        if self.configfile is not None:
            argv += ["--configfile", str(self.configfile)]
        if self.config:
            argv += ["--config", *(f"{k}={v}" for k, v in self.config.items())]
        return [*argv, *self.extra, *more]

    def shell(self, *more: str) -> str:
        return shlex.join(self.argv(*more))

    def run(self, *more: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        """Run snakemake to its end. Dry-runs and bookkeeping calls (capture=True) are plain;
        a working run is supervised: Ctrl-C and SIGTERM stop it gracefully (see Supervisor)."""
        if capture:
            return subprocess.run(self.argv(*more), text=True, capture_output=True, env=_env())
        return subprocess.CompletedProcess(self.argv(*more), self.stream(*more, on_line=None))

    def stream(self, *more: str, on_line) -> int:
        """Run under a Supervisor, feeding each output line (stdout and stderr merged) to
        `on_line` (None: snakemake writes to our terminal itself)."""
        proc = subprocess.Popen(
            self.argv(*more),
            text=True,
            stdout=subprocess.PIPE if on_line else None,
            stderr=subprocess.STDOUT if on_line else None,
            env=_env(),
            process_group=0,  # a terminal's Ctrl-C reaches us only; we decide what it means
            preexec_fn=_stop_with_parent,
        )
        with Supervisor(proc) as sup:
            self.supervisor = sup
            reader = None
            if on_line is not None:
                reader = threading.Thread(target=_pump, args=(proc, on_line), daemon=True)
                reader.start()
            code = proc.wait()
            if reader is not None:
                # Jobs of a killed snakemake may hold its output open: do not wait for them.
                reader.join(timeout=2)
            return code


class Supervisor:
    """Signals to `scylla` reach snakemake, gracefully first.

    1st Ctrl-C or SIGTERM: snakemake gets SIGTERM, starts no new job and waits for the running
    ones (paid work is finished and kept). 2nd: SIGINT to snakemake's process group: running
    jobs end their agents and judges (their attempts are kept as interrupted). 3rd: SIGKILL.
    Either way `scylla status` then says where every run stands and `scylla run` resumes.
    """

    STEPS = (
        (
            signal.SIGTERM,
            False,
            "stopping: no new job starts; waiting for the running ones "
            "to finish (Ctrl-C again to interrupt them)",
        ),
        (signal.SIGINT, True, "interrupting the running jobs (their attempts are kept)"),
        (signal.SIGKILL, True, "killing snakemake"),
    )

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.count = 0
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        sig, group, say = self.STEPS[min(self.count, len(self.STEPS) - 1)]
        self.count += 1
        print(f"scylla: {say}", file=sys.stderr, flush=True)
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)

    def __enter__(self) -> Supervisor:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:  # we are leaving on an exception: do not orphan it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()
        for sig, old in self._old.items():
            signal.signal(sig, old)
        if self.count:
            print(
                "scylla: stopped. `scylla status` shows where every run stands; "
                "`scylla run` resumes (finished attempts are adopted, not paid again).",
                file=sys.stderr,
                flush=True,
            )


def _pump(proc: subprocess.Popen[str], on_line) -> None:
    assert proc.stdout is not None
    with contextlib.suppress(ValueError, OSError):
        for line in proc.stdout:
            on_line(line.rstrip("\n"))


def _stop_with_parent() -> None:
    """In the child: if scylla dies (even by SIGKILL), snakemake gets SIGTERM and stops
    gracefully instead of running on headless."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    # A shell starts background jobs with SIGINT ignored, and children inherit that: the
    # second stop (SIGINT to snakemake's group) must reach snakemake and its jobs.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _env() -> dict[str, str]:
    from scylla.util.process import base_env

    return base_env()


class ProgressFilter:
    """Keeps snakemake's errors and warnings, drops its per-job chatter, counts jobs."""

    CHATTER = re.compile(
        r"^(Select jobs to execute|Execute \d+ jobs|\[\w{3} \w{3} +\d+ [\d:]+ \d{4}\]$|"
        r"Finished jobid|\d+ of \d+ steps|Using workflow specific profile|Assuming unrestricted|"
        r"Building DAG of jobs|Provided cores|Config file .* is extended|Using shell:|"
        r"Conda environments: ignored|Rules claiming more threads|Provided resources|"
        r"Complete log\(s\)|Elapsed time|Job stats|job +count|-+ +-+|\w+ +\d+$|"
        r"Nothing to be done)"
    )
    STEPS = re.compile(r"^(\d+) of (\d+) steps")
    # said once per scheduling round while snakemake waits for its running jobs to end
    ONCE = ("Will exit after finishing currently running jobs",)
    # what snakemake says when it was stopped on purpose (scylla says it better)
    STOPPED = re.compile(r"^(WorkflowError:|At least one job did not complete successfully)")

    def __init__(self, echo, stopping=lambda: False, muted=lambda: False) -> None:
        self.echo = echo
        self.stopping = stopping  # stopped on purpose: drop snakemake's failure summary
        self.muted = muted  # stopped by a fatal error: scylla says it in one line at the end
        self.nothing_to_do = False
        self.steps_done = 0
        self._said: set[str] = set()

    @classmethod
    def printing(cls, inv: Invocation, workdir: Path) -> ProgressFilter:
        """The filter of a scylla run in `workdir`: quiet about a stop on purpose, and muted
        once a fatal error stopped it (its one line comes at the end, instead of snakemake's
        failed-job report and retry chatter)."""
        from scylla.recovery import stopping

        return cls(
            echo=lambda line: print(line, flush=True),
            stopping=lambda: inv.stopped,
            muted=(Path(workdir) / stopping.STOP_FILE).exists,
        )

    def __call__(self, line: str) -> None:
        if line.startswith("Nothing to be done"):
            self.nothing_to_do = True
        m = self.STEPS.match(line)
        if m:
            self.steps_done = int(m.group(1))
        text = line.strip()
        if not text or self.CHATTER.match(text) or self.muted():
            return
        once = next((o for o in self.ONCE if text.startswith(o)), None)
        if once is not None:
            if once in self._said:
                return
            self._said.add(once)
        if self.stopping() and self.STOPPED.match(text):
            return
        self.echo(line)


def for_results(ep: ExperimentPaths) -> Invocation:
    """An invocation that works from a results directory alone (its saved configuration;
    the copy inside config/experiment.json when config/scylla.json is damaged)."""
    from scylla import config
    from scylla.util import hashing, jsonio

    workdir = snakemeta.find_workdir(ep.dir) or ep.dir.resolve().parent.parent
    root = os.path.relpath(ep.dir.resolve().parent, workdir)
    configfile = ep.resolved_config.resolve()
    if jsonio.read_json_object(configfile) is None:
        entry = config.saved_entry(ep)
        if entry is not None:
            text = json.dumps({"experiments": [entry]}, indent=1, sort_keys=True)
            configfile = paths.saved_configfile(workdir, hashing.digest(text))
            jsonio.write_text(configfile, text, mode=0o600)
    return Invocation(workdir=workdir, configfile=configfile, config={"results_dir": root})


def _spelled(p: Path, resolved: dict[Path, Path]) -> Path:
    """`p` with every link above its run directory resolved, and none below: an adopted run
    directory may be a link (<T>/<NN>/run_<NN> -> completed/...), and the rules name the link.
    `resolved`: the directories above run directories resolved so far (one per subtest)."""
    p = Path(os.path.abspath(p))
    try:
        run = run_dir_of(p)
    except ValueError:
        return p.resolve()
    if run.parent not in resolved:
        resolved[run.parent] = run.parent.resolve()
    return resolved[run.parent] / p.relative_to(run.parent)


def rel_targets(inv: Invocation, paths: Sequence[Path]) -> list[str]:
    """Target paths spelled relative to the workdir, as the rules' outputs are."""
    resolved: dict[Path, Path] = {}
    return [os.path.relpath(_spelled(Path(p), resolved), inv.workdir) for p in paths]


def job_stats(output: str) -> dict[str, int]:
    """Parse snakemake's "Job stats" table: {rule: count} (without `total`)."""
    stats: dict[str, int] = {}
    inside = False
    for line in output.splitlines():
        if line.startswith("Job stats"):
            inside = True
            continue
        if inside:
            m = JOB_STATS.match(line.strip())
            if m and m.group(1) != "total":
                stats[m.group(1)] = int(m.group(2))
            elif line.strip().startswith("total"):
                break
    return stats
