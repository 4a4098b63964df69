"""`scylla status` on a results tree holding every agent and judge status for real.

The tree is a copy of the killed experiment (helpers.killed_tree): two agents were
SIGKILLed while hanging (Snakemake's incomplete markers are on disk), one agent left nothing,
one judge answered garbage twice. The other states are made by losing or corrupting files.
Then the classification is checked against what `snakemake -n` plans for the same tree.
"""

from __future__ import annotations

import csv
import io
import json
import marshal
import shutil

import helpers as h
import pytest

EXPECTED = {
    # run: (agent status, {slot: judge status}), see `states` for how each is made
    ("T0", "00", 1): ("completed", {"01": "complete", "02": "complete"}),
    ("T0", "00", 2): ("missing", {"01": "missing", "02": "missing"}),
    ("T0", "00", 3): ("results", {"01": "complete", "02": "failed"}),
    ("T0", "01", 1): ("failed", {"01": "agent_failed", "02": "agent_failed"}),
    ("T0", "01", 2): ("partial", {"01": "missing", "02": "missing"}),
    ("T0", "01", 3): ("results", {"01": "complete", "02": "complete"}),
    ("T1", "00", 1): ("completed", {"01": "failed", "02": "missing"}),
    ("T1", "00", 2): ("partial", {"01": "missing", "02": "missing"}),
    ("T1", "00", 3): ("partial", {"01": "complete", "02": "complete"}),
}
CORRUPT_ONLY = ("T0", "01", 3)  # nothing but a truncated run_result.json
MARKER_PARTIAL = set(h.HANG_RUNS)  # killed while running: Snakemake's incomplete markers
NEEDS_AGENT = {k for k, (s, _) in EXPECTED.items() if s in ("missing", "partial")}


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    killed = h.killed_tree(tmp_path_factory)
    wd = h.copy_tree(killed.dir, tmp_path_factory.mktemp("status") / "wd")

    def run(tier, sub, n):
        return h.rp(wd, (tier, sub, n))

    # missing: the run directory is gone
    shutil.rmtree(run("T0", "00", 2).dir)
    # results: agent/result.json lost; judge failed: the slot directory holds no judgment.json
    # (a slot directory without a valid judgment is `failed`, as in the original tools)
    run("T0", "00", 3).agent_result.unlink()
    for f in run("T0", "00", 3).judge_slot("02").dir.iterdir():
        if f.is_file() and f.name != "stdout.log":
            f.unlink()
    # results: run_result.json truncated (corrupt JSON is not a present file)
    rr = run(*CORRUPT_ONLY).run_result
    rr.write_bytes(rr.read_bytes()[:40])
    # judge missing: a slot directory lost (slot 01 of this run answered garbage: failed)
    shutil.rmtree(run("T1", "00", 1).judge_slot("02").dir)
    # partial without a marker: agent/ holds only prompt.md
    for f in run("T1", "00", 3).agent_dir.iterdir():
        if f.name != "prompt.md":
            f.unlink()
    return wd


def test_every_status_is_classified(states):
    rows = h.by_run(h.status(states))
    assert set(rows) == set(EXPECTED)
    got = {k: (r["status"], h.judge_states(r)) for k, r in rows.items()}
    assert got == EXPECTED
    for key in MARKER_PARTIAL:
        assert "incomplete marker" in rows[key]["reason"], rows[key]
    assert "never finished" in rows[("T1", "00", 3)]["reason"]
    assert "agent/result.json" in rows[("T0", "00", 3)]["reason"]
    assert "run_result.json" in rows[CORRUPT_ONLY]["reason"]
    assert rows[("T0", "00", 1)]["cost_usd"] > 0


def test_every_status_classified_in_forked_children_is_the_same(states, tmp_path_factory):
    """Every kind of status, classified in forked children (a cold cache, shares of 3), equals
    one process's classification field for field, and each marshals (a child sends it so)."""
    from scylla.cli.common import load_experiment
    from scylla.recovery import status

    wd = h.copy_tree(states, tmp_path_factory.mktemp("forked") / "wd")
    ep, exp = load_experiment(wd / "results" / h.EXP)

    def cold(shares):
        shutil.rmtree(wd / ".snakemake" / "scylla" / "status", ignore_errors=True)
        return [r.as_dict() for r in status.collect(ep, exp, shares=shares)]

    one, three = cold(1), cold(3)
    assert one == three
    assert {r["status"] for r in one} == {s for s, _judges in EXPECTED.values()}
    assert marshal.loads(marshal.dumps(one)) == one
    assert [r.as_dict() for r in status.collect(ep, exp, shares=3)] == one  # warm


def test_the_markers_are_snakemakes_own(states):
    """The partial runs were made by kill -9, not by hand: Snakemake marked their outputs."""
    markers = list((states / ".snakemake" / "incomplete").rglob("*"))
    assert [m for m in markers if m.is_file()], "no incomplete marker on disk"
    assert sorted((states / ".snakemake" / "locks").iterdir()), "the killed run left its locks"


@pytest.mark.parametrize(
    "filters,expected",
    [
        (["--tier", "T1"], {k for k in EXPECTED if k[0] == "T1"}),
        (["--subtest", "01"], {k for k in EXPECTED if k[1] == "01"}),
        (["--runs", "1,3"], {k for k in EXPECTED if k[2] in (1, 3)}),
        (["--runs", "2-3", "--tier", "T0"], {k for k in EXPECTED if k[0] == "T0" and k[2] > 1}),
        # --status matches the agent status or any judge slot's status
        (["--status", "completed"], {("T0", "00", 1), ("T1", "00", 1)}),
        (["--status", "results"], {("T0", "00", 3), ("T0", "01", 3)}),
        (["--status", "failed"], {("T0", "00", 3), ("T0", "01", 1), ("T1", "00", 1)}),
        (["--status", "partial"], {("T0", "01", 2), ("T1", "00", 2), ("T1", "00", 3)}),
        (
            ["--status", "missing"],
            {("T0", "00", 2), ("T0", "01", 2), ("T1", "00", 1), ("T1", "00", 2)},
        ),
        (["--status", "agent_failed"], {("T0", "01", 1)}),
        (["--status", "complete", "--tier", "T1", "--runs", "3"], {("T1", "00", 3)}),
        (
            ["--status", "results", "--status", "failed", "--subtest", "01"],
            {("T0", "01", 1), ("T0", "01", 3)},
        ),
    ],
)
def test_filters(states, filters, expected):
    assert set(h.by_run(h.status(states, *filters))) == expected


def test_csv_and_table_formats_agree_with_json(states):
    rows = h.by_run(h.status(states))
    proc = h.ok(h.scylla(states, "status", "results/mini", "--format", "csv"))
    table = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert list(table[0]) == [
        "tier",
        "subtest",
        "run",
        "status",
        "judge_01",
        "judge_02",
        "reason",
        "failure_class",
        "failure_reason",
        "cost_usd",
        "attempts",
        "earlier_cost_usd",
    ]
    assert len(table) == len(EXPECTED)
    for line in table:
        row = rows[(line["tier"], line["subtest"], int(line["run"]))]
        assert line["status"] == row["status"]
        assert {"01": line["judge_01"], "02": line["judge_02"]} == h.judge_states(row)
        assert line["reason"] == row["reason"]

    text = h.ok(h.scylla(states, "status", "results/mini")).stdout
    assert "experiment mini: 9 runs, 2 judge slot(s)" in text
    assert "agent:  completed 2  results 2  outdated 0  failed 1  partial 3  missing 1" in text
    assert "judges: complete 7  outdated 0  failed 2  partial 0  agent_failed 2  missing 7" in text
    subtest_rows = {tuple(line.split()[:2]): line.split()[2:] for line in text.splitlines()}
    assert subtest_rows[("T0", "00")] == ["1", "1", "0", "0", "0", "1"]
    assert subtest_rows[("T0", "01")] == ["0", "1", "0", "1", "1", "0"]
    assert subtest_rows[("T1", "00")] == ["1", "0", "0", "0", "2", "0"]
    attention = text.split("runs needing attention:")[1]
    assert "T0/00/run_01" not in attention  # the only run with nothing to do
    for key in set(EXPECTED) - {("T0", "00", 1)}:
        assert h.label(key) in attention, key

    filtered = h.ok(h.scylla(states, "status", "results/mini", "--tier", "T1")).stdout
    assert "experiment mini: 3 runs" in filtered


def test_status_reads_without_writing(states):
    before = h.tree_hashes(states)
    stamps = h.mtimes(p for p in states.rglob("*") if p.is_file())
    h.status(states)
    h.ok(h.scylla(states, "status", "results/mini", "--format", "csv"))
    assert h.tree_hashes(states) == before
    assert h.mtimes(p for p in states.rglob("*") if p.is_file()) == stamps


def test_status_agrees_with_the_dag(states):
    """What status calls unfinished is exactly what `snakemake -n` would run."""
    rows = h.by_run(h.status(states))
    plan = h.dry(states)
    assert plan.runs("agent") == NEEDS_AGENT
    assert plan.counts["agent"] == len(NEEDS_AGENT)
    for key, row in rows.items():
        if key == CORRUPT_ONLY:
            continue  # see test_a_corrupt_run_result_alone_is_planned
        jobs = {rule for rule in ("agent", "run_result") if key in plan.runs(rule)}
        if row["status"] in ("missing", "partial"):
            assert jobs == {"agent", "run_result"}, key
        elif row["status"] == "results":
            # rebuilt from the logs: never the agent
            assert jobs == {"run_result"}, (key, jobs)
        elif "missing" in h.judge_states(row).values():
            assert jobs == {"run_result"}, (key, jobs)  # one judge, then the consensus
        else:  # completed or failed, every judge slot finished: nothing to do
            assert jobs == set(), (key, jobs)
    # judge slots: the missing/partial ones, and every slot of a run whose agent re-runs
    # (and a `failed` slot whose judgment.json is gone: the DAG restores it from its attempt)
    wanted = {
        (key, slot)
        for key, row in rows.items()
        for slot, state in h.judge_states(row).items()
        if state in ("missing", "partial")
        or key in NEEDS_AGENT
        or not h.rp(states, key).judge_slot(slot).judgment.exists()
        and state == "failed"
    }
    assert plan.slots("judge") == wanted
    # a failed judgment is a finished job: only `scylla rerun judges` repeats it
    assert (("T1", "00", 1), "01") not in plan.slots("judge")


def test_a_corrupt_run_result_alone_is_planned(states):
    rows = h.by_run(h.status(states))
    assert rows[CORRUPT_ONLY]["status"] == "results"
    plan = h.parse_plan(h.output_of(h.ok(h.scylla(states, "run", h.CONFIG, "--dry-run"))))
    # the four runs that need their agent, the other `results` run, the run missing a judge
    # and the corrupt one
    assert plan.counts["run_result"] == len(NEEDS_AGENT) + 3


def test_status_json_is_a_list_of_plain_objects(states):
    proc = h.ok(h.scylla(states, "status", "results/mini", "--format", "json"))
    data = json.loads(proc.stdout)
    assert isinstance(data, list) and len(data) == 9
    assert set(data[0]) == {
        "tier",
        "subtest",
        "run",
        "status",
        "judges",
        "reason",
        "cost_usd",
        "attempts",
        "earlier_cost_usd",
        "rate_limited",
        "failure_class",
        "failure_reason",
    }
    assert set(data[0]["judges"][0]) == {"slot", "status", "reason", "class"}


# ================================================================ the status cache


def _fresh_status(wd):
    """The classification with no cache to help it (the cache is rebuilt afterwards)."""
    shutil.rmtree(wd / ".snakemake" / "scylla" / "status", ignore_errors=True)
    return h.status(wd)


def test_the_status_cache_answers_what_a_fresh_classification_would(tmp_path_factory):
    """Settled runs come from .snakemake/scylla/status/ while their files are unchanged;
    any change of a file the classification reads, made in place or by replacement, or of
    what the configuration means, is seen at once."""
    wd = h.copy_tree(h.finished_tree(tmp_path_factory), tmp_path_factory.mktemp("cache") / "wd")
    cold = h.status(wd)
    (cache,) = (wd / ".snakemake" / "scylla" / "status").glob("mini.*")
    assert len(marshal.loads(cache.read_bytes())["runs"]) == len(h.ALL_RUNS)
    assert h.status(wd) == cold

    a, b, c, d = ("T0", "00", 1), ("T0", "00", 2), ("T1", "00", 3), ("T0", "01", 2)
    with open(h.rp(wd, a).judge_slot("01").judgment, "r+b") as fh:  # truncated in place
        fh.truncate(30)
    h.rp(wd, b).agent_result.unlink()  # lost
    out = h.rp(wd, c).agent_output  # emptied in place: size differs from the attempt's
    out.write_text("")
    h.rp(wd, d).run_result.write_text("{}")  # replaced by a record without its fields
    now = h.by_run(h.status(wd))
    assert h.judge_states(now[a])["01"] == "failed"
    assert now[b]["status"] == "results" and "agent/result.json" in now[b]["reason"]
    assert now[c]["status"] == "results" and "damaged" in now[c]["reason"]
    assert now[d]["status"] == "results" and "run_result.json" in now[d]["reason"]
    assert now == h.by_run(_fresh_status(wd))
    # what the configuration means now is part of every entry: a new model is `outdated`
    new = h.quick_experiment(h.session_task(tmp_path_factory))
    new["agent"]["model"] = "opus"
    other = h.write_config(wd, new, name="other.yaml")
    proc = h.ok(h.scylla(wd, "status", "results/mini", "--config", other, "--format", "json"))
    outdated = json.loads(proc.stdout)
    assert {r["status"] for r in outdated} == {"outdated"}
    # what was paid is the same whatever the config now means (judges counted once)
    assert sum(r["cost_usd"] for r in outdated) == pytest.approx(sum(r["cost_usd"] for r in cold))
    assert h.status(wd) == list(now.values())


def test_forked_shares_of_the_cache_check_see_what_one_process_sees(tmp_path_factory):
    """From hundreds of runs on, `scylla status` checks the cache's fingerprints and
    classifies the changed runs in forked children, one slice each. Real forks on the
    finished tree (9 runs, so shares of 3): a file changed in place in any child's slice makes
    that run a miss, classified in the process that checked it, exactly as in one process,
    and no child is left behind."""
    import os
    import threading

    from scylla.recovery import snakemeta, status_cache

    wd = h.copy_tree(h.finished_tree(tmp_path_factory), tmp_path_factory.mktemp("forks") / "wd")
    h.status(wd)  # fills the cache
    root = wd / "results" / h.EXP
    cache = status_cache.StatusCache.load(snakemeta.find_workdir(root), root)
    names = sorted(cache.entries)
    assert len(names) == len(h.ALL_RUNS)
    todo = [(n, f"{root}/{n}", cache.entries[n][0]) for n in names]
    slots = ["judge/judge_01", "judge/judge_02"]

    def children() -> set[str]:  # this process's children, zombies included
        tasks = os.listdir("/proc/self/task")
        return {c for t in tasks for c in open(f"/proc/self/task/{t}/children").read().split()}

    def check(shares):
        before = children()
        hits, misses = status_cache.lookup(
            cache, todo, slots, lambda i: {"run": todo[i][0], "by": os.getpid()}, shares
        )
        assert children() == before  # every child was waited for
        return sorted(hits), misses

    one, three = check(1), check(3)
    assert one == three == (list(range(len(names))), {})
    changed = {1, 5, 8}  # in the first, second and third slice
    for i in changed:
        with open(f"{root}/{names[i]}/judge/judge_01/judgment.json", "r+b") as fh:
            fh.truncate(30)  # in place: same inode, same directory
    one, three = check(1), check(3)
    assert set(one[1]) == set(three[1]) == changed
    assert {i: (fp, got["run"]) for i, (fp, got) in one[1].items()} == {
        i: (fp, got["run"]) for i, (fp, got) in three[1].items()
    }
    # classified where they were checked: here in one process, in two children in three
    assert {got["by"] for _fp, got in one[1].values()} == {os.getpid()}
    by = {got["by"] for _fp, got in three[1].values()}
    assert len(by) == 3 and os.getpid() in by
    # whether to fork: never below hundreds of runs, never in a process with threads
    assert status_cache.auto_shares(10) == 1
    seen = []
    t = threading.Thread(target=lambda: seen.append(status_cache.auto_shares(10**6)))
    t.start()
    t.join()
    assert seen == [1]
