"""A run's results while its experiment runs: rule run_result makes each run's
run_result.json once that run's own judges are done, not when the experiment ends, and
`scylla status` shows that run completed while another run's agent is still answering."""

from __future__ import annotations

from helpers import CONFIG, by_run, calls, rp, start, status, two_runs_one_slow, wait_for

SLOW = 15.0  # seconds the slow agent sleeps before it answers


def test_a_runs_result_and_status_come_while_another_agent_is_answering(tmp_path):
    two_runs_one_slow(tmp_path, SLOW)
    keys = [("T0", "00", n) for n in (1, 2)]
    bg = start(tmp_path, "run", CONFIG, "--parallel", "2")
    try:
        fast = wait_for(
            "one run's run_result.json",
            lambda: next((k for k in keys if rp(tmp_path, k).run_result.is_file()), None),
            timeout=120,
            proc=bg,
        )
        rows = by_run(status(tmp_path))
        made = rp(tmp_path, fast).run_result.stat().st_mtime
        assert bg.poll() is None, "the experiment ended before its first run's result was read"
        slow = next(c for c in calls(tmp_path) if c["role"] == "agent" and c["mode"] == "slow")
        other = next(k for k in keys if k != fast)
        # made, and shown completed, while the other run's agent was still answering
        assert made < slow["at"] + SLOW, (made, slow)
        assert rows[fast]["status"] == "completed", rows[fast]
        assert rows[other]["status"] != "completed", rows[other]
        assert not rp(tmp_path, other).run_result.exists()
    finally:
        assert bg.wait(timeout=180) == 0, (tmp_path / "bg.log").read_text()[-4000:]
    assert {r["status"] for r in status(tmp_path)} == {"completed"}
    agents = [c for c in calls(tmp_path) if c["role"] == "agent"]
    assert sorted(c["mode"] for c in agents) == ["normal", "slow"], agents  # no agent re-run
