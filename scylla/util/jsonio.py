"""Atomic JSON/text writes and tolerant reads: a corrupt file is an absent file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scylla.util import secrets


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_UMASK = _umask()
_batch = threading.local()


@contextlib.contextmanager
def synced_at_end() -> Iterator[None]:
    """Within this block (in this thread), `write_text` leaves each file's fsync to the end
    of the block, which fsyncs every file written before it returns. For the steps whose
    files Snakemake guards as outputs (an incomplete marker until the job ends) or that are
    made again from paid files at no cost: once the job ends, they are on disk all the same.
    One fsync after another at the end takes a fraction of what one after each write takes
    while other jobs write too (`scylla regenerate` of 1,131 runs: -0.6 s of 11 s, see
    docs/performance.md). A failed block fsyncs nothing: its job failed. Nested: one batch."""
    if getattr(_batch, "paths", None) is not None:
        yield
        return
    _batch.paths = []
    try:
        yield
        for path in dict.fromkeys(_batch.paths):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # moved or removed later in the block
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        _batch.paths = None


def write_text(
    path: str | os.PathLike[str], text: str, mode: int | None = None, secret: bool = False
) -> None:
    """Write `text` to `path` atomically (temp file in the same directory + rename).

    Secret values are scrubbed (scylla.util.secrets) unless `secret`: a file that must hold them
    to run, which is then owner-only whatever `mode` says. Otherwise the file gets the usual
    permissions (0666 less the umask) unless `mode` is given.
    """
    if secret:
        mode = 0o600
    else:
        text = secrets.scrub(text)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, 0o666 & ~_UMASK if mode is None else mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            batch = getattr(_batch, "paths", None)
            if batch is None:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
        if batch is not None:
            batch.append(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Serialise `data` as indented JSON and write it atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any | None:
    """Return the parsed JSON of `path`, or None when it is missing, empty or corrupt."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def read_json_object(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Like read_json, but only a JSON object counts as present."""
    data = read_json(path)
    return data if isinstance(data, dict) else None


def read_text(path: str | os.PathLike[str], default: str = "") -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return default


def scrub_file(path: os.PathLike[str] | str) -> bool:
    """Scrub a file written by another program (an agent's stdout.log); True if it changed."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    clean = secrets.scrub(text)
    if clean == text:
        return False
    write_text(path, clean)
    return True
