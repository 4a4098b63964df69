"""Job log lines: written to the rule's `log:` and to its history file (survives retries)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scylla.layout.paths import log_history
from scylla.util import secrets


def append(log: str | Path, message: str) -> None:
    line = f"{datetime.now(UTC).isoformat()} {secrets.scrub(message)}\n"
    for path in (Path(log), log_history(log)):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
