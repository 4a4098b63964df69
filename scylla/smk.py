"""Build and run snakemake command lines for scylla (the DAG stays the source of truth)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scylla import snakemeta
from scylla.paths import ExperimentPaths

REPO = Path(__file__).resolve().parent.parent
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
        return subprocess.run(
            self.argv(*more),
            text=True,
            capture_output=capture,
            env=_env(),
        )

    def stream(self, *more: str, on_line) -> int:
        """Run, feeding each output line (stdout and stderr merged) to `on_line`."""
        proc = subprocess.Popen(
            self.argv(*more),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            on_line(line.rstrip("\n"))
        return proc.wait()


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}" + os.environ.get("PATH", ""),
    }


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

    def __init__(self, echo) -> None:
        self.echo = echo
        self.nothing_to_do = False
        self.steps_done = 0

    def __call__(self, line: str) -> None:
        if line.startswith("Nothing to be done"):
            self.nothing_to_do = True
        m = self.STEPS.match(line)
        if m:
            self.steps_done = int(m.group(1))
        if line.strip() and not self.CHATTER.match(line.strip()):
            self.echo(line)


def for_results(ep: ExperimentPaths) -> Invocation:
    """An invocation that works from a results directory alone (its saved configuration)."""
    workdir = snakemeta.find_workdir(ep.dir) or ep.dir.resolve().parent.parent
    root = os.path.relpath(ep.dir.resolve().parent, workdir)
    return Invocation(
        workdir=workdir,
        configfile=ep.resolved_config.resolve(),
        config={"results_dir": root},
    )


def rel_targets(inv: Invocation, paths: Sequence[Path]) -> list[str]:
    """Target paths spelled relative to the workdir, as the rules' outputs are."""
    return [os.path.relpath(Path(p).resolve(), inv.workdir) for p in paths]


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
