"""The `scylla run` front end on a finished experiment: what a person sees."""

from __future__ import annotations

import subprocess

from pipeline_helpers import CONFIG_NAME, VENV_BIN, parse_job_stats, rp, smk_env


def scylla(workdir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "scylla"), *args],
        cwd=workdir,
        env=smk_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_run_again_says_nothing_is_left_to_do(workdir):
    proc = scylla(workdir, "run", CONFIG_NAME)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing left to do" in proc.stdout
    assert "Select jobs to execute" not in proc.stdout + proc.stderr  # chatter is filtered
    assert "results/mini" in proc.stdout


def test_run_regenerates_a_lost_result_and_says_how_much_ran(workdir):
    target = rp(workdir, "T0", "00", 1).agent_result
    before = target.read_bytes()
    target.unlink()
    proc = scylla(workdir, "run", CONFIG_NAME)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert target.read_bytes() == before
    # agent_result, run_result, subtest, tier and experiment reports
    assert "scylla: 5 job(s) done." in proc.stdout
    assert "[scylla] mini: 4/4 runs done" in proc.stderr


def test_run_overrides_are_config_overrides(workdir):
    proc = scylla(workdir, "run", CONFIG_NAME, "--runs", "3", "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = parse_job_stats(proc.stdout + proc.stderr)
    # one more run in each of the two subtests: 2 agents, no finished run is touched
    assert stats["agent"] == 2 and stats["judge"] == 4, stats
