"""Attempts of paid work (an agent run, a judge call): born in a directory of their own,
held by a lease, promoted by copy, never deleted.

    run_NN/attempts/<k>/                 agent attempt k: attempt.json, agent/, workspace/
    run_NN/judge/judge_NN/attempts/<j>/  judge attempt j of one slot: attempt.json, its files

Why: Snakemake deletes a job's declared outputs before it runs it and after it fails, and a
killed scheduler leaves its jobs' processes running. So a paid job never writes its outputs
in place. It writes into its attempt directory; when it has finished, and only if it is still
the newest attempt, it *copies* its files to the declared outputs (`promote`). A late writer
from an older attempt can then only ever touch its own directory, and the files Snakemake
deletes are copies: the attempt directory keeps every byte that was paid for.

Before starting, a job looks at the earlier attempts of the same work:
- one still running (its lease is alive: same host and the same process, or a fresh heartbeat
  from another host) is waited for until its deadline, then ended. A job that runs in one of
  the scheduler's threads (a `checks` judge: no call, no process of its own) holds a lease
  that names its thread too; past its deadline it is marked interrupted, never ended (that
  would end the scheduler);
- the processes of one whose job died are ended (they carry its marker variable);
- a finished one with the same meaning (and input, for a judge) that nobody retired is
  *adopted*: promoted again, with no new paid call. This is what makes a retry after a local
  write failure, a resumed scheduler after `kill -9`, or a re-derived input free;
- the rest stay where they are, retired (superseded). `scylla rerun` retires on purpose.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scylla.config.meaning import Meaning
from scylla.layout import paths
from scylla.util import jsonio, procs

RECORD = paths.ATTEMPT_RECORD
CURRENT = paths.ATTEMPT_CURRENT
HEARTBEAT = paths.HEARTBEAT
LOCK = paths.LOCK
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 60.0
WAIT_POLL_SECONDS = 1.0

RUNNING, FINISHED, FAILED, INTERRUPTED = "running", "finished", "failed", "interrupted"


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Attempt:
    """One attempt directory and its record (attempt.json)."""

    dir: Path
    record: dict[str, Any]

    @property
    def number(self) -> int:
        return int(self.dir.name)

    @property
    def state(self) -> str:
        return str(self.record.get("state", ""))

    @property
    def retired(self) -> bool:
        return bool(self.record.get("retired"))

    @property
    def superseded_only(self) -> bool:
        """Retired because another attempt began (a change of meaning), not on purpose (a
        `scylla rerun`): it may be adopted again when its meaning comes back."""
        return bool((self.record.get("retired") or {}).get("auto"))

    @property
    def meaning(self) -> Meaning | None:
        return Meaning.from_dict(self.record.get("meaning"))

    @property
    def marker(self) -> str:
        """The value of procs.ATTEMPT_VAR in every process of this attempt."""
        return str(self.dir.resolve())

    @property
    def cost_usd(self) -> float | None:
        cost = self.record.get("cost_usd")
        return float(cost) if isinstance(cost, int | float) else None

    def path(self, rel: str) -> Path:
        return self.dir / rel

    @property
    def corrupt(self) -> bool:
        """Its attempt.json exists but is not a record (rebuilt from its files when we can)."""
        return bool(self.record.get("corrupt_record"))

    def save(self) -> None:
        target = self.dir / RECORD
        if self.corrupt and target.exists():  # keep the damaged bytes, never overwrite them
            os.replace(target, self.dir / f"{RECORD}.corrupt-{time.time_ns()}")
            self.record.pop("corrupt_record", None)
        jsonio.write_json(target, self.record)

    def update(self, **fields: Any) -> None:
        self.record.update(fields)
        self.save()

    def lease_alive(self) -> bool:
        lease = self.record.get("lease") or {}
        if self.state != RUNNING or not lease:
            return False
        if lease.get("host") == procs.host() and lease.get("boot") == procs.boot_id():
            pid = int(lease.get("pid", 0))
            if "thread" in lease and not procs.has_thread(pid, int(lease["thread"])):
                return False
            return procs.alive(pid, lease.get("ticks"))
        try:  # another machine (a cluster node): trust a fresh heartbeat only
            age = time.time() - (self.dir / HEARTBEAT).stat().st_mtime
        except OSError:
            return False
        return age < STALE_SECONDS

    def processes(self) -> list[int]:
        return list(procs.with_marker(procs.ATTEMPT_VAR, self.marker))

    def lease_process(self) -> int | None:
        """The process holding the lease when it is the job's own (a step process), which may
        be ended; None for a lease held by a thread of the scheduler, or no lease."""
        lease = self.record.get("lease") or {}
        if "thread" in lease or not lease.get("pid"):
            return None
        return int(lease["pid"])

    def live_processes(self) -> list[int]:
        """What ending this attempt ends: the processes its marker is on, plus its lease's
        own process while that lease is alive (never a scheduler's thread)."""
        pids = self.processes()
        holder = self.lease_process()
        if holder is not None and holder not in pids and self.lease_alive():
            pids.append(holder)
        return pids

    def deadline(self) -> float:
        return float(self.record.get("deadline") or 0.0)


def read(attempt_dir: Path) -> Attempt | None:
    """The attempt in `attempt_dir`; None when it has no record. A record that does not
    parse gives an attempt in state "unknown" (see Attempt.corrupt)."""
    record = jsonio.read_json_object(attempt_dir / RECORD)
    if record is not None:
        return Attempt(attempt_dir, record)
    if (attempt_dir / RECORD).is_file():
        return Attempt(attempt_dir, {"state": "unknown", "corrupt_record": True})
    return None


def numbers(root: Path) -> list[int]:
    try:
        return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit())
    except OSError:
        return []


def recorded_numbers(root: Path) -> list[int]:
    """Numbers of the attempts that hold a record (a directory whose record could not be
    written, say on a full disk, is no attempt; first-release archives count)."""
    return [
        n
        for n in numbers(root)
        if (root / str(n) / RECORD).is_file() or (root / str(n) / paths.ARCHIVE_NOTE).is_file()
    ]


def listing(root: Path) -> list[Attempt]:
    """The attempts with a record under `root`, oldest first."""
    out = []
    for n in numbers(root):
        att = read(root / str(n))
        if att is not None:
            out.append(att)
    return out


def current_number(root: Path) -> int | None:
    """The attempt that may promote now: the `current` pointer (written under the lock when
    an attempt begins or is adopted), else the newest attempt with a record."""
    try:
        return int((root / CURRENT).read_text().strip())
    except (OSError, ValueError):
        return max(recorded_numbers(root), default=None)


def _set_current(root: Path, number: int) -> None:
    jsonio.write_text(root / CURRENT, f"{number}\n")


def newest(root: Path) -> Attempt | None:
    """The attempt with the highest number (the last one begun)."""
    atts = listing(root)
    return atts[-1] if atts else None


def current(root: Path) -> Attempt | None:
    """The attempt whose files are (or may be) promoted now: see current_number."""
    number = current_number(root)
    return read(root / str(number)) if number is not None else None


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Heartbeat:
    """Touch the attempt's heartbeat file while the job works (a lease other hosts can see)."""

    def __init__(self, attempt: Attempt):
        self.file = attempt.dir / HEARTBEAT
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _beat(self) -> None:
        with contextlib.suppress(OSError):
            self.file.touch()

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._beat()

    def __enter__(self) -> Heartbeat:
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


# ------------------------------------------------------------------------------ claiming


@dataclass
class Claim:
    attempt: Attempt
    adopted: bool


def _begin(root: Path, kind: str, meaning: Meaning, key: str, budget: float) -> Attempt:
    number = max(numbers(root), default=0) + 1
    att_dir = root / str(number)
    att_dir.mkdir(parents=True)
    att = Attempt(
        att_dir,
        {
            "kind": kind,
            "number": number,
            "token": os.urandom(16).hex(),
            "state": RUNNING,
            "meaning": meaning.as_dict(),
            "key": key,
            "started_at": now(),
            "deadline": time.time() + budget,
            "lease": new_lease(),
        },
    )
    att.save()
    (att_dir / HEARTBEAT).touch()
    return att


def new_lease() -> dict[str, Any]:
    """Who holds a new attempt: this process, and this thread when it is not the main one
    (a job in one of Snakemake's threads)."""
    held: dict[str, Any] = {
        "pid": os.getpid(),
        "ticks": procs.start_ticks(os.getpid()),
        "host": procs.host(),
        "boot": procs.boot_id(),
    }
    if threading.current_thread() is not threading.main_thread():
        held["thread"] = threading.get_native_id()
    return held


def stop_reason(exc: BaseException) -> str:
    """How a job was stopped, in words (an attempt's `error`)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C / SIGINT)"
    if isinstance(exc, SystemExit) and isinstance(exc.code, int) and exc.code > 128:
        import signal

        sig = exc.code - 128
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        return f"stopped by {name} (a graceful stop, --kill-orphans, scancel, ...)"
    return str(exc) or repr(exc)


def _supersede(atts: list[Attempt], by: int) -> None:
    for a in atts:
        if a.number != by and not a.retired:
            a.update(retired={"at": now(), "reason": f"superseded by {by}", "auto": True})


def end_orphans(att: Attempt) -> int:
    """End the processes of an attempt whose job is gone (the caller decides its state)."""
    pids = att.processes()
    if pids:
        procs.terminate(pids, grace=2.0)
    return len(pids)


def claim(
    root: Path,
    kind: str,
    meaning: Meaning,
    key: str,
    budget: float,
    log: Callable[[str], None],
    adoptable: Callable[[Attempt], bool] = lambda a: True,
    before_begin: Callable[[], Any] = lambda: None,
    salvage: Callable[[Attempt], bool] = lambda a: False,
    before_adopt: Callable[[Attempt], Any] = lambda a: None,
) -> Claim:
    """Adopt a finished earlier attempt of the same meaning and key, or begin a new one.

    Waits (polling) for an earlier attempt that is still running, up to its deadline; past
    it, that attempt's processes are ended. `budget` is how long the new attempt may take
    (its deadline for anyone waiting on it). `before_begin` runs under the lock just before a
    new attempt takes its number (to archive what belongs to the previous one). `salvage` may
    turn an attempt whose job died into a finished one from the evidence it left (the CLI's
    final answer on disk), so that it is adopted rather than paid for again. An attempt only
    superseded by a change of meaning is adopted again when the meaning comes back (a config
    switched back costs nothing); `before_adopt` runs first when that attempt is not the
    current one (to bring its judging back).
    """
    announced = False
    while True:
        with locked(root):
            atts = listing(root)
            live = [a for a in atts if a.lease_alive()]
            if not live:
                for a in atts:
                    if a.state == RUNNING or (not a.retired and a.processes()):
                        n = end_orphans(a) if a.processes() else 0
                        if a.state == RUNNING and salvage(a):
                            log(f"attempt {a.number}: its job died after the call ended: kept")
                        elif a.state == RUNNING:
                            a.update(state=INTERRUPTED, ended_at=now(), error="its job died")
                        log(f"attempt {a.number}: its job is gone; ended {n} leftover process(es)")
                current = current_number(root)
                for a in reversed(atts):
                    if (
                        a.state == FINISHED
                        and (not a.retired or a.superseded_only)
                        and a.meaning is not None
                        and a.meaning.digest == meaning.digest
                        and a.record.get("key", "") == key
                        and adoptable(a)
                    ):
                        if a.number != current:
                            before_adopt(a)
                            _supersede(atts, a.number)
                        a.record.pop("retired", None)
                        a.update(adopted_at=now())
                        _set_current(root, a.number)
                        return Claim(a, adopted=True)
                before_begin()
                att = _begin(root, kind, meaning, key, budget)
                _supersede(atts, att.number)
                _set_current(root, att.number)
                return Claim(att, adopted=False)
            holder = live[-1]
            overdue = time.time() > holder.deadline() > 0
        if overdue:
            log(f"attempt {holder.number} is past its deadline: ending it")
            procs.terminate(holder.live_processes(), 5.0)
            with locked(root):
                holder.update(state=INTERRUPTED, ended_at=now(), error="ended past its deadline")
            continue
        if not announced:
            pid = holder.record.get("lease", {}).get("pid")
            log(f"attempt {holder.number} (pid {pid}) is still running: waiting for it")
            announced = True
        time.sleep(WAIT_POLL_SECONDS)


# ----------------------------------------------------------------------------- promotion


def file_facts(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256(path)}


def sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def copy_atomic(src: Path, dest: Path) -> None:
    """A copy of `src` at `dest` (bytes and mtime), appearing at once (temp file + rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".promote.tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)  # unique: two jobs healing the same file never share a temp file
    try:
        shutil.copy2(src, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Superseded(RuntimeError):
    """A newer attempt exists: this one must not promote (a late writer, stopped)."""


def promote(root: Path, att: Attempt, files: dict[str, Path]) -> None:
    """Copy the attempt's files ({relative name in the attempt: declared output}) into place,
    if it is still the newest attempt under `root` and nobody retired it."""
    with locked(root):
        fresh = read(att.dir)
        if fresh is None or current_number(root) != att.number or fresh.retired:
            raise Superseded(f"attempt {att.number} was superseded; its files stay in {att.dir}")
        att.record = fresh.record
        facts = {}
        for rel, dest in files.items():
            copy_atomic(att.path(rel), dest)
            facts[rel] = file_facts(att.path(rel))
        att.update(
            files=facts, promoted_at=now(), promoted_to={k: str(v) for k, v in files.items()}
        )


def damaged(att: Attempt, files: dict[str, Path], thorough: bool = True) -> list[str]:
    """Promoted copies that no longer hold what the attempt recorded (emptied, truncated,
    replaced). Sizes only when not `thorough` (cheap enough for a status of 10,000 runs);
    mtimes are no evidence: Snakemake touches a job's outputs after it ends."""
    facts = att.record.get("files") or {}
    out = []
    for rel, dest in files.items():
        want = facts.get(rel)
        if not want:
            continue
        try:
            size = dest.stat().st_size
        except OSError:
            continue  # missing: Snakemake's business (the DAG re-makes it)
        if size != want.get("size") or (thorough and sha256(dest) != want.get("sha256")):
            out.append(rel)
    return out


def restore(
    att: Attempt,
    rels: list[str],
    files: dict[str, Path],
    keep: Path,
    sums: dict[str, str] | None = None,
) -> list[str]:
    """Put the attempt's own bytes back over damaged copies; the damaged files are copied to
    `keep` first (nothing is deleted) and replaced in one rename, so a reader never finds the
    file missing. `sums`: what the files the record does not list must hash to (the judge
    prompt made from the attempt). Returns what was restored."""
    done = []
    recorded = {rel: f.get("sha256") for rel, f in (att.record.get("files") or {}).items()}
    sums = {**recorded, **(sums or {})}
    for rel in rels:
        src, dest = att.path(rel), files[rel]
        if not src.is_file() or sha256(src) != sums.get(rel):
            continue  # the attempt's own copy is not intact either: leave it to the DAG
        if dest.exists():
            try:  # the same place under quarantine/<time>/ as under the run directory
                stash = keep / dest.resolve().relative_to(keep.resolve().parent.parent)
            except ValueError:
                stash = keep / rel
            stash.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(dest, stash)
        copy_atomic(src, dest)
        done.append(rel)
    if done and keep.is_dir():
        jsonio.write_json(
            keep / paths.ARCHIVE_NOTE,
            {"archived_at": now(), "reason": f"damaged: restored from {att.dir}", "moved": done},
        )
    return done


def retire(root: Path, att: Attempt, reason: str) -> None:
    with locked(root):
        fresh = read(att.dir) or att
        fresh.update(retired={"at": now(), "reason": reason})
        att.record = fresh.record


def unpromote(att: Attempt, files: dict[str, Path]) -> list[str]:
    """Remove promoted copies that are byte-identical to the attempt's own files (so the DAG
    sees them missing); anything that differs moves into the attempt's `displaced/`."""
    removed = []
    for rel, dest in files.items():
        if not dest.is_file():
            continue
        src = att.path(rel)
        if src.is_file() and sha256(src) == sha256(dest):
            dest.unlink()
        else:
            stash = att.dir / "displaced" / rel
            stash.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(dest), str(stash))
        removed.append(rel)
    return removed
