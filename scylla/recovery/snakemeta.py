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


def _markers(workdir: Path | None) -> dict[Path, Path]:
    """{absolute output path: its incomplete-marker file}."""
    if workdir is None:
        return {}
    root = workdir / ".snakemake" / "incomplete"
    found: dict[Path, Path] = {}
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
                out = Path(os.path.abspath(path if path.is_absolute() else workdir / path))
                found[out] = Path(dirpath) / name
    return found


def incomplete_files(workdir: Path | None) -> set[Path]:
    """Absolute paths of every output Snakemake marked incomplete (its job never finished)."""
    return set(_markers(workdir))


def clear_incomplete(workdir: Path | None, outputs: set[Path]) -> int:
    """Remove the incomplete markers of `outputs` (what `--cleanup-metadata` would do, without
    its failure on jobs that never recorded metadata). Returns how many were removed."""
    removed = 0
    for out, marker in _markers(workdir).items():
        if out in outputs:
            marker.unlink(missing_ok=True)
            removed += 1
    return removed


def locks(workdir: Path | None) -> list[Path]:
    if workdir is None:
        return []
    d = workdir / ".snakemake" / "locks"
    return sorted(d.iterdir()) if d.is_dir() else []
