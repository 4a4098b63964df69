"""Atomic JSON/text writes and tolerant reads: a corrupt file is an absent file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from scylla.util import secrets


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_UMASK = _umask()


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
            os.fsync(fh.fileno())
        os.replace(tmp, target)
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
