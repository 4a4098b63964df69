"""Stable content digests: what a run *means*, independent of dict order."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def digest(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def tree_digest(root: Path) -> str:
    """Digest of every file (path + bytes) below `root`, ignoring VCS and cache folders."""
    h = hashlib.sha256()
    skip = {".git", "__pycache__", ".pytest_cache", ".ruff_cache"}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if skip.intersection(rel.parts) or not path.is_file():
            continue
        h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]
