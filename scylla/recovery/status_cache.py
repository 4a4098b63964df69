"""A cache of settled run statuses, so `scylla status` does not re-parse unchanged files.

Classifying a run parses up to seven JSON files; at 10,000 runs that is most of the time a
status takes. A run whose status is settled (completed, results, failed, outdated: nothing is
running and nothing is half-written) is kept here with a fingerprint of everything its
classification consulted: (inode, size, mtime) of the agent's files, the derived records, every
judge slot's judgment, and every attempt directory (records are written atomically, so a new or
rewritten record changes its directory). The next status re-classifies a run only when its
fingerprint differs, or when what the configuration means for it (its meaning digests) or the
classifier's own code changed. A cold cache costs one write; a corrupt one is ignored.

Never consulted for a run with an output Snakemake marked incomplete (a job may be running
there or was interrupted: liveness is not a file fact), and partial or missing runs are never
stored. Kept in `.snakemake/scylla/status/` beside the experiment's Snakemake state.

Checking the fingerprints is one stat per file the classification reads (about 15 syscalls per
run), most of a warm status; classifying a changed run parses its records, most of a cold one.
From hundreds of runs on, `lookup` spreads both over the CPUs this process may use: forked
children check their share of the runs against the cache and send back only the runs that
changed, classified (nothing, in the common case).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scylla.layout import paths

VERSION = 3  # 2: RunStatus.rate_limited; 3: fingerprints kept as their hash
SETTLED_AGENT = frozenset({"completed", "results", "failed", "outdated"})
SETTLED_JUDGE = frozenset({"complete", "outdated", "failed", "agent_failed", "missing"})
# Files whose bytes the classifier reads or size-checks, relative to the run directory.
_RUN_FILES = (
    *paths.AGENT_FILES.values(),
    paths.AGENT_RESULT,
    paths.RUN_RESULT,
    paths.CONSENSUS,
)
# The classifier's code: an edit of any of these invalidates every entry.
# The modules a cached status depends on (paths under scylla/): editing one empties the cache.
_CODE = (
    "recovery/status.py",
    "records.py",
    "recovery/failures.py",
    "recovery/attempts.py",
    "config/meaning.py",
    "steps/run_result.py",
    "recovery/status_cache.py",
)


def _stat(path: str) -> list[int] | None:
    try:
        s = os.stat(path)
    except OSError:
        return None
    return [s.st_ino, s.st_size, s.st_mtime_ns]


_SUFFIXES = tuple("/" + rel for rel in _RUN_FILES)
_JUDGMENT = "/" + paths.JUDGE_FILES["judgment"]
_ATTEMPTS = "/" + paths.ATTEMPTS_DIR


def fingerprint(run_dir: str, slot_dirs: list[str]) -> int:
    """What a run's classification consulted: a flat tuple of (inode, size, mtime) facts,
    -1 for an absent file, the attempt directories by name and the newest one's facts (a
    record is rewritten atomically: its directory changes), kept as the tuple's hash.
    `slot_dirs`: judge/judge_NN. Runs 10,000 times a status: plain string paths, one stat per
    file, nothing else.

    The hash of a tuple of ints is the same in every process of one interpreter version
    (PYTHONHASHSEED only seeds str and bytes; the version is part of the cache's key) and
    64 bits wide: a changed run keeps its old hash with a chance of 2**-64. The tuples
    themselves (about 40 ints each) made the cache 2.5 times bigger and slower to load."""
    stat = os.stat
    out: list[Any] = []
    add, extend = out.append, out.extend
    places = [run_dir + sfx for sfx in _SUFFIXES]
    roots = [run_dir + _ATTEMPTS]
    for rel in slot_dirs:
        places.append(f"{run_dir}/{rel}{_JUDGMENT}")
        roots.append(f"{run_dir}/{rel}{_ATTEMPTS}")
    for root in roots:
        try:
            names = os.listdir(root)
        except OSError:
            add(-1)
            continue
        numbers = sorted(int(n) for n in names if n.isdigit())
        add(len(names))
        extend(numbers)
        if numbers:
            places.append(f"{root}/{numbers[-1]}")
    for place in places:
        try:
            st = stat(place)
        except OSError:
            add(-1)
            continue
        extend((st.st_ino, st.st_size, st.st_mtime_ns))
    return hash(tuple(out))


# Below this many runs a fork costs more than the work it shares out.
PARALLEL_MIN_RUNS = 500
MAX_SHARES = 4


def auto_shares(runs: int) -> int:
    """How many processes `lookup` uses for `runs` runs: one per usable CPU (at most
    MAX_SHARES) when there are enough runs, else 1. Never forks a process with threads
    (a fork copies only the calling thread, and locks held by the others stay held)."""
    if runs < PARALLEL_MIN_RUNS or not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_SHARES, cpus or 1))


Todo = Sequence[tuple[str, str, str]]  # (tier/subtest/run_NN, run directory, meaning key)
Fields = dict[str, Any]  # a run's status (RunStatus.as_dict())
Misses = dict[int, tuple[int, Fields]]  # {index: (fingerprint, status classified afresh)}


def _misses(
    cache: StatusCache,
    todo: Todo,
    slot_dirs: list[str],
    classify: Callable[[int], Fields],
    lo: int,
    hi: int,
) -> Misses:
    """The runs in todo[lo:hi] the cache cannot answer, classified."""
    out = {}
    for i in range(lo, hi):
        name, run_dir, key = todo[i]
        fp = fingerprint(run_dir, slot_dirs)
        if cache.get(name, key, fp) is None:
            out[i] = (fp, classify(i))
    return out


def lookup(
    cache: StatusCache,
    todo: Todo,
    slot_dirs: list[str],
    classify: Callable[[int], Fields],
    shares: int = 1,
) -> tuple[dict[int, Fields], Misses]:
    """(hits, misses) for `todo`: {index: cached status} of the runs whose fingerprint and
    meaning key match their entry; {index: (fingerprint, classify(index))} of the others, to
    `put`. With `shares` > 1, shares - 1 forked children each check and classify a slice and
    send their misses back (marshal over a pipe): a cold status parses every run's records,
    so the children share that too. A child that fails has its slice done here."""
    bounds = [len(todo) * k // shares for k in range(shares + 1)]
    children: list[tuple[int, int, int, int]] = []
    misses: Misses = {}
    try:
        for k in range(1, shares):
            lo, hi = bounds[k], bounds[k + 1]
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: its slice, sent back; it exits without any cleanup
                code = 1
                try:
                    os.close(read_end)
                    got = _misses(cache, todo, slot_dirs, classify, lo, hi)
                    with os.fdopen(write_end, "wb") as out:
                        out.write(marshal.dumps(got))
                    code = 0
                finally:
                    os._exit(code)
            os.close(write_end)
            children.append((pid, read_end, lo, hi))
        misses.update(_misses(cache, todo, slot_dirs, classify, bounds[0], bounds[1]))
        while children:
            pid, read_end, lo, hi = children[-1]
            with os.fdopen(read_end, "rb", closefd=False) as pipe:
                data = pipe.read()
            os.close(read_end)
            _, status = os.waitpid(pid, 0)
            children.pop()
            try:
                sent = marshal.loads(data) if status == 0 else None
            except (EOFError, ValueError, TypeError):
                sent = None
            if not isinstance(sent, dict):
                sent = _misses(cache, todo, slot_dirs, classify, lo, hi)
            misses.update(sent)
    finally:  # interrupted: no child is left behind
        for pid, read_end, _lo, _hi in children:
            with contextlib.suppress(OSError):
                os.close(read_end)
            os.waitpid(pid, 0)
    hits = {i: cache.entries[todo[i][0]][2] for i in range(len(todo)) if i not in misses}
    return hits, misses


def _code_key() -> str:
    package = Path(__file__).parents[1]
    facts = [_stat(str(package / name)) for name in _CODE]
    key = [VERSION, sys.version, facts]  # marshal's format is the interpreter's
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]


class StatusCache:
    """{tier/subtest/run_NN: [meaning key, fingerprint, status fields]} of one experiment."""

    def __init__(self, file: Path, entries: dict[str, list[Any]]):
        self.file = file
        self.entries = entries
        self.changed = False

    @classmethod
    def load(cls, workdir: Path, experiment_dir: Path) -> StatusCache:
        # One file per experiment; entries are named by tier/subtest/run_NN and hold inodes,
        # so a copied tree re-classifies and a moved one does not need to.
        file = paths.status_cache_file(workdir, experiment_dir.name)
        try:  # marshal: 5x faster to load than JSON, and loading it runs no code
            data = marshal.loads(file.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            data = None
        ok = isinstance(data, dict) and data.get("code") == _code_key()
        entries = data.get("runs") if ok else None
        return cls(file, entries if isinstance(entries, dict) else {})

    def get(self, run: str, key: str, fp: int) -> dict[str, Any] | None:
        hit = self.entries.get(run)
        if hit and hit[0] == key and hit[1] == fp:
            return hit[2]
        return None

    def put(self, run: str, key: str, fp: int, fields: dict[str, Any] | None) -> None:
        """Store a settled status (`fields`), or forget the run (None)."""
        if fields is None:
            self.changed |= self.entries.pop(run, None) is not None
        else:
            self.entries[run] = [key, fp, fields]
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        data = marshal.dumps({"code": _code_key(), "runs": self.entries})
        try:  # atomically, like every record (a reader never sees half a cache)
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".status.", dir=self.file.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self.file)
        except OSError:
            pass  # a read-only working directory: the status is right, only slower next time


def settled(status: str, judge_statuses: list[str]) -> bool:
    return status in SETTLED_AGENT and all(s in SETTLED_JUDGE for s in judge_statuses)
