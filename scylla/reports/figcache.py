"""Rendered figures kept by what they show, so a report rebuilt from the same data copies them.

`scylla regenerate`, a deleted derived record, or `scylla report` rebuild the experiment report
from data that is usually unchanged; drawing its figures (and importing matplotlib to do so)
was most of that job. A figure's key is a digest of its name, its data (each DataFrame as CSV
with its dtypes, other arguments by repr) and what draws it (the source of
`scylla/reports/figures.py`, which holds the style, and the matplotlib and pandas versions).
Drawing is deterministic (no dates, fixed SVG ids), so a copy holds the bytes a new drawing
would. One entry per figure name and experiment is kept: the latest.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

from scylla.layout import paths

FORMATS = ("png", "svg")  # what figures.save writes (asserted there)


@functools.cache
def _drawing_code() -> bytes:
    source = (Path(__file__).with_name("figures.py")).read_bytes()
    versions = "|".join(_version(p) for p in ("matplotlib", "pandas", "numpy"))
    return hashlib.sha256(source).digest() + versions.encode()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def _data(arg: Any) -> bytes:
    import pandas as pd

    if isinstance(arg, pd.DataFrame):
        return (repr(arg.dtypes.to_dict()) + "\n" + arg.to_csv()).encode()
    return repr(arg).encode()


def key(name: str, args: tuple[Any, ...]) -> str:
    h = hashlib.sha256(_drawing_code())
    h.update(name.encode())
    for arg in args:
        data = _data(arg)
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:32]


class Cache:
    """Figures of one experiment under scylla's state directory (paths.figure_cache)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside(cls, workdir: Path | None, experiment: str) -> Cache | None:
        """The cache of the working directory holding `.snakemake/`; None without one."""
        return None if workdir is None else cls(paths.figure_cache(workdir, experiment))

    def _entry(self, name: str, digest: str, ext: str) -> Path:
        return self.root / f"{name}.{digest}.{ext}"

    def restore(self, name: str, digest: str, base: Path) -> bool:
        """Copy the kept figure to `base`.png/.svg (each atomically); False when not kept."""
        kept = [self._entry(name, digest, ext) for ext in FORMATS]
        if not all(p.is_file() for p in kept):
            return False
        base.parent.mkdir(parents=True, exist_ok=True)
        for src, ext in zip(kept, FORMATS, strict=True):
            _copy(src, base.with_suffix(f".{ext}"))
        return True

    def store(self, name: str, digest: str, base: Path) -> None:
        """Keep the figure just drawn at `base`; earlier entries of `name` go."""
        self.root.mkdir(parents=True, exist_ok=True)
        for old in self.root.glob(f"{name}.*"):
            if old.name.split(".")[1] != digest:
                old.unlink(missing_ok=True)
        for ext in FORMATS:
            _copy(base.with_suffix(f".{ext}"), self._entry(name, digest, ext))


def _copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
