"""Where things are: the repository, its workflow, and the executables the tests run.

The executables come from the interpreter running the tests (`sys.executable`): its bin
directory holds `scylla`, `snakemake` and `claude-standin` when scylla is installed into that
environment (`make install`, or `pip install -e '.[dev]'` in any venv).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Not resolved: a venv's python is a symlink to the base interpreter, its bin/ is the venv's.
BIN = Path(sys.executable).parent
SCYLLA = BIN / "scylla"
SNAKEMAKE = BIN / "snakemake"
STANDIN = BIN / "claude-standin"

SNAKEFILE = REPO / "Snakefile"
PROFILE = REPO / "profiles" / "default"
DEMO_TASK = REPO / "config" / "tasks" / "textstats"

# A real ProjectScylla run beside the repository (CI clones main with shared/ beside it).
ORIGINAL_FIXTURE = next(
    (
        d / "fixtures" / "projectscylla-dryrun"
        for d in (REPO.parent / "shared", Path("/work/shared"))
        if (d / "fixtures" / "projectscylla-dryrun").is_dir()
    ),
    Path("/work/shared/fixtures/projectscylla-dryrun"),
)
