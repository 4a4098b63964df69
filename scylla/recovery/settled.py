"""Experiments Snakemake last found complete, so `rule all` need not enumerate them again.

A `snakemake -n` on a finished experiment of 1,200 runs builds a DAG of 7,000+ jobs only to
say "Nothing to be done": ≈ 2.5 ms of Snakemake bookkeeping per job on the reference machines
(docs/performance.md). That verdict is a function of facts we can fingerprint cheaply:

- every file any rule declares for the experiment (`targets.declared_files`): inode, size
  and mtime of each, and of a link itself;
- what the configuration means (the digest-named resolved experiment, so every param);
- the workflow's code (Snakefile, rules, envs, the scylla package: input functions and
  params) and the settings of the call that change verdicts (rerun triggers, Snakemake's
  and PyYAML's versions, checksum size limit, software deployment);
- no incomplete marker anywhere (a job running or interrupted).

When Snakemake itself says "Nothing to be done" on a plain call and every file is still as it
was when `rule all` was evaluated, the fingerprint is recorded here. As long as it is
unchanged, `rule all` lists only that experiment's configuration: the verdict could only be
the same, because nothing it depends on changed. Any change (one file touched, deleted or
replaced, a config or code edit, a marker) makes `rule all` list the whole experiment again,
and Snakemake decides as it always does. A run that made files records nothing: the next
plain call checks every file once more and records its own verdict.

**Work settled.** The record also fingerprints the work files on their own: what rules
`targets.WORK_RULES` make (the agents' and judges' files, and the judge prompts they read).
When only other files changed (a deleted agent/result.json, a report), with the same code,
config and settings and no marker, none of those rules' jobs could need to run: their
outputs, their inputs (work files too) and their params are as they were when Snakemake
found nothing to do. So when that holds for every experiment of the call, its DAG leaves those
rules out as `--allowed-rules` would, and their files are inputs that exist. Snakemake plans
everything derived from them as it always does: 245 jobs instead of 7,326 for 120 deleted
records of 1,200 runs, the same 245 jobs either way. "Nothing to be done" in such a DAG is a
verdict on the whole experiment (the work jobs' part of it is the recorded one) and is
recorded as one. A plain call that requests files (not `rule all`) gets the same smaller
DAG: the check is made by the first of the workflow's input functions Snakemake evaluates,
before any input is resolved. It never records a verdict: its DAG is not the whole
experiment's.

Plain means: executing or dry-running, without a flag that forces, narrows or touches jobs
(`--forceall`, `-R`, `--until`, `--omit-from`, `--allowed-rules`, `--batch`, `--touch`,
`--target-jobs` as in a remote job),
that changes how Snakemake sees files (`--trust-io-cache`, `--consider-ancient`,
`--all-temp`, a storage provider, `--persistence-backend db`) or `--immediate-submit`. Targeted
calls (a requested file, `scylla rerun`/`regenerate`) never record a verdict, and the modes
that do not execute (`--summary`, `--report`, `--list-changes`, `--delete-all-output`, `--dag`)
never consult the record. Not covered: a file rewritten with the same inode, size and
nanosecond mtime (Snakemake compares mtimes, so it would not see most of those either), and
hand edits of `.snakemake/metadata`. Kept in `.snakemake/scylla/settled/`, one small JSON
record per experiment; deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISLNK
from typing import Any

from scylla.layout import paths
from scylla.recovery import snakemeta
from scylla.util import jsonio

VERSION = 2
Facts = tuple[int, ...] | None


def facts(files: Iterable[str]) -> list[Facts]:
    """(inode, size, mtime in ns) of every file, None for an absent one: one lstat each (and
    a stat for a symbolic link: Snakemake compares a link's own mtime, its target's bytes)."""
    lstat = os.lstat
    out: list[Facts] = []
    add = out.append
    for f in files:
        try:
            st = lstat(f)
            if S_ISLNK(st.st_mode):
                target = os.stat(f)
                add((st.st_ino, target.st_size, st.st_mtime_ns, target.st_mtime_ns))
                continue
        except OSError:
            add(None)
            continue
        add((st.st_ino, st.st_size, st.st_mtime_ns))
    return out


def digest_of(files: list[str], found: list[Facts]) -> str:
    blob = json.dumps([files, found], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def code_facts(basedir: str | Path) -> list[Any]:
    """The workflow's code as Snakemake and the input functions see it: an edit of any of
    these makes every experiment be enumerated once more (it re-runs nothing by itself)."""
    base = Path(basedir)
    files = [base / "Snakefile", *sorted((base / "rules").glob("*.smk"))]
    files += sorted((base / "envs").glob("*"))
    files += sorted(Path(__file__).parents[1].rglob("*.py"))
    names = [str(f) for f in files]
    return [[name, *(fx or ())] for name, fx in zip(names, facts(names), strict=True)]


def key_of(*, spec_file: str, code: list[Any], settings: list[Any]) -> str:
    """Everything besides the files that Snakemake's verdict depends on: the resolved
    experiment (every param), the code, and the settings of the call that matter to it."""
    blob = [VERSION, spec_file, code, settings, sys.version]
    return hashlib.sha256(json.dumps(blob, default=str).encode()).hexdigest()


@dataclass
class Check:
    """One experiment's files and their facts when `rule all` was evaluated. The first
    `work` files are its work files (`targets.run_work_files` of every run)."""

    experiment: str
    files: list[str]
    key: str
    before: list[Facts] = field(default_factory=list)
    settled: bool = False
    work: int = 0
    work_settled: bool = False


def check(workdir: str | Path, experiment: str, files: list[str], key: str, work: int = 0) -> Check:
    """Is the experiment exactly as Snakemake last found it complete? And are its first
    `work` files (`targets.run_work_files`, listed first) as they were then?"""
    found = facts(files)
    c = Check(experiment, files, key, found, work=work)
    rec = jsonio.read_json_object(paths.settled_file(workdir, experiment))
    if rec is None or rec.get("key") != key or markers(workdir):
        return c
    c.settled = rec.get("files") == len(files) and rec.get("digest") == digest_of(files, found)
    c.work_settled = c.settled or (
        work > 0
        and rec.get("work_files") == work
        and rec.get("work") == digest_of(files[:work], found[:work])
    )
    return c


def markers(workdir: str | Path) -> bool:
    """Any incomplete marker: a job is running, or was interrupted (liveness is not a file
    fact, so nothing is taken as settled while one exists)."""
    return bool(snakemeta.incomplete_files(Path(workdir)))


def record(workdir: str | Path, c: Check) -> bool:
    """Record that Snakemake found `c`'s experiment complete: only if every file exists and
    is as it was when `rule all` was evaluated (nothing changed it while Snakemake looked).
    Returns whether the record was (re)written."""
    if markers(workdir):
        return False
    now = facts(c.files)
    if now != c.before or None in now or c.settled:
        return False  # changed under us, incomplete, or already recorded as it is
    data = {
        "key": c.key,
        "files": len(c.files),
        "digest": digest_of(c.files, now),
        "work_files": c.work,
        "work": digest_of(c.files[: c.work], now[: c.work]),
    }
    jsonio.write_json(paths.settled_file(workdir, c.experiment), data)
    return True


def plain(workflow: Any) -> bool:
    """Snakemake's `workflow` runs a plain call: it executes or dry-runs, and neither forces,
    narrows nor touches jobs, nor changes how files are seen. Only then is an unchanged
    experiment left out of `rule all`, and only then is a verdict recorded."""
    d = workflow.dag_settings
    narrowed = d.forceall or d.forcetargets or d.forcerun or d.until or d.omit_from
    narrowed = narrowed or d.target_jobs  # a job of a cluster or container executor
    remote = workflow.remote_execution_settings
    return not (
        workflow.executor_plugin is None  # --summary, --report, --list-changes, --dag, ...
        or workflow.touch
        or narrowed
        or d.allowed_rules
        or d.batch
        or d.trust_io_cache
        or workflow.workflow_settings.consider_ancient
        or workflow.workflow_settings.persistence_backend.name != "FILE"
        or workflow.storage_settings.default_storage_provider
        or workflow.storage_settings.all_temp
        or (remote is not None and remote.immediate_submit)
    )


def settings(workflow: Any) -> list[Any]:
    """The settings of the call, besides the code and the config, that change verdicts."""
    import snakemake
    import yaml

    d = workflow.dag_settings
    deploy = workflow.deployment_settings
    return [
        sorted(t.name for t in d.rerun_triggers),
        d.max_checksum_file_size,
        sorted(m.name for m in deploy.deployment_method),
        str(deploy.conda_prefix),
        snakemake.__version__,
        yaml.__version__,
    ]


class _WhenNothingToBeDone(logging.Handler):
    """Snakemake's verdict on a plain call with nothing to run is its log message only (no
    hook runs then, not even for a dry-run)."""

    def __init__(self, react: Callable[[], None]):
        super().__init__(logging.INFO)
        self.react = react

    def emit(self, record: logging.LogRecord) -> None:
        from snakemake.common import NOTHING_TO_BE_DONE_MSG

        if record.getMessage() == NOTHING_TO_BE_DONE_MSG:
            self.react()


def when_nothing_to_be_done(react: Callable[[], None]) -> None:
    """Call `react` when Snakemake says "Nothing to be done" (once per process)."""
    from snakemake.logging import logger

    if not any(type(h).__name__ == _WhenNothingToBeDone.__name__ for h in logger.handlers):
        logger.addHandler(_WhenNothingToBeDone(react))
