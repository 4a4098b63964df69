"""Read Snakemake's own bookkeeping (.snakemake/) without importing Snakemake."""

from __future__ import annotations

import os
from base64 import urlsafe_b64decode
from pathlib import Path


def find_workdir(start: Path) -> Path | None:
    """The Snakemake working directory above `start` (the one holding .snakemake/)."""
    for d in [start.resolve(), *start.resolve().parents]:
        if (d / ".snakemake").is_dir():
            return d
    return None


def _decode(rel_parts: list[str]) -> str | None:
    token = "".join(p[1:] if p.startswith("@") else p for p in rel_parts)
    try:
        return urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def incomplete_files(workdir: Path | None) -> set[Path]:
    """Absolute paths of every output Snakemake marked incomplete (its job never finished)."""
    if workdir is None:
        return set()
    root = workdir / ".snakemake" / "incomplete"
    found: set[Path] = set()
    if not root.is_dir():
        return found
    for dirpath, _dirs, files in os.walk(root):
        rel = Path(dirpath).relative_to(root).parts
        for name in files:
            if name == "migration_underway":
                continue
            key = _decode([*rel, name])
            if key:
                path = Path(key)
                found.add((path if path.is_absolute() else workdir / path).resolve())
    return found


def locks(workdir: Path | None) -> list[Path]:
    if workdir is None:
        return []
    d = workdir / ".snakemake" / "locks"
    return sorted(d.iterdir()) if d.is_dir() else []
