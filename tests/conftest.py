"""Fixtures of the pipeline tests; their helpers live in the helpers package (tests/helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import Finished, copy_tree, ok, snakemake, write_config


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The default `mini` config written into tmp_path."""
    return write_config(tmp_path)


@pytest.fixture(scope="session")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    """The `mini` experiment run to the end once per session. Treat it as read-only."""
    wd = tmp_path_factory.mktemp("finished")
    write_config(wd)
    proc = ok(snakemake(wd))
    return Finished(wd, proc)


@pytest.fixture
def workdir(finished: Finished, tmp_path: Path) -> Path:
    """A private copy of the finished experiment for a test that changes it."""
    return copy_tree(finished.dir, tmp_path / "wd")
