"""The live progress line of `scylla run` / `rerun` / `regenerate` (scylla.cli.progress)."""

from __future__ import annotations

import pytest

from scylla.cli.progress import Progress


def test_a_line_that_takes_long_is_made_less_often():
    p = Progress(lambda: "", interval=5.0)
    assert p.pause(0.0) == 5.0
    assert p.pause(1.0) == 5.0  # 1 s of every 6
    assert p.pause(2.5) == pytest.approx(10.0)
    assert 2.5 / (p.pause(2.5) + 2.5) == pytest.approx(p.share)  # at most a fifth of the time
