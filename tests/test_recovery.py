"""Recovery for real: kill -9, `scylla status|repair|rerun|regenerate`, and bad input.

The trees come from helpers/recovery.py (built once per session, copied per fixture): the
*killed* experiment (`scylla run` and two hanging agents SIGKILLed) and the *finished* one.
Both hold one failed agent (FAILED_RUN) and one judge slot that answered garbage twice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import helpers as h
import pytest

from scylla.layout import paths
from scylla.recovery import attempts

FAILED_RUN = h.FAILED_RUN
BAD_JUDGE_RUN, BAD_SLOT = h.GARBAGE_SLOT
HANGS = set(h.HANG_RUNS)


def new_logs(wd: Path, before: set[Path]) -> list[Path]:
    return sorted(set((wd / ".snakemake" / "log").glob("*.snakemake.log")) - before)


def logs(wd: Path) -> set[Path]:
    return set((wd / ".snakemake" / "log").glob("*.snakemake.log"))


def rules_run(log: Path) -> dict[str, int]:
    """{rule: finished jobs} from one snakemake log ("Finished jobid: N (Rule: R)")."""
    out: dict[str, int] = {}
    for rule in re.findall(r"^Finished jobid: \d+ \(Rule: (\w+)\)", log.read_text(), re.M):
        out[rule] = out.get(rule, 0) + 1
    return out


def results_hash(wd: Path) -> dict[str, str]:
    return h.tree_hashes(wd / "results")


def state_hash(wd: Path) -> dict[str, str]:
    """The results and Snakemake's bookkeeping (locks, markers, metadata), not its caches."""
    return h.tree_hashes(wd, lambda p: p.parts[:2] in ((".snakemake", "iocache"),))


# ============================================================ B: the acceptance scenario


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    """kill -9 -> status -> repair (--dry-run first) -> rerun agents --status partial."""
    killed = h.killed_tree(tmp_path_factory)
    wd = h.copy_tree(killed.dir, tmp_path_factory.mktemp("recovered") / "wd")
    smk = wd / ".snakemake"
    s: dict = {"wd": wd, "killed": killed}
    s["status_killed"] = h.by_run(h.status(wd))
    done = [k for k, r in s["status_killed"].items() if r["status"] in ("completed", "failed")]
    s["done"] = done
    s["files_before"] = {k: h.result_hashes(h.rp(wd, k)) for k in done}
    s["locks_before"] = sorted(p.name for p in (smk / "locks").iterdir())
    s["markers_before"] = [p for p in (smk / "incomplete").rglob("*") if p.is_file()]
    results = results_hash(wd)
    s["run_again"] = h.scylla(wd, "run", h.CONFIG)  # what a user tries first
    s["run_again_changed_nothing"] = results_hash(wd) == results
    tree = state_hash(wd)
    s["repair_dry"] = h.scylla(wd, "repair", "results/mini", "--dry-run")
    s["dry_changed_nothing"] = state_hash(wd) == tree
    s["repair"] = h.scylla(wd, "repair", "results/mini")
    s["locks_after"] = sorted(p.name for p in (smk / "locks").iterdir())
    s["markers_after"] = [p for p in (smk / "incomplete").rglob("*") if p.is_file()]
    s["status_repaired"] = h.by_run(h.status(wd))
    s["rerun_dry"] = h.scylla(wd, "rerun", "agents", "results/mini", "--status", "partial", "-n")
    before = logs(wd)
    s["rerun"] = h.scylla(wd, "rerun", "agents", "results/mini", "--status", "partial", "-v")
    s["rerun_logs"] = new_logs(wd, before)
    s["status_final"] = h.by_run(h.status(wd))
    return s


def test_killed_runs_are_partial(recovered):
    st = recovered["status_killed"]
    assert recovered["killed"].killed_pids, "hanging agents were running and were killed"
    for key in HANGS:
        assert st[key]["status"] == "partial", st[key]
        assert "incomplete marker" in st[key]["reason"]
        assert set(h.judge_states(st[key]).values()) == {"missing"}
    assert st[FAILED_RUN]["status"] == "failed"
    others = set(st) - HANGS - {FAILED_RUN}
    assert {st[k]["status"] for k in others} == {"completed"}
    assert h.judge_states(st[BAD_JUDGE_RUN])[BAD_SLOT] == "failed"
    assert recovered["locks_before"] == ["0.input.lock", "0.output.lock"]
    assert recovered["markers_before"]


def test_running_again_before_repair_is_refused_by_the_lock(recovered):
    proc = recovered["run_again"]
    assert proc.returncode != 0
    assert recovered["run_again_changed_nothing"]


def test_running_again_before_repair_says_why(recovered):
    proc = recovered["run_again"]
    assert "locked" in proc.stderr and "scylla repair" in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # one line, no snakemake error


def test_repair_dry_run_changes_nothing(recovered):
    proc = recovered["repair_dry"]
    h.ok(proc)
    assert "locks: 2; incomplete outputs under results/mini: 14" in proc.stdout
    for key in HANGS:
        assert f"{h.rp(recovered['wd'], key).agent_output}" in proc.stdout
    assert recovered["dry_changed_nothing"]


def test_repair_unlocks_and_removes_the_incomplete_markers(recovered):
    assert "unlocked" in recovered["repair"].stdout, h.output_of(recovered["repair"])
    assert recovered["locks_after"] == []
    assert recovered["markers_after"] == []


def test_repair_succeeds_and_reports_what_will_be_rerun(recovered):
    proc = recovered["repair"]
    assert proc.returncode == 0, h.output_of(proc)
    assert "what a run would do now:" in proc.stdout
    assert re.search(r"^\s+agent\s+2$", proc.stdout, re.M), proc.stdout


def test_interrupted_runs_stay_selectable_after_repair(recovered):
    """The next step of the walk-through is `scylla rerun agents --status partial`."""
    after = recovered["status_repaired"]
    for key in HANGS:
        assert after[key]["status"] == "partial", after[key]
        assert "attempt 1 was interrupted" in after[key]["reason"]


def test_rerun_partial_dry_run_lists_the_jobs(recovered):
    proc = h.ok(recovered["rerun_dry"])
    assert proc.stdout.startswith("+ ") and " -m snakemake " in proc.stdout
    assert "jobs snakemake would run:" in proc.stdout
    assert re.search(r"^\s+agent\s+2$", proc.stdout, re.M), proc.stdout


def test_rerun_partial_finishes_the_interrupted_runs(recovered):
    h.ok(recovered["rerun"])
    final = recovered["status_final"]
    for key in HANGS:
        assert final[key]["status"] == "completed", final[key]
        assert set(h.judge_states(final[key]).values()) == {"complete"}
    # nothing else changed status: the failed run and the failed judge were not selected
    assert final[FAILED_RUN]["status"] == "failed"
    assert h.judge_states(final[BAD_JUDGE_RUN])[BAD_SLOT] == "failed"
    assert {r["status"] for k, r in final.items() if k != FAILED_RUN} == {"completed"}
    # exactly their agents and judges ran (snakemake's own log of that invocation)
    (log,) = recovered["rerun_logs"]
    ran = rules_run(log)
    assert {r: ran.get(r) for r in ("agent", "judge_prompt", "judge")} == {
        "agent": 2,
        "judge_prompt": 2,
        "judge": 4,
    }, ran
    # and the DAG agrees that nothing is left
    assert h.dry(recovered["wd"]).counts == {}
    assert h.ep(recovered["wd"]).report().is_file()


def test_finished_runs_are_byte_identical(recovered):
    wd = recovered["wd"]
    assert len(recovered["done"]) == 7
    for key, before in recovered["files_before"].items():
        assert h.result_hashes(h.rp(wd, key)) == before, h.label(key)
        # no new attempt: the one that made the results is the only one
        assert attempts.numbers(h.rp(wd, key).attempts) == [1], h.label(key)


def test_the_partial_attempt_is_kept(recovered):
    wd = recovered["wd"]
    for key in HANGS:
        run = h.rp(wd, key)
        assert attempts.numbers(run.attempts) == [1, 2]
        old, new = attempts.read(run.attempts / "1"), attempts.read(run.attempts / "2")
        # the killed attempt stays where it ran, marked for what it is, never promoted
        assert old.state == "interrupted" and old.retired and "promoted_at" not in old.record
        assert (old.dir / "agent" / "prompt.md").read_text() == run.agent_prompt.read_text()
        assert not (old.dir / "agent" / "output.txt").exists()  # it never finished
        assert (old.dir / "workspace").is_dir()
        # the re-run is attempt 2, promoted: run_NN/agent/ holds copies of its files
        assert new.state == "finished" and new.record["promoted_at"]
        assert json.loads(run.agent_timing.read_text())["attempt"] == 2
        assert run.agent_output.read_bytes() == (new.dir / "agent" / "output.txt").read_bytes()
        assert os.readlink(run.workspace) == "attempts/2/workspace"


# ================================================ C: rerun agents --status failed


@pytest.fixture(scope="module")
def rerun_failed(tmp_path_factory):
    wd = h.copy_tree(h.finished_tree(tmp_path_factory), tmp_path_factory.mktemp("rf") / "wd")
    s: dict = {"wd": wd, "files": {k: h.result_hashes(h.rp(wd, k)) for k in h.ALL_RUNS}}
    tree = results_hash(wd)
    s["dry"] = h.scylla(wd, "rerun", "agents", "results/mini", "--status", "failed", "--dry-run")
    s["dry_changed_nothing"] = results_hash(wd) == tree
    s["proc"] = h.scylla(wd, "rerun", "agents", "results/mini", "--status", "failed")
    s["status"] = h.by_run(h.status(wd))
    return s


def test_rerun_dry_run_prints_command_and_jobs_and_changes_nothing(rerun_failed):
    proc = h.ok(rerun_failed["dry"])
    first = proc.stdout.splitlines()[0]
    assert first.startswith("+ ") and " -m snakemake " in first
    assert f" results/mini/{h.label(FAILED_RUN)}/run_result.json " in first
    assert "--forcerun" in first
    assert "jobs snakemake would run:" in proc.stdout
    assert re.search(r"^\s+agent\s+\d+$", proc.stdout, re.M)
    assert rerun_failed["dry_changed_nothing"]


def test_failed_run_is_archived_and_rerun(rerun_failed):
    h.ok(rerun_failed["proc"])
    run = h.rp(rerun_failed["wd"], FAILED_RUN)
    old = run.attempts / "1"
    # nothing deleted: every file of the old attempt is in its attempt directory, byte for byte
    archived = h.tree_hashes(old)
    for rel, digest in rerun_failed["files"][FAILED_RUN].items():
        assert archived[rel] == digest, rel
    assert json.loads((old / "run_result.json").read_text())["agent_failed"] is True
    record = attempts.read(old)
    assert record.retired and "failed" in record.record["retired"]["reason"]
    assert attempts.numbers(run.attempts) == [1, 2]
    # re-run: the mode list was used up, so this time the agent worked
    assert rerun_failed["status"][FAILED_RUN]["status"] == "completed"
    assert json.loads(run.run_result.read_text())["agent_failed"] is False


def test_rerun_failed_leaves_unselected_runs_alone(rerun_failed):
    wd = rerun_failed["wd"]
    for key in h.ALL_RUNS:
        if key in (FAILED_RUN, BAD_JUDGE_RUN):
            continue
        assert h.result_hashes(h.rp(wd, key)) == rerun_failed["files"][key], h.label(key)


def test_rerun_agents_ignores_runs_whose_only_failure_is_a_judge(rerun_failed):
    wd = rerun_failed["wd"]
    assert re.search(r"^\s+agent\s+1$", rerun_failed["dry"].stdout, re.M)
    run = h.rp(wd, BAD_JUDGE_RUN)
    assert attempts.numbers(run.attempts) == [1] and not attempts.read(run.attempts / "1").retired
    assert h.result_hashes(run) == rerun_failed["files"][BAD_JUDGE_RUN]


# ================================================= D: rerun judges --status failed


@pytest.fixture(scope="module")
def rejudged(tmp_path_factory):
    wd = h.copy_tree(h.finished_tree(tmp_path_factory), tmp_path_factory.mktemp("rj") / "wd")
    run = h.rp(wd, BAD_JUDGE_RUN)
    s: dict = {
        "wd": wd,
        "agents": {k: h.tree_hashes(h.rp(wd, k).agent_dir) for k in h.ALL_RUNS},
        "slots": {
            (k, slot): h.tree_hashes(h.rp(wd, k).judge_slot(slot).dir)
            for k in h.ALL_RUNS
            for slot in h.SLOTS
        },
        "prompt": (run.judge_prompt.read_bytes(), run.judge_prompt.stat().st_mtime_ns),
        "old_judgment": json.loads(run.judge_slot(BAD_SLOT).judgment.read_text()),
    }
    tree = results_hash(wd)
    s["dry"] = h.scylla(wd, "rerun", "judges", "results/mini", "--status", "failed", "-n")
    s["dry_changed_nothing"] = results_hash(wd) == tree
    before = logs(wd)
    s["proc"] = h.scylla(wd, "rerun", "judges", "results/mini", "--status", "failed")
    s["logs"] = new_logs(wd, before)
    return s


def test_rejudge_dry_run(rejudged):
    proc = h.ok(rejudged["dry"])
    assert "--allowed-rules" in proc.stdout.splitlines()[0]
    assert re.search(r"^\s+judge\s+1$", proc.stdout, re.M), proc.stdout
    assert not re.search(r"^\s+(agent|judge_prompt)\s", proc.stdout, re.M)
    assert rejudged["dry_changed_nothing"]


def test_rejudge_reruns_only_the_invalid_slot(rejudged):
    h.ok(rejudged["proc"])
    wd = rejudged["wd"]
    (log,) = rejudged["logs"]
    ran = rules_run(log)
    assert ran.get("judge") == 1 and "agent" not in ran and "judge_prompt" not in ran, ran
    for key in h.ALL_RUNS:
        assert h.tree_hashes(h.rp(wd, key).agent_dir) == rejudged["agents"][key], h.label(key)
        for slot in h.SLOTS:
            if (key, slot) != (BAD_JUDGE_RUN, BAD_SLOT):
                now = h.tree_hashes(h.rp(wd, key).judge_slot(slot).dir)
                assert now == rejudged["slots"][(key, slot)], (h.label(key), slot)
    run = h.rp(wd, BAD_JUDGE_RUN)
    # the saved judge prompt was reused, not rewritten
    assert (run.judge_prompt.read_bytes(), run.judge_prompt.stat().st_mtime_ns) == rejudged[
        "prompt"
    ]
    new = json.loads(run.judge_slot(BAD_SLOT).judgment.read_text())
    assert new["is_valid"] is True and new["status"] == "complete"
    assert json.loads(run.consensus.read_text())["is_valid"] is True
    assert h.judge_states(h.by_run(h.status(wd))[BAD_JUDGE_RUN]) == {
        "01": "complete",
        "02": "complete",
    }


def test_rejudge_keeps_the_old_slot_attempt(rejudged):
    run = h.rp(rejudged["wd"], BAD_JUDGE_RUN)
    slot = run.judge_slot(BAD_SLOT)
    assert attempts.numbers(slot.attempts) == [1, 2]
    old = attempts.read(slot.attempts / "1")
    assert old.retired and old.record["retired"]["reason"] == "rerun judges"
    assert json.loads((old.dir / "judgment.json").read_text()) == rejudged["old_judgment"]
    assert rejudged["old_judgment"]["is_valid"] is False
    assert json.loads(slot.judgment.read_text())["attempt"] == 2


# ============================================================ E: scylla regenerate


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    src = h.finished_tree(tmp_path_factory)
    wd = h.copy_tree(src, tmp_path_factory.mktemp("regen") / "wd")
    lost = [("T0", "00", 2), FAILED_RUN]
    corrupt = ("T0", "01", 3)
    for key in lost:
        h.rp(wd, key).agent_result.unlink()
    rr = h.rp(wd, corrupt).run_result
    rr.write_bytes(rr.read_bytes()[:40])
    runs = [h.rp(wd, k) for k in h.ALL_RUNS]
    s: dict = {
        "wd": wd,
        "src": src,
        "lost": lost,
        "corrupt": corrupt,
        "status_before": h.by_run(h.status(wd)),
        "agent_mtimes": h.mtimes(f for r in runs for f in r.agent_outputs.values()),
        "judges": {
            k: h.tree_hashes(h.rp(wd, k).judge_dir, lambda p: p.name == "result.json")
            for k in h.ALL_RUNS
        },
        "prompts": h.mtimes(r.judge_prompt for r in runs),
    }
    tree = results_hash(wd)
    s["dry"] = h.scylla(wd, "regenerate", "results/mini", "--dry-run")
    s["dry_changed_nothing"] = results_hash(wd) == tree
    before = logs(wd)
    s["proc"] = h.scylla(wd, "regenerate", "results/mini")
    s["logs"] = new_logs(wd, before)
    return s


SUBTESTS = {(t, s) for t, s, _run in h.ALL_RUNS}


def test_regenerate_dry_run_plans_no_agent_or_judge(regenerated):
    proc = h.ok(regenerated["dry"])
    jobs = dict(re.findall(r"^\s+(\w+)\s+(\d+)$", proc.stdout, re.M))
    assert jobs and set(jobs) <= {
        "subtest_results_3",
        "subtest_report",
        "tier_report",
        "experiment_report",
    }, jobs
    assert regenerated["dry_changed_nothing"]


def test_regenerate_rebuilds_from_the_logs_only(regenerated):
    h.ok(regenerated["proc"])
    wd, src = regenerated["wd"], regenerated["src"]
    before = regenerated["status_before"]
    for key in regenerated["lost"]:
        assert "agent/result.json" in before[key]["reason"] or before[key]["status"] == "failed"
    assert before[regenerated["corrupt"]]["status"] == "results"
    # snakemake's own log of this invocation: zero agent, judge_prompt or judge jobs
    (log,) = regenerated["logs"]
    text = log.read_text()
    stats = h.job_stats(text)
    # every run of every subtest is re-derived: one job per subtest, none per run
    assert stats.get("subtest_results_3") == len(SUBTESTS), stats
    assert "run_result" not in stats, stats
    assert not {"agent", "judge_prompt", "judge"} & set(stats), stats
    assert not {"agent", "judge_prompt", "judge"} & set(rules_run(log)), rules_run(log)
    # every agent output and judgment untouched (mtimes and bytes); the prompt never rewritten
    runs = [h.rp(wd, k) for k in h.ALL_RUNS]
    assert (
        h.mtimes(f for r in runs for f in r.agent_outputs.values()) == regenerated["agent_mtimes"]
    )
    assert h.mtimes(r.judge_prompt for r in runs) == regenerated["prompts"]
    for key in h.ALL_RUNS:
        now = h.tree_hashes(h.rp(wd, key).judge_dir, lambda p: p.name == "result.json")
        assert now == regenerated["judges"][key], h.label(key)
    # rebuilt byte for byte as the pipeline first wrote them
    for key in [*regenerated["lost"], regenerated["corrupt"]]:
        for f in ("agent_result", "run_result"):
            new, orig = getattr(h.rp(wd, key), f), getattr(h.rp(src, key), f)
            assert new.read_bytes() == orig.read_bytes(), (h.label(key), f)
    final = h.by_run(h.status(wd))
    assert {k: r["status"] for k, r in final.items()} == {
        k: ("failed" if k == FAILED_RUN else "completed") for k in h.ALL_RUNS
    }


def test_regenerate_leaves_snakemake_nothing_to_do(regenerated):
    """Whole subtests are re-derived under --drop-metadata: each file keeps the record rule
    run_result wrote (same inputs, same code), so a plain call that follows has no job."""
    h.ok(regenerated["proc"])
    assert not h.dry(regenerated["wd"]).counts


def test_regenerate_works_while_some_runs_are_unfinished(tmp_path_factory):
    wd = h.copy_tree(h.finished_tree(tmp_path_factory), tmp_path_factory.mktemp("rg2") / "wd")
    shutil.rmtree(h.rp(wd, ("T1", "00", 3)).dir)  # never started
    lost = h.rp(wd, ("T0", "00", 2)).agent_result
    lost.unlink()
    proc = h.scylla(wd, "regenerate", "results/mini")
    assert proc.returncode == 0, h.output_of(proc)[-3000:]
    assert lost.is_file()


def test_regenerate_honours_its_filters(tmp_path_factory):
    wd = h.copy_tree(h.finished_tree(tmp_path_factory), tmp_path_factory.mktemp("rg3") / "wd")
    args = ("--tier", "T0", "--subtest", "00", "--dry-run")
    proc = h.ok(h.scylla(wd, "regenerate", "results/mini", *args))
    jobs = {k: int(v) for k, v in re.findall(r"^\s+(\w+)\s+(\d+)$", proc.stdout, re.M)}
    # one job per run: a job per subtest is only for regenerating every run (a subtest job
    # is outdated when one run's judgment is newer than another's result)
    assert jobs.get("run_result") == 3 and "subtest_results_3" not in jobs, jobs


# =================================================== moving an experiment elsewhere


def test_moving_the_project_reruns_nothing(tmp_path_factory):
    """Where the task and the results lie on disk is not what a run means."""
    src = h.finished_tree(tmp_path_factory)
    moved = tmp_path_factory.mktemp("moved")
    wd = h.copy_tree(src, moved / "wd")
    task = h.write_task(moved / "task" / "quick")  # the same task content, another place
    h.write_config(wd, h.quick_experiment(task))
    plan = h.dry(wd)
    assert "agent" not in plan.counts, plan.counts


# =================================================================== F: bad input


def test_status_of_a_missing_directory_fails_clearly(tmp_path):
    proc = h.scylla(tmp_path, "status", "/nonexistent")
    assert proc.returncode != 0
    assert "/nonexistent" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_run_rejects_a_bad_config_naming_the_key(tmp_path):
    cfg = h.quick_experiment(h.DEMO_TASK, runs=0)
    h.write_config(tmp_path, cfg, name="bad.yaml")
    proc = h.scylla(tmp_path, "run", "bad.yaml")
    assert proc.returncode != 0
    assert "runs" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / ".snakemake" / "log").exists()


# ======================================================= G: a synthetic 1,000-run tree


def test_status_json_on_a_thousand_runs(tmp_path_factory):
    src = h.finished_tree(tmp_path_factory)
    exp = json.loads(h.ep(src).resolved_config.read_text())["experiments"][0]
    subtests = {f"{i:02d}": {"files": {}} for i in range(20)}
    exp.update(name="big", runs=10, tiers={t: {"subtests": subtests} for t in paths.TIER_IDS[:5]})
    big = h.ep(tmp_path_factory.mktemp("big"), "big")
    big.resolved_config.parent.mkdir(parents=True)
    big.resolved_config.write_text(json.dumps({"experiments": [exp]}))

    def files(run: paths.RunPaths) -> list[Path]:
        slots = [run.judge_slot(s).judgment for s in h.SLOTS]
        return [
            *run.agent_outputs.values(),
            run.agent_result,
            *slots,
            run.consensus,
            run.run_result,
        ]

    def contents(key: tuple[str, str, int]) -> list[tuple[Path, bytes]]:
        """The files, as a first-release run holds them (no meaning or attempt recorded)."""
        run = h.rp(src, key)
        timing = json.loads(run.agent_timing.read_text())
        timing.pop("meaning"), timing.pop("attempt")
        out = [(f.relative_to(run.dir), f.read_bytes()) for f in files(run)]
        return [(r, json.dumps(timing).encode() if r.name == "timing.json" else b) for r, b in out]

    templates = {0: contents(("T0", "00", 1)), 1: contents(FAILED_RUN)}
    prompt = [(Path("agent/prompt.md"), b"the task\n")]
    expected = {}
    for t in paths.TIER_IDS[:5]:
        for sub in subtests:
            for n in range(1, 11):
                run = big.run(t, sub, n)
                pick = (n + int(sub)) % 4
                for rel, data in templates.get(pick, prompt if pick == 2 else []):
                    (run.dir / rel).parent.mkdir(parents=True, exist_ok=True)
                    (run.dir / rel).write_bytes(data)
                expected[(t, sub, n)] = ("completed", "failed", "partial", "missing")[pick]
    proc = h.ok(h.scylla(big.dir.parent, "status", str(big.dir), "--format", "json"))
    rows = json.loads(proc.stdout)
    assert len(rows) == 1000
    assert {(r["tier"], r["subtest"], r["run"]): r["status"] for r in rows} == expected


# ======================================================================= file modes


def test_result_files_follow_the_umask(tmp_path_factory):
    """Results are shared with colleagues: atomic writes must not leave them 0600."""
    wd = h.finished_tree(tmp_path_factory)
    umask = os.umask(0)
    os.umask(umask)
    run = h.rp(wd, ("T0", "00", 1))
    for f in (run.run_result, run.agent_result, run.agent_stdout, run.judge_prompt):
        assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f


def stderr_lost(tmp_path_factory, name: str) -> Path:
    """A copy of the finished tree where T0/01/run_02's agent/stderr.log is gone, its agent
    attempt's copy too (nothing can put it back)."""
    wd = h.copy_tree(h.finished_tree(tmp_path_factory), tmp_path_factory.mktemp(name) / "wd")
    rp = h.rp(wd, ("T0", "01", 2))
    for f in [rp.agent_stderr, *rp.attempts.rglob(rp.agent_stderr.name)]:
        f.unlink()
    return wd


def test_regenerate_with_an_agent_log_gone_plans_per_run(tmp_path_factory):
    """Rule subtest_results_<N> has the judgments as its only inputs. When an agent log that
    rule run_result parses is gone (its attempt's copy too), regenerate plans one job per run,
    so Snakemake names the file before any job starts and every derived record stays."""
    wd = stderr_lost(tmp_path_factory, "rg4")
    derived = [
        f
        for k in h.ALL_RUNS
        for r in [h.rp(wd, k)]
        for f in (r.agent_result, r.consensus, r.run_result)
    ]
    before = {f: f.read_bytes() for f in derived}
    # the status still counts it completed (its agent/result.json is intact)
    assert h.by_run(h.status(wd))[("T0", "01", 2)]["status"] == "completed"
    dry = h.scylla(wd, "regenerate", "results/mini", "--dry-run")
    assert "subtest_results_3" not in h.output_of(dry)
    proc = h.scylla(wd, "regenerate", "results/mini")
    out = h.output_of(proc)
    assert proc.returncode != 0
    assert "MissingInputException in rule run_result" in out, out[-3000:]
    assert "T0/01/run_02/agent/stderr.log" in out
    assert {f: f.read_bytes() for f in derived} == before


def test_subtest_results_names_a_lost_agent_log_before_writing(tmp_path_factory):
    """Called by hand (`--allowed-rules subtest_results_3`), the job checks the agent logs
    that are not its inputs and names the lost one."""
    wd = stderr_lost(tmp_path_factory, "rg5")
    targets = [str(h.rp(wd, ("T0", "01", n)).run_result.relative_to(wd)) for n in (1, 2, 3)]
    proc = h.snakemake(wd, *targets, "--allowed-rules", "subtest_results_3", "--forcerun", *targets)
    out = h.output_of(proc)
    assert proc.returncode != 0
    assert "missing agent logs (1): results/mini/T0/01/run_02/agent/stderr.log" in out, out[-3000:]
