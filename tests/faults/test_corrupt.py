"""Corrupt, truncated, emptied and incomplete artifacts, under plain `snakemake` and under
`scylla run`: each is made good from what was paid for (the attempt's own bytes, the judge's
response), never spread into the results, and never paid for again (reproductions 4, 5, 7)."""

from __future__ import annotations

import json

import helpers as h
import pytest
from helpers import faults as f

from scylla import records

RUN = ("T0", "00", 1)
OTHERS = [k for k in f.RUNS if k != RUN]


def truncate(p):
    p.write_bytes(p.read_bytes()[:40])


def empty_object(p):
    p.write_text("{}")


def no_score(p):
    data = json.loads(p.read_text())
    del data["score"]
    p.write_text(json.dumps(data))


def emptied(p):
    p.write_text("")


def null_exit_code(p):
    data = json.loads(p.read_text())
    data["exit_code"] = None
    p.write_text(json.dumps(data))


# (artifact, how it is damaged, runners that must make it good, must it come back byte-equal)
CASES = [
    ("agent_result", truncate, ("snakemake", "scylla"), True),
    ("agent_result", empty_object, ("snakemake", "scylla"), True),
    ("agent_result", null_exit_code, ("snakemake", "scylla"), True),
    ("consensus", truncate, ("snakemake", "scylla"), True),
    ("run_result", truncate, ("snakemake", "scylla"), True),
    ("run_result", empty_object, ("snakemake", "scylla"), True),
    ("judgment", truncate, ("snakemake", "scylla"), True),
    ("judgment", no_score, ("snakemake", "scylla"), True),
    ("judgment", empty_object, ("snakemake", "scylla"), True),
    ("agent_command_log", truncate, ("snakemake", "scylla"), True),
    ("agent_timing", truncate, ("snakemake", "scylla"), True),
    ("agent_stdout", emptied, ("snakemake", "scylla"), True),
    ("agent_output", emptied, ("snakemake", "scylla"), True),
    ("agent_prompt", truncate, ("scylla",), True),
    ("agent_replay", emptied, ("scylla",), True),
    ("judge_prompt", truncate, ("snakemake", "scylla"), True),
    ("checks", truncate, ("scylla",), True),
    ("diff", emptied, ("scylla",), True),
    ("report", truncate, ("scylla",), False),
    ("resolved_config", truncate, ("scylla",), False),
]


def target(wd, name):
    run = f.rp(wd, RUN)
    if name == "judgment":
        return run.judge_slot("01").judgment
    if name == "report":
        return h.ep(wd).subtest_report("T0", "00")
    if name == "resolved_config":
        return h.ep(wd).resolved_config
    return getattr(run, name)


PARAMS = [
    pytest.param(name, damage, runner, exact, id=f"{name}-{damage.__name__}-{runner}")
    for name, damage, runners, exact in CASES
    for runner in runners
]


@pytest.mark.parametrize("name,damage,runner,exact", PARAMS)
def test_damaged_artifact_is_made_good_for_free(tree, name, damage, runner, exact):
    case = f.Case(f"{damage.__name__} {name} under {runner}", tree, protect=OTHERS)
    path = target(tree, name)
    original = path.read_bytes()
    judgments = {s: f.rp(tree, RUN).judge_slot(s).judgment.read_bytes() for s in f.SLOTS}
    damage(path)
    if runner == "snakemake":
        f.ok(f.snakemake(tree, "--cores", "2"))
    else:
        f.ok(f.scylla(tree, "run", f.CONFIG))
    after = path.read_bytes()
    run = f.rp(tree, RUN)
    for slot in f.SLOTS:  # no judgment was replaced (an emptied output.txt once did that)
        now = run.judge_slot(slot).judgment.read_bytes()
        assert name == "judgment" or now == judgments[slot], slot
    if exact:
        assert after == original, (name, after[:200])
    else:
        assert json.loads(after), name
    run = f.rp(tree, RUN)
    assert records.read(run.agent_result, records.valid_agent_result) is not None
    assert records.read(run.run_result, records.valid_run_result) is not None
    assert json.loads(run.run_result.read_text())["exit_code"] == 0
    for slot in f.SLOTS:
        assert records.read(run.judge_slot(slot).judgment, records.valid_judgment) is not None
    assert case.new_calls() == [], case.new_calls()  # nothing paid for again
    assert f.scylla(tree, "status", "results/mini").returncode == 0
    case.close("made good, 0 calls")


@pytest.mark.parametrize("runner", ["snakemake", "scylla"])
def test_a_judgment_is_rederived_from_its_paid_answer(tree, runner):
    """Reproduction 5: judgment.json truncated (and its attempt's copy too) while response.txt
    holds the full answer: it is re-derived from the answer, with no new judge call."""
    case = f.Case(f"judgment lost, response.txt intact, under {runner}", tree, protect=OTHERS)
    run = f.rp(tree, RUN)
    jp = run.judge_slot("01")
    original = json.loads(jp.judgment.read_text())
    from scylla.recovery import attempts

    for att in attempts.listing(jp.attempts):
        truncate(att.dir / "judgment.json")
    truncate(jp.judgment)
    if runner == "snakemake":
        f.ok(f.snakemake(tree, "--cores", "2"))
    else:
        f.ok(f.scylla(tree, "run", f.CONFIG))
    made = json.loads(jp.judgment.read_text())
    assert made["rederived"] is True
    for key in ("score", "passed", "grade", "is_valid", "criteria_scores", "cost_usd"):
        assert made[key] == original[key], key
    assert case.new_calls() == []
    case.close("re-derived from response.txt, 0 calls")


def test_a_damaged_copy_is_named_by_status_before_any_run(tree):
    case = f.Case("emptied output.txt seen by status", tree, protect=f.RUNS)
    run = f.rp(tree, RUN)
    original = run.agent_output.read_bytes()
    run.agent_output.write_text("")
    rows = h.by_run(
        json.loads(f.ok(f.scylla(tree, "status", "results/mini", "--format", "json")).stdout)
    )
    assert rows[RUN]["status"] == "results", rows[RUN]
    assert "agent/output.txt damaged" in rows[RUN]["reason"]
    run.agent_output.write_bytes(original)
    case.protected.pop(RUN)
    case.close("status names the damaged copy")


def test_a_truncated_saved_config_leaves_every_command_working(tree):
    """Reproduction 7: a truncated config/scylla.json broke every command."""
    case = f.Case("truncated config/scylla.json, commands", tree, protect=f.RUNS)
    truncate(h.ep(tree).resolved_config)
    for args in (
        ("status", "results/mini"),
        ("regenerate", "results/mini", "--dry-run"),
        ("rerun", "judges", "results/mini", "--dry-run"),
    ):
        proc = f.scylla(tree, *args)
        assert proc.returncode == 0, h.output_of(proc)
    case.close("status/regenerate/rerun read experiment.json's copy")


def test_a_judgment_without_response_counts_as_invalid_not_as_a_crash(tree):
    """Reproduction 11d: a judgment that parses but has no score (and no answer to re-derive
    it from) used to stop consensus with a KeyError on every retry."""
    case = f.Case("judgment without a score and without its answer", tree, protect=OTHERS)
    run = f.rp(tree, RUN)
    jp = run.judge_slot("02")
    from scylla.recovery import attempts

    for att in attempts.listing(jp.attempts):  # the paid answer is lost as well
        (att.dir / "response.txt").write_text("")
        (att.dir / "judgment.json").write_text("{}")
    no_score(jp.judgment)
    jp.response.write_text("")
    f.ok(f.snakemake(tree, "--cores", "2"))
    consensus = json.loads(run.consensus.read_text())
    assert consensus["is_valid"] is False and consensus["agreement"]["n_valid"] == 1
    rows = h.by_run(
        json.loads(f.ok(f.scylla(tree, "status", "results/mini", "--format", "json")).stdout)
    )
    assert h.judge_states(rows[RUN])["02"] == "failed"
    case.close("invalid judgment; run not stuck")


def test_a_damaged_attempt_record_is_rebuilt_from_the_attempts_files(tree):
    """attempt.json is scylla's own bookkeeping: damaged, it is rebuilt (its bytes kept), and
    what depends on it (restoring a damaged copy, adopting a finished judge call) still works."""
    from scylla.recovery import attempts

    case = f.Case("truncated attempt.json (agent and judge)", tree, protect=OTHERS)
    run = f.rp(tree, RUN)
    agent_record = run.attempts / "1" / "attempt.json"
    judge_record = run.judge_slot("01").attempts / "1" / "attempt.json"
    truncate(agent_record)
    truncate(judge_record)
    output = run.agent_output.read_bytes()
    judgment = run.judge_slot("01").judgment.read_bytes()
    run.agent_output.write_text("")
    run.judge_slot("01").judgment.unlink()
    f.ok(f.scylla(tree, "run", f.CONFIG))
    assert run.agent_output.read_bytes() == output
    assert run.judge_slot("01").judgment.read_bytes() == judgment
    for record in (agent_record, judge_record):
        att = attempts.read(record.parent)
        assert att.state == "finished" and att.record["rebuilt_at"]
        assert list(record.parent.glob("attempt.json.corrupt-*")), "the damaged bytes are kept"
    assert case.new_calls() == []
    case.close("records rebuilt; copies restored; 0 calls")


def test_concurrent_healers_never_leave_the_prompt_missing(tree):
    """Seen in CI: a truncated judge_prompt.md under `snakemake --cores 2`. Both judge jobs of
    the run healed it at once; one moved the damaged copy aside while the other looked, found
    no prompt, and paid for a new judge call. Healing now happens under the run's lock and
    replaces the file in one rename: a reader never finds it missing, and it is put back once."""
    import threading

    from scylla.recovery import integrity

    case = f.Case("truncated judge_prompt.md, six concurrent healers", tree, protect=OTHERS)
    run = f.rp(tree, RUN)
    original = run.judge_prompt.read_bytes()
    truncate(run.judge_prompt)
    start, done = threading.Barrier(7), threading.Event()
    restored: list[list[str]] = []
    missing = 0

    def heal():
        start.wait()
        restored.append(integrity.heal_agent_files(run))

    def look():
        nonlocal missing
        start.wait()
        while not done.is_set():
            missing += not run.judge_prompt.exists()

    healers = [threading.Thread(target=heal) for _ in range(6)]
    reader = threading.Thread(target=look)
    for t in [*healers, reader]:
        t.start()
    for t in healers:
        t.join()
    done.set()
    reader.join()
    assert missing == 0
    assert sorted(map(tuple, restored)) == [()] * 5 + [("judge_prompt.md",)], restored
    assert run.judge_prompt.read_bytes() == original
    assert case.new_calls() == []
    case.close("put back once, never missing")
