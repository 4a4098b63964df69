"""Reading snakemake's output: the "Job stats" table, the jobs of a dry-run (`Plan`), the
failed jobs of a run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scylla.cli.invoke import job_stats  # the one parser of snakemake's Job stats table

from .run import ok, output_of, snakemake
from .trees import RunKey

NOTHING_TO_DO = "Nothing to be done"
_JOB_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\s*$")
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")
_ERROR_IN_RULE = re.compile(r"^Error in rule (\w+):\s*$")
_LOG_LINE = re.compile(r"^\s+log: (\S+)")


def parse_jobs(text: str) -> list[tuple[str, dict[str, str]]]:
    """[(rule, wildcards)] of every job snakemake's output announces, each job once."""
    jobs: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        header = _JOB_HEADER.match(line)
        if header:
            jobs.append((header.group(1), {}))
            continue
        wc = _WILDCARDS.match(line)
        if wc and jobs and not jobs[-1][1]:
            pairs = (p.split("=", 1) for p in wc.group(1).split(", "))
            jobs[-1][1].update({k.strip(): v.strip() for k, v in pairs})
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for rule, wcs in jobs:
        key = (rule, tuple(sorted(wcs.items())))
        if key not in seen:
            seen.add(key)
            unique.append((rule, wcs))
    return unique


@dataclass
class Plan:
    """A parsed `snakemake -n`: job counts per rule and the wildcards of each job."""

    counts: dict[str, int]
    jobs: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    text: str = ""

    def wildcards(self, rule: str) -> list[dict[str, str]]:
        """The wildcards of each job of `rule`, as snakemake printed them (run "01")."""
        return [wc for r, wc in self.jobs if r == rule]

    def runs(self, rule: str) -> set[RunKey]:
        """{(tier, subtest, run number)} of the jobs of `rule`."""
        return {
            (w["tier"], w["subtest"], int(w["run"])) for w in self.wildcards(rule) if "run" in w
        }

    def slots(self, rule: str = "judge") -> set[tuple[RunKey, str]]:
        """{(run key, slot)} of the jobs of `rule`."""
        return {((w["tier"], w["subtest"], int(w["run"])), w["slot"]) for w in self.wildcards(rule)}


def parse_plan(text: str) -> Plan:
    return Plan(job_stats(text), parse_jobs(text), text)


def dry(workdir: Path, *args: str, **kwargs: Any) -> Plan:
    """`snakemake -n [args]` on `workdir`, parsed (`kwargs`: those of `snakemake`). An
    up-to-date workflow gives no counts (and says so)."""
    plan = parse_plan(output_of(ok(snakemake(workdir, "-n", *args, **kwargs))))
    if not plan.counts:
        assert NOTHING_TO_DO in plan.text, plan.text[-4000:]
    return plan


def failed_jobs(text: str) -> list[tuple[str, str]]:
    """[(rule, log file)] of every failed job attempt reported in snakemake's output."""
    failed: list[tuple[str, str]] = []
    rule = None
    for line in text.splitlines():
        err = _ERROR_IN_RULE.match(line)
        if err:
            rule = err.group(1)
            continue
        log = _LOG_LINE.match(line)
        if log and rule is not None:
            failed.append((rule, log.group(1)))
            rule = None
    return failed


def downstream_of_runs(n_runs: int, n_subtests: int = 1) -> dict[str, int]:
    """The jobs below a run's result: the reports of its subtest, tier, experiment, `all`."""
    return {
        "run_result": n_runs,
        "subtest_report": n_subtests,
        "tier_report": 1,
        "experiment_report": 1,
        "all": 1,
    }
