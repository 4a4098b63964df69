"""jsonio.synced_at_end: every file a derivation or report step writes is fsynced before the
step returns (so before Snakemake drops the job's incomplete markers), one fsync after
another at the end instead of one after each write. os.fsync is observed, not replaced: each
call still reaches the kernel."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from scylla.util import jsonio


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files os.fsync is called on, in order (by the path their descriptor names)."""
    seen: list[Path] = []
    real = os.fsync

    def spy(fd: int) -> None:
        seen.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return seen


def test_outside_a_block_each_write_is_fsynced_before_it_is_renamed(tmp_path, fsynced):
    jsonio.write_json(tmp_path / "a.json", {"a": 1})
    # the temp file is synced, then renamed over the target
    assert len(fsynced) == 1 and fsynced[0].name.startswith(".a.json.")
    assert jsonio.read_json(tmp_path / "a.json") == {"a": 1}


def test_a_block_fsyncs_every_file_it_wrote_once_at_its_end(tmp_path, fsynced):
    files = [tmp_path / "run" / f"{n}.json" for n in range(3)]
    with jsonio.synced_at_end():
        for f in files:
            jsonio.write_json(f, {"n": f.stem})
        jsonio.write_json(files[0], {"n": "again"})  # written twice: one fsync
        assert fsynced == []  # nothing yet: the writes are in the page cache
    assert sorted(fsynced) == sorted(files)
    assert jsonio.read_json(files[0]) == {"n": "again"}
    jsonio.write_json(files[1], {})  # after the block, writes fsync as before
    assert len(fsynced) == 4


def test_nested_blocks_are_one_batch_and_a_file_moved_away_is_skipped(tmp_path, fsynced):
    kept, moved = tmp_path / "kept.json", tmp_path / "moved.json"
    with jsonio.synced_at_end():
        with jsonio.synced_at_end():
            jsonio.write_json(kept, {})
            jsonio.write_json(moved, {})
        assert fsynced == []  # the inner block left it to the outer one
        moved.rename(tmp_path / "quarantined.json")
    assert fsynced == [kept]


def test_a_failed_block_fsyncs_nothing_and_leaves_no_batch_behind(tmp_path, fsynced):
    with pytest.raises(RuntimeError), jsonio.synced_at_end():
        jsonio.write_json(tmp_path / "a.json", {})
        raise RuntimeError("the step failed: Snakemake fails the job")
    assert fsynced == []
    jsonio.write_json(tmp_path / "b.json", {})
    assert len(fsynced) == 1


def test_a_block_defers_only_its_own_threads_writes(tmp_path, fsynced):
    inside, started, written = tmp_path / "inside.json", threading.Event(), threading.Event()

    def other_job() -> None:
        if started.wait(10):
            jsonio.write_json(tmp_path / "other.json", {})
            written.set()

    t = threading.Thread(target=other_job, daemon=True)
    t.start()
    with jsonio.synced_at_end():
        jsonio.write_json(inside, {})
        started.set()
        assert written.wait(10)
        # the other thread's write was fsynced at once; this block's waits for its end
        assert [p.name.startswith(".other.json.") for p in fsynced] == [True]
    t.join()
    assert fsynced[-1] == inside
