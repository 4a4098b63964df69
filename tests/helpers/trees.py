"""Working directories and what is in them: the paths of an experiment and its runs, file
checksums and modification times, private copies of a finished tree."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from scylla.layout import paths

from .project import EXP

RunKey = tuple[str, str, int]


def ep(workdir: Path, name: str = EXP) -> paths.ExperimentPaths:
    return paths.experiment(workdir / "results", name)


def rp(workdir: Path, key: RunKey, name: str = EXP) -> paths.RunPaths:
    """The paths of run `key` = (tier, subtest, run number) of experiment `name`."""
    return ep(workdir, name).run(*key)


def label(key: RunKey) -> str:
    return f"{key[0]}/{key[1]}/run_{key[2]:02d}"


def load(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(root: Path, skip: Callable[[Path], bool] | None = None) -> dict[str, str]:
    """{path relative to root: sha256} of every file below root (but those `skip` names)."""
    return {
        str(p.relative_to(root)): sha256(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not (skip and skip(p.relative_to(root)))
    }


def result_hashes(run: paths.RunPaths) -> dict[str, str]:
    """sha256 of a run's results: agent/, judge/, the judge prompt, diff, checks and
    run_result.json."""
    out = {f"agent/{k}": v for k, v in tree_hashes(run.agent_dir).items()}
    out.update({f"judge/{k}": v for k, v in tree_hashes(run.judge_dir).items()})
    for f in (run.judge_prompt, run.diff, run.checks, run.run_result):
        out[f.name] = sha256(f)
    return out


def mtimes(files: Iterable[Path]) -> dict[str, int]:
    return {str(f): f.stat().st_mtime_ns for f in files}


def copy_tree(src: Path, dst: Path) -> Path:
    """A private copy of a working directory, `.snakemake` metadata and mtimes included."""
    shutil.copytree(src, dst, symlinks=True)
    return dst
