"""Judge outcomes, driven by the stand-in's judge modes.

One copy of the finished `mini` experiment; a few judge slots have their judge attempt retired
(what `scylla rerun judges` does: a deleted judgment.json alone would be restored from its paid
attempt for free) and get a mode file of their own. Judges run with their slot directory as
working directory, so the relative CLAUDE_STANDIN_MODE_FILE=modes.json names a file per slot
(no agent runs here).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import (
    EXP,
    copy_tree,
    edit_experiment,
    ep,
    job_stats,
    load,
    ok,
    output_of,
    read_config,
    rp,
    snakemake,
    tree_hashes,
    write_modes,
)

from scylla.layout import paths
from scylla.recovery import archive, attempts

MODES = {
    ("T0", "00", 1, "01"): ["judge:clean"],
    ("T0", "00", 2, "01"): ["judge:fence"],
    ("T0", "01", 1, "01"): ["judge:garbage", "judge:garbage"],
    ("T0", "01", 2, "01"): ["judge:garbage", "judge:clean"],
    ("T0", "00", 1, "02"): ["judge:rate_limit"],
}


@pytest.fixture(scope="module")
def judged(finished, tmp_path_factory):
    wd = copy_tree(finished.dir, tmp_path_factory.mktemp("judges") / "wd")
    agents = {}
    for tier, sub, run, slot in MODES:
        r = rp(wd, (tier, sub, run))
        agents[(tier, sub, run)] = tree_hashes(r.agent_dir)
        jp = r.judge_slot(slot)
        archive.archive_judge_slot(r, slot, "test: judge again")
        write_modes(jp.dir / "modes.json", MODES[(tier, sub, run, slot)])
    proc = snakemake(wd, env={"CLAUDE_STANDIN_MODE_FILE": "modes.json"})
    return wd, proc, agents


def judgment(wd, tier, sub, run, slot):
    return load(rp(wd, (tier, sub, run)).judge_slot(slot).judgment)


def test_pipeline_succeeds_and_only_judges_ran(judged):
    wd, proc, agents = judged
    ok(proc)
    out = output_of(proc)
    assert "rule agent:" not in out and "rule judge_prompt:" not in out
    assert job_stats(out).get("judge") == len(MODES)
    for key, hashes in agents.items():
        assert tree_hashes(rp(wd, key).agent_dir) == hashes
    for tier, sub, run, slot in MODES:
        assert load(rp(wd, (tier, sub, run)).judge_slot(slot).dir / "modes.json") == [], (
            "every planned mode was consumed"
        )


@pytest.mark.parametrize("mode,run", [("clean", ("T0", "00", 1)), ("fence", ("T0", "00", 2))])
def test_clean_and_fenced_answers_are_valid(judged, mode, run):
    wd, _, _ = judged
    j = judgment(wd, *run, "01")
    assert j["is_valid"] is True and j["status"] == "complete"
    assert j["attempts"] == 1
    response = rp(wd, run).judge_slot("01").response.read_text()
    assert ("```json" in response) == (mode == "fence")


def test_garbage_twice_is_an_invalid_judgment(judged):
    wd, _, _ = judged
    r = rp(wd, ("T0", "01", 1))
    j = judgment(wd, "T0", "01", 1, "01")
    assert j["is_valid"] is False
    assert j["status"] == "invalid"
    assert j["grade"] == "F" and j["score"] == 0.0 and j["passed"] is False
    assert j["attempts"] == 2
    raw = r.judge_slot("01").response.read_text()
    assert raw.strip()  # the raw answer is kept
    assert "{" not in raw, "the garbage answer holds no JSON object"
    assert "grade" in raw.lower()
    # consensus: the invalid judge neither counts as a fail nor in the mean
    c = load(r.consensus)
    other = judgment(wd, "T0", "01", 1, "02")
    assert c["is_valid"] is False
    assert c["score"] == pytest.approx(other["score"])
    assert c["passed"] == other["passed"]
    assert load(r.run_result)["judge_valid"] is False


def test_garbage_then_clean_is_valid_on_the_second_attempt(judged):
    wd, _, _ = judged
    j = judgment(wd, "T0", "01", 2, "01")
    assert j["is_valid"] is True and j["status"] == "complete"
    assert j["attempts"] == 2
    stdout = rp(wd, ("T0", "01", 2)).judge_slot("01").stdout.read_text()
    assert stdout.count('"type":"result"') == 2  # both answers are in the raw log


def test_judge_rate_limit_fails_the_job_and_is_retried(judged):
    wd, proc, _ = judged
    out = output_of(proc)
    assert "Error in rule judge" in out and "[rate_limit]" in out
    j = judgment(wd, "T0", "00", 1, "02")
    assert j["is_valid"] is True and j["status"] == "complete"
    # the promoted answer is the retry's, not the rate-limited one (a bare "429" could be part
    # of a seeded session id)
    assert "rate_limit_error" not in rp(wd, ("T0", "00", 1)).judge_slot("02").stdout.read_text()
    log_t = paths.Templates(wd / "results").slot_log()
    log = Path(log_t.format(experiment=EXP, tier="T0", subtest="00", run="01", slot="02"))
    assert "done judge" in log.read_text()


@pytest.fixture(scope="module")
def timed_and_checked(finished, tmp_path_factory):
    """Judge 01 gets a 2 s timeout and hangs on one run; a `checks` judge joins as slot 03."""
    wd = copy_tree(finished.dir, tmp_path_factory.mktemp("judge-timeout") / "wd")
    judges = read_config(wd)["experiments"][0]["judges"]
    judges[0]["timeout"] = 2  # an execution limit: not part of what the judgment means
    judges.append({"adapter": "checks", "slot": 3})
    edit_experiment(wd, judges=judges)
    r = rp(wd, ("T0", "00", 1))
    agent_before = tree_hashes(r.agent_dir)
    archive.archive_judge_slot(r, "01", "test: judge again")
    write_modes(r.judge_slot("01").dir / "modes.json", ["judge:hang"])
    proc = snakemake(wd, env={"CLAUDE_STANDIN_MODE_FILE": "modes.json"})
    return wd, proc, agent_before


def test_judge_timeout_is_an_invalid_judgment_not_a_crash(timed_and_checked):
    wd, proc, agent_before = timed_and_checked
    ok(proc)
    r = rp(wd, ("T0", "00", 1))
    j = load(r.judge_slot("01").judgment)
    assert j["is_valid"] is False and j["status"] == "timeout"
    assert j["score"] == 0.0 and j["grade"] == "F"
    assert "timed out" in j["reasoning"]
    assert tree_hashes(r.agent_dir) == agent_before
    # an LLM judge's call is a process of its own (its step holds the lease)
    assert "thread" not in attempts.current(r.judge_slot("01").attempts).record["lease"]
    c = load(r.consensus)
    assert c["is_valid"] is False  # not every judge is valid ...
    assert c["agreement"]["n_valid"] == 2  # ... and the timeout is not counted as a fail


def test_checks_judge_scores_the_rubric_commands(timed_and_checked):
    wd, proc, _ = timed_and_checked
    out = output_of(proc)
    stats = job_stats(out)
    n_runs = len(list(ep(wd).dir.glob("T*/*/run_*")))
    assert stats.get("judge") == n_runs + 1  # slot 03 everywhere, plus the timed-out slot 01
    assert "agent" not in stats and "judge_prompt" not in stats
    for run_dir in ep(wd).dir.glob("T*/*/run_*"):
        r = paths.RunPaths(run_dir)
        j = load(r.judge_slot("03").judgment)
        checks = load(r.checks)
        passed = sum(1 for c in checks.values() if c["passed"])
        assert j["adapter"] == "checks" and j["is_valid"] is True
        assert f"{passed}/{len(checks)} automated checks passed" in j["reasoning"]
        assert (j["score"] == 1.0) == (passed == len(checks))
        assert [x["judge_number"] for x in load(r.run_result)["judges"]] == [1, 2, 3]
        # it calls nothing: scored in one of Snakemake's threads, no process of its own
        assert "thread" in attempts.current(r.judge_slot("03").attempts).record["lease"]
