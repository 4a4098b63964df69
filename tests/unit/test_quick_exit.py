"""scylla.util.quick_exit in a real Snakemake command: the status it exits with, its output
and log file, and the atexit handlers of everything else are what they are without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scylla.util import quick_exit

SNAKEFILE = """
import atexit
from pathlib import Path

from scylla.util import quick_exit


@atexit.register
def earlier_handler():  # registered before the fix: still runs, after it is asked
    Path("handler-ran").write_text("yes")


if os.environ.get("FIX") == "1":
    assert quick_exit.install()


class TornDown:
    def __del__(self, open=open):  # the interpreter's teardown frees it
        open("torn-down", "w").close()


kept_to_the_end = TornDown()


rule all:
    input:
        "out.txt",


rule make:
    output:
        "out.txt",
    run:
        if os.environ.get("FAIL") == "1":
            raise ValueError("this job fails")
        Path(output[0]).write_text("made")
"""


def _snakemake(workdir: Path, fix: bool, fail: bool) -> tuple[int, str, str, bool, bool]:
    """exit status, output, the run's Snakemake log, whether the earlier handler ran, whether
    the interpreter was torn down."""
    workdir.mkdir()
    (workdir / "Snakefile").write_text("import os\n" + SNAKEFILE)
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root, "FIX": str(int(fix)), "FAIL": str(int(fail))}
    argv = [sys.executable, "-m", "snakemake", "--cores", "1"]
    proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True)
    (log,) = (workdir / ".snakemake" / "log").glob("*.snakemake.log")
    ran, torn = (workdir / "handler-ran").exists(), (workdir / "torn-down").exists()
    return proc.returncode, proc.stdout + proc.stderr, log.read_text(), ran, torn


def test_a_snakemake_command_ends_with_its_status_output_log_and_handlers(tmp_path):
    for fail in (False, True):
        plain = _snakemake(tmp_path / f"plain-{fail}", fix=False, fail=fail)
        quick = _snakemake(tmp_path / f"quick-{fail}", fix=True, fail=fail)
        assert quick[0] == plain[0] == (1 if fail else 0)
        assert quick[3] and plain[3]  # the earlier atexit handler ran in both
        assert plain[4] and not quick[4]  # only the plain one was torn down
        for _code, output, log, _ran, _torn in (plain, quick):
            last = "At least one job did not complete" if fail else "2 of 2 steps (100%) done"
            assert last in output and last in log, output
            assert "Elapsed time" in output.splitlines()[-1 if not fail else -3]
        # the same lines, but for times and paths
        assert len(quick[1].splitlines()) == len(plain[1].splitlines())
        assert len(quick[2].splitlines()) == len(plain[2].splitlines())


def test_no_other_process_is_changed():
    assert not quick_exit.install()  # pytest: its own status and teardown stay
    assert not getattr(sys.exit, "scylla_quick_exit", False)
