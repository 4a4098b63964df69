"""An experiment Snakemake last found complete is not enumerated again (recovery/settled).

The record may only save Snakemake work, never change its verdict: after any change the
plan with the record must equal the plan without it, and nothing is recorded while work is
left or when the call forced, narrowed or touched jobs.
"""

from __future__ import annotations

import os
from base64 import urlsafe_b64encode
from pathlib import Path

import pytest

import tests.helpers as h
from scylla.config import load_config
from scylla.layout import paths, targets
from scylla.recovery import settled

SETTLED_SAYS = "is as Snakemake last found it complete"
WORK_SETTLED_SAYS = "files are as Snakemake last found them complete"
REPO = Path(__file__).resolve().parents[1]
RUN = ("T0", "00", 2)  # a completed run of the finished tree


def record_of(wd: Path) -> Path:
    return paths.settled_file(wd, h.EXP)


@pytest.fixture
def wd(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A private copy of the finished experiment, settled: a copy has new inodes, so the
    first dry-run checks every file and records the verdict; the second skips the DAG."""
    wd = h.copy_tree(h.finished_tree(tmp_path_factory), tmp_path / "wd")
    record_of(wd).unlink(missing_ok=True)
    first = h.dry(wd)
    assert not first.counts and SETTLED_SAYS not in first.text
    assert record_of(wd).is_file()
    second = h.dry(wd)
    assert not second.counts and SETTLED_SAYS in second.text, second.text[-2000:]
    return wd


def plans_with_and_without_record(wd: Path, *args: str) -> tuple[h.Plan, h.Plan]:
    with_record = h.dry(wd, *args)
    saved = record_of(wd).read_bytes()
    record_of(wd).unlink()
    without = h.dry(wd, *args)
    record_of(wd).write_bytes(saved)
    return with_record, without


def _delete_agent_result(wd: Path) -> None:
    h.rp(wd, RUN).agent_result.unlink()


def _touch_agent_output(wd: Path) -> None:
    out = h.rp(wd, RUN).agent_output
    st = out.stat()
    os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def _rewrite_keeping_mtime(wd: Path) -> None:
    """Same size, same mtime, new inode: Snakemake sees nothing (it compares mtimes)."""
    f = h.rp(wd, RUN).run_result
    st = f.stat()
    tmp = f.with_suffix(".tmp")
    tmp.write_bytes(f.read_bytes())
    os.replace(tmp, f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))


def _plant_incomplete_marker(wd: Path) -> None:
    target = os.path.relpath(h.rp(wd, RUN).run_result, wd)
    marker = wd / ".snakemake" / "incomplete" / urlsafe_b64encode(target.encode()).decode()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("")


def _one_more_run(wd: Path) -> None:
    h.edit_experiment(wd, runs=h.RUNS + 1)


def _delete_a_subtest_report(wd: Path) -> None:
    ep = h.ep(wd)
    ep.subtest_report("T0", "00").unlink()


def _truncate_a_judgment(wd: Path) -> None:
    """A work file changed with its mtime kept: Snakemake does not see it, nor may we."""
    f = h.rp(wd, RUN).judge_slot("01").judgment
    st = f.stat()
    f.write_text("{")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))


def _delete_a_judge_prompt(wd: Path) -> None:
    h.rp(wd, RUN).judge_prompt.unlink()


# Changes to derived files only: the agents' and judges' files are still as Snakemake last
# found them complete, so its DAG leaves out the rules that make them.
DERIVED_ONLY = ("_delete_agent_result", "_rewrite_keeping_mtime", "_delete_a_subtest_report")


@pytest.mark.parametrize(
    "change",
    [
        _delete_agent_result,
        _touch_agent_output,
        _rewrite_keeping_mtime,
        _plant_incomplete_marker,
        _one_more_run,
        _delete_a_subtest_report,
        _truncate_a_judgment,
        _delete_a_judge_prompt,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_after_any_change_the_plan_is_snakemakes_own(wd: Path, change) -> None:
    change(wd)
    with_record, without = plans_with_and_without_record(wd)
    assert SETTLED_SAYS not in with_record.text
    assert (WORK_SETTLED_SAYS in with_record.text) is (change.__name__ in DERIVED_ONLY)
    assert WORK_SETTLED_SAYS not in without.text
    assert with_record.counts == without.counts
    assert sorted(map(str, with_record.jobs)) == sorted(map(str, without.jobs))
    if change is _delete_agent_result:  # only cheap derivation, for that run
        assert with_record.runs("run_result") == {RUN}
        assert not {"agent", "judge", "judge_prompt"} & set(with_record.counts)
    if change is _delete_a_judge_prompt:  # a new judge prompt: its run's judges again
        assert with_record.runs("judge") == {RUN}


@pytest.mark.parametrize(
    "args", [("--forcerun", "run_result"), ("--forceall",), ("--until", "judge_prompt")]
)
def test_forcing_or_narrowing_flags_see_every_job(wd: Path, args: tuple[str, ...]) -> None:
    with_record, without = plans_with_and_without_record(wd, *args)
    assert SETTLED_SAYS not in with_record.text
    assert with_record.counts == without.counts
    assert with_record.counts or args[0] == "--until"  # --until on a finished tree: nothing


def test_only_snakemakes_nothing_to_be_done_is_recorded(wd: Path) -> None:
    before = record_of(wd).read_bytes()
    _delete_agent_result(wd)
    assert h.dry(wd).counts  # work left: the record stays as it was (and is not trusted)
    assert record_of(wd).read_bytes() == before
    calls = len(h.calls(wd))
    made = h.ok(h.snakemake(wd))  # derives the deleted record: no agent or judge call
    assert WORK_SETTLED_SAYS in h.output_of(made)  # in a DAG without the paid rules
    assert len(h.calls(wd)) == calls
    assert record_of(wd).read_bytes() == before  # a call that made files records nothing
    first = h.dry(wd)
    assert not first.counts and SETTLED_SAYS not in first.text
    assert record_of(wd).read_bytes() != before
    assert SETTLED_SAYS in h.dry(wd).text


def test_the_fingerprint_covers_every_file_snakemake_declares(wd: Path) -> None:
    """`snakemake --summary` lists every output of the DAG of `rule all`."""
    out = h.output_of(h.ok(h.snakemake(wd, "--summary", cores=None)))
    listed = {line.split("\t")[0] for line in out.splitlines()[1:] if "\t" in line}
    listed.discard("output_file")
    results, exps = load_config(h.read_config(wd), wd, REPO)
    ep = exps[0].paths_under(results if results.is_absolute() else wd / results)
    declared = {os.path.relpath(f, wd) for f in targets.declared_files(ep, exps[0])}
    assert listed and declared == listed


def test_a_file_changed_while_snakemake_looked_is_not_recorded(tmp_path: Path) -> None:
    files = [tmp_path / n for n in ("a", "b", "c")]
    for f in files:
        f.write_text(f.name)
    names = [str(f) for f in files]
    c = settled.check(tmp_path, "x", names, "key")
    assert not c.settled
    files[2].write_text("changed while Snakemake looked")
    assert not settled.record(tmp_path, c)
    assert not paths.settled_file(tmp_path, "x").exists()
    c = settled.check(tmp_path, "x", names, "key")
    assert settled.record(tmp_path, c)
    assert settled.check(tmp_path, "x", names, "key").settled
    assert not settled.check(tmp_path, "x", names, "another key").settled
    files[0].unlink()
    c = settled.check(tmp_path, "x", names, "key")
    assert not c.settled and not settled.record(tmp_path, c)  # an absent file: never settled


def test_a_requested_file_is_planned_without_the_work_rules(wd: Path) -> None:
    """A plain call that requests files gets the smaller DAG too (its first input function
    checks), plans what the whole DAG plans, and never records a verdict."""
    _delete_agent_result(wd)
    target = os.path.relpath(h.rp(wd, RUN).agent_result, wd)
    with_record, without = plans_with_and_without_record(wd, target)
    assert WORK_SETTLED_SAYS in with_record.text and SETTLED_SAYS not in with_record.text
    assert WORK_SETTLED_SAYS not in without.text
    assert with_record.counts == without.counts == {"run_result": 1}
    assert sorted(map(str, with_record.jobs)) == sorted(map(str, without.jobs))
    before = record_of(wd).read_bytes()
    calls = len(h.calls(wd))
    made = h.ok(h.snakemake(wd, target))
    assert WORK_SETTLED_SAYS in h.output_of(made) and len(h.calls(wd)) == calls
    assert h.rp(wd, RUN).agent_result.is_file()
    other = os.path.relpath(h.ep(wd).subtest_report("T0", "00"), wd)
    assert not h.dry(wd, other).counts  # nothing to do, for a requested file only
    assert record_of(wd).read_bytes() == before
    # a changed work file: the requested file's DAG is the whole one again
    _touch_agent_output(wd)
    assert WORK_SETTLED_SAYS not in h.dry(wd, target).text
