"""scylla.util.process.wait: Popen.wait(timeout) without its polling (a pidfd on Linux)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scylla.util.process import wait


def test_it_returns_the_exit_code():
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    assert wait(proc, 30) == 3
    assert proc.returncode == 3


def test_a_process_that_outlives_the_timeout_raises_and_is_left_running():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            wait(proc, 0.2)
        assert proc.poll() is None  # the caller decides how to end it
    finally:
        proc.kill()
        proc.wait()


def test_a_process_already_reaped_is_answered_by_popen():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert wait(proc, 5) == 0
