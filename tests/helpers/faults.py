"""The fault-injection suite's machinery (tests/faults): one small experiment, real runs, a
ledger.

Every case is a real pipeline run in a temporary directory with the shipped `claude-standin`
(no mocks). A case snapshots the files of every completed run it must not touch, injects its
fault, recovers with the tools a user has (`scylla`, plain `snakemake`), and then checks:
bytes changed in protected files (must be 0), processes left behind (must be 0) and paid
calls made (the stand-in logs each call to calls.jsonl). The ledger collects those figures
for the summary printed at the end of the session (and faults-ledger.json).

The runners and paths the fault tests use as `f.scylla`, `f.snakemake`, `f.ok`, `f.rp`... are
the shared ones, imported here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scylla.util import procs

from .processes import processes_under, wait_for
from .project import CONFIG, write_modes
from .recovery import SLOTS, quick_experiment
from .run import calls, ok, scylla, snakemake, start
from .trees import label, rp

__all__ = [
    "CONFIG",
    "LEDGER",
    "RUNS",
    "SLOTS",
    "TIERS",
    "Case",
    "Entry",
    "calls",
    "experiment",
    "judge_modes",
    "leftovers",
    "modes",
    "ok",
    "rp",
    "run_files",
    "schedulers",
    "scylla",
    "snakemake",
    "start",
    "summary",
    "wait_for",
]

TIERS = {"T0": {"subtests": {"00": {}, "01": {"claude_md": "# be careful\n"}}}}
RUNS = [("T0", "00", 1), ("T0", "00", 2), ("T0", "01", 1), ("T0", "01", 2)]


def experiment(task: Path, **changes: Any) -> dict[str, Any]:
    """The suite's experiment: the recovery scenario's, one tier of two subtests, 2 runs."""
    exp = quick_experiment(task, tiers=json.loads(json.dumps(TIERS)), runs=2)
    exp.update(changes)
    return exp


def modes(wd: Path, key: tuple[str, str, int], *agent_modes: str) -> None:
    write_modes(rp(wd, key).dir / "modes.json", [f"agent:{m}" for m in agent_modes])


def judge_modes(wd: Path, key: tuple[str, str, int], slot: str, *judge_modes: str) -> None:
    write_modes(
        rp(wd, key).judge_slot(slot).dir / "modes.json", [f"judge:{m}" for m in judge_modes]
    )


# --------------------------------------------------------------------------- observations


def run_files(run_dir: Path) -> dict[str, str]:
    """sha256 of every file of a run, but its worktrees (git may refresh their index)."""
    out = {}
    for p in sorted(run_dir.rglob("*")):
        rel = p.relative_to(run_dir)
        if "workspace" in rel.parts or not p.is_file() or p.name == "heartbeat":
            continue
        out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def leftovers(wd: Path) -> list[int]:
    """Processes still alive from this working directory: by cwd, or by an attempt marker."""
    found = set(processes_under(wd))
    prefix = str(wd.resolve()) + "/"
    found |= set(procs.with_marker(procs.ATTEMPT_VAR, prefix, prefix=True))
    return sorted(p for p in found if procs.alive(p))


def schedulers(wd: Path) -> list[int]:
    return procs.snakemake_schedulers(wd)


# -------------------------------------------------------------------------------- ledger


@dataclass
class Entry:
    case: str
    outcome: str = ""
    files_checksummed: int = 0
    bytes_changed: int = 0
    orphans_left: int = 0
    paid_calls: int = 0
    paid_calls_wasted: int = 0
    notes: list[str] = field(default_factory=list)


LEDGER: list[Entry] = []


class Case:
    """One fault: protect files, inject, recover, then account for what happened."""

    def __init__(
        self,
        name: str,
        wd: Path,
        protect: Iterable[tuple[str, str, int]] = (),
        rederived: Iterable[str] = (),
    ):
        """`rederived`: derived JSON records (run-relative) that may be written again, but
        only as a superset: every field they held keeps its value."""
        self.entry = Entry(name)
        self.wd = wd
        self.protected = {k: run_files(rp(wd, k).dir) for k in protect}
        self.rederived = {
            (k, rel): json.loads((rp(wd, k).dir / rel).read_text())
            for k in self.protected
            for rel in rederived
        }
        self.calls_before = len(calls(wd))

    def new_calls(self) -> list[dict[str, Any]]:
        return calls(self.wd)[self.calls_before :]

    def close(self, outcome: str, wasted: int | None = None, settle: float = 10.0) -> Entry:
        """Check the protected runs and the processes, record the entry, assert the rules."""
        changed = 0
        for key, before in self.protected.items():
            now = run_files(rp(self.wd, key).dir)
            for rel, digest in before.items():
                if now.get(rel) != digest:
                    target = rp(self.wd, key).dir / rel
                    if (key, rel) in self.rederived and _keeps(self.rederived[key, rel], target):
                        continue
                    changed += target.stat().st_size if target.exists() else 1
                    self.entry.notes.append(f"changed: {label(key)}/{rel}")
        deadline = time.monotonic() + settle
        left = leftovers(self.wd)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = leftovers(self.wd)
        self.entry.outcome = outcome
        self.entry.files_checksummed = sum(len(v) for v in self.protected.values())
        self.entry.bytes_changed = changed
        self.entry.orphans_left = len(left)
        self.entry.paid_calls = len(self.new_calls())
        self.entry.paid_calls_wasted = wasted or 0
        LEDGER.append(self.entry)
        for pid in left:  # leave a clean machine for the next case either way
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        assert changed == 0, self.entry.notes
        assert not left, f"processes left behind: {left}"
        return self.entry


def _keeps(old: dict[str, Any], target: Path) -> bool:
    """`target` still holds every field of `old` with its value (new fields may be added)."""
    try:
        new = json.loads(target.read_text())
    except (OSError, ValueError):
        return False
    return all(k in new and new[k] == v for k, v in old.items())


def summary() -> dict[str, Any]:
    return {
        "faults_tried": len(LEDGER),
        "files_checksummed": sum(e.files_checksummed for e in LEDGER),
        "bytes_changed": sum(e.bytes_changed for e in LEDGER),
        "orphans_left": sum(e.orphans_left for e in LEDGER),
        "paid_calls_wasted": sum(e.paid_calls_wasted for e in LEDGER),
        "cases": [asdict(e) for e in LEDGER],
    }
