"""Rendered figures (and bootstrap intervals) kept by what they show, so a report rebuilt from
the same data copies them.

`scylla regenerate`, a deleted derived record, or `scylla report` rebuild the experiment report
from data that is usually unchanged; drawing its figures (and importing matplotlib to do so)
was most of that job. A figure's key is a digest of its name, its data (each DataFrame as CSV
with its dtypes, other arguments by repr) and what draws it (the source of
`scylla/reports/figures.py`, which holds the style, and the matplotlib and pandas versions).
Drawing is deterministic (no dates, fixed SVG ids), so a copy holds the bytes a new drawing
would. One entry per figure name and experiment is kept: the latest.

Bootstrap intervals are kept the same way (`intervals`, reports.KeptIntervals): a key of the
interval's name, its data (arrays by dtype, shape and bytes) and what computes it (the source
of `scylla/reports/stats.py` and the numpy, scipy, krippendorff and pandas versions). Resampling is
seeded, so the kept interval is the one a new bootstrap would give. In `scylla regenerate` of
1,131 runs the experiment report's two bootstraps (10,000 resamples each) were 1 s of 1.4 s.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from scylla.layout import paths

FORMATS = ("png", "svg")  # what figures.save writes (asserted there)


@functools.cache
def _code(module: str, *packages: str) -> bytes:
    """What a kept result depends on besides its data: the source of `module` (a file of
    scylla/reports) and the versions of `packages`."""
    source = (Path(__file__).with_name(module)).read_bytes()
    versions = "|".join(_version(p) for p in packages)
    return hashlib.sha256(source).digest() + versions.encode()


DRAWING = ("figures.py", "matplotlib", "pandas", "numpy")
STATISTICS = ("stats.py", "numpy", "scipy", "krippendorff", "pandas")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def _data(arg: Any) -> bytes:
    import numpy as np
    import pandas as pd

    if isinstance(arg, pd.DataFrame):
        return (repr(arg.dtypes.to_dict()) + "\n" + arg.to_csv()).encode()
    if isinstance(arg, np.ndarray):  # its repr elides long arrays: every byte instead
        return f"{arg.dtype.str}{arg.shape}".encode() + np.ascontiguousarray(arg).tobytes()
    if callable(arg):  # by name: its repr holds an address
        return f"{getattr(arg, '__module__', '')}.{getattr(arg, '__qualname__', arg)}".encode()
    return repr(arg).encode()


def key(name: str, args: tuple[Any, ...], code: tuple[str, ...] = DRAWING) -> str:
    """The digest of `name`, `args` and `code` (the module and packages computing it)."""
    h = hashlib.sha256(_code(*code))
    h.update(name.encode())
    for arg in args:
        data = _data(arg)
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:32]


class Cache:
    """Figures (or intervals) of one experiment under scylla's state directory
    (paths.report_cache)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside(cls, workdir: Path | None, experiment: str, kind: str = "figures") -> Cache | None:
        """The cache of the working directory holding `.snakemake/`; None without one."""
        return None if workdir is None else cls(paths.report_cache(workdir, kind, experiment))

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
        self._latest(name, digest)
        for ext in FORMATS:
            _copy(base.with_suffix(f".{ext}"), self._entry(name, digest, ext))

    def load(self, name: str, digest: str, ext: str) -> bytes | None:
        """The bytes kept as `name` for `digest`; None when not kept."""
        try:
            return self._entry(name, digest, ext).read_bytes()
        except OSError:
            return None

    def keep(self, name: str, digest: str, ext: str, data: bytes) -> None:
        """Keep `data` as `name` for `digest` (atomically); earlier entries of `name` go."""
        self._latest(name, digest)
        _atomic(self._entry(name, digest, ext), lambda tmp: tmp.write_bytes(data))

    def _latest(self, name: str, digest: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for old in self.root.glob(f"{name}.*"):
            if old.name.split(".")[1] != digest:
                old.unlink(missing_ok=True)


def _copy(src: Path, dst: Path) -> None:
    _atomic(dst, lambda tmp: shutil.copyfile(src, tmp))


def _atomic(dst: Path, fill: Callable[[Path], Any]) -> None:
    """`dst` made by `fill(tmp)`, then renamed: a reader never sees a partial entry."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fill(tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
