"""A run's results while its experiment runs: rule run_result makes each run's
run_result.json once that run's own judges are done, not when the experiment ends, and
`scylla status` shows that run completed while another run's agent is still answering."""

from __future__ import annotations

from helpers import (
    CONFIG,
    ONE_SUBTEST,
    agent_cfg,
    by_run,
    calls,
    experiment_cfg,
    judge_cfg,
    rp,
    start,
    status,
    wait_for,
    write_config,
    write_modes,
)

SLOW = 15.0  # seconds the slow agent sleeps before it answers


def test_a_runs_result_and_status_come_while_another_agent_is_answering(tmp_path):
    modes = write_modes(tmp_path / "agent-modes.json", ["agent:normal", "agent:slow"])
    env = {"CLAUDE_STANDIN_MODE_FILE": str(modes), "CLAUDE_STANDIN_SLOW": str(SLOW)}
    exp = experiment_cfg(
        tiers=ONE_SUBTEST,
        runs=2,
        agent=agent_cfg(env=env),
        judges=[judge_cfg("claude-opus-4-5-20251101")],
    )
    write_config(tmp_path, exp)
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
