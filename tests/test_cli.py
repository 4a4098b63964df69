"""The `scylla run` front end on a finished experiment: what a person sees."""

from __future__ import annotations

import json

from helpers import CONFIG, REPO, ep, rp, scylla


def test_run_again_says_nothing_is_left_to_do(workdir):
    proc = scylla(workdir, "run", CONFIG)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing left to do" in proc.stdout
    assert "Select jobs to execute" not in proc.stdout + proc.stderr  # chatter is filtered
    assert "results/mini" in proc.stdout


def test_run_regenerates_a_lost_result_and_says_how_much_ran(workdir):
    target = rp(workdir, ("T0", "00", 1)).agent_result
    before = target.read_bytes()
    target.unlink()
    proc = scylla(workdir, "run", CONFIG)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert target.read_bytes() == before
    # run_result (agent/result.json with it), subtest, tier and experiment reports
    assert "scylla: 4 job(s) done." in proc.stdout
    assert "[scylla] mini: 4/4 runs done" in proc.stderr


def test_selection_options_restrict_what_runs_and_never_redefine_the_experiment(workdir):
    """--tiers/--runs/--max-subtests choose what runs now; the experiment stays whole."""
    saved = ep(workdir).resolved_config
    before = saved.read_bytes()
    lost = [rp(workdir, ("T0", "00", 2)).agent_result, rp(workdir, ("T0", "01", 1)).agent_result]
    for f in lost:
        f.unlink()
    proc = scylla(workdir, "run", CONFIG, "--runs", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lost[1].is_file() and not lost[0].exists()  # run 1 only
    assert saved.read_bytes() == before
    status = scylla(workdir, "status", "results/mini", "--format", "json")
    assert len(json.loads(status.stdout)) == 4  # still the whole experiment


def test_selection_options_outside_the_experiment_are_errors(workdir):
    for args, words in (
        (("--runs", "3"), "has runs 1-2; to add runs, raise `runs:`"),
        (("--tiers", "T9"), "--tiers T9: experiment mini has no such tier (it has T0)"),
    ):
        proc = scylla(workdir, "run", CONFIG, *args, "--dry-run")
        assert proc.returncode != 0 and words in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr  # one line


def test_report_rebuilds_every_report_and_labels_a_partial_experiment(workdir):
    import shutil

    shutil.rmtree(rp(workdir, ("T0", "01", 2)).dir)
    proc = scylla(workdir, "report", "results/mini", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = json.loads(proc.stdout)
    assert head["partial"] is True and head["runs"] == {"configured": 4, "with_results": 3}
    assert "**Partial**: 3 of 4 runs" in ep(workdir).report("md").read_text()
    assert ep(workdir).subtest_report("T0", "01").is_file()


def test_a_profile_is_a_directory_and_a_missing_executor_plugin_is_one_line(tmp_path):
    """`scylla run --profile DIR` (it used to read DIR as the config file), and a profile
    whose executor plugin is not installed stops before anything is written."""
    prof = tmp_path / "profiles" / "cluster"
    prof.mkdir(parents=True)
    (prof / "config.yaml").write_text("executor: no-such-cluster\njobs: 10\n")
    proc = scylla(tmp_path, "run", "--profile", "profiles/cluster")
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        "scylla: --profile profiles/cluster runs jobs with the `no-such-cluster` executor, "
        "whose plugin is not installed: pip install snakemake-executor-plugin-no-such-cluster"
    )
    missing = scylla(tmp_path, "run", "--profile", "profiles/none")
    assert missing.returncode != 0
    assert missing.stderr.strip() == (
        "scylla: --profile profiles/none: no such Snakemake profile "
        "(profiles/none/config.yaml is missing)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profiles"]  # nothing written


def test_the_default_profile_runs_through_scylla_run(tmp_path):
    proc = scylla(tmp_path, "run", "--profile", REPO / "profiles" / "default", "-q", "--", "-n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "profiles/default" in proc.stdout + proc.stderr
