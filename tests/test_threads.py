"""Rule judge_prompt runs in Snakemake's own process (one of its threads), beside every other
job's process. The rubric's checks it runs must end their own leftovers there and nothing
else: Snakemake's other children are running agents and judges, not orphans of a check."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime

from helpers import (
    CONFIG,
    ONE_SUBTEST,
    QUICK_RUBRIC,
    agent_cfg,
    calls,
    experiment_cfg,
    ok,
    rp,
    scylla,
    snakemake,
    status,
    two_runs_one_slow,
    write_config,
    write_task,
)

SLOW = 8.0  # seconds the slow agent sleeps before it answers
DELAY = 1.5  # seconds every agent takes to answer


def log_span(log):
    """The time stamps of a job log's first and last lines."""
    lines = log.read_text().splitlines()
    return tuple(datetime.fromisoformat(ln.split()[0]).timestamp() for ln in (lines[0], lines[-1]))


def test_checks_in_snakemakes_threads_leave_a_running_agent_alone(tmp_path):
    # Two runs: one agent answers at once, the other sleeps SLOW s, so the first run's
    # judge_prompt (checks and all) runs in a thread of Snakemake while the second agent's
    # job, a child of Snakemake, is running.
    # Every agent answers DELAY s late: the second agent's call (slow) is made before the
    # first run's checks begin, however long the second job takes to start.
    two_runs_one_slow(tmp_path, SLOW, CLAUDE_STANDIN_DELAY=str(DELAY))
    proc = ok(scylla(tmp_path, "run", CONFIG, "--parallel", "2"))

    agents = [c for c in calls(tmp_path) if c["role"] == "agent"]
    assert sorted(c["mode"] for c in agents) == ["normal", "slow"], agents  # no agent re-run
    slow = next(c for c in agents if c["mode"] == "slow")
    fast = next(c for c in agents if c["mode"] == "normal")
    fast_run = int(re.search(r"/run_(\d+)/", fast["cwd"])[1])
    log = tmp_path / f"results/mini/logs/T0/00/run_{fast_run:02d}/judge_prompt.log"
    started, _ = log_span(log)
    # the fast run's checks ran while the slow agent was still sleeping
    assert slow["at"] < started < slow["at"] + SLOW - 1, (slow, started)

    rows = status(tmp_path)
    assert {r["status"] for r in rows} == {"completed"}, rows
    for n in (1, 2):
        attempts = rp(tmp_path, ("T0", "00", n)).attempts
        assert sorted(p.name for p in attempts.iterdir() if p.name.isdigit()) == ["1"]
    assert "Error in rule" not in proc.stdout + proc.stderr


def test_a_scheduling_round_does_not_beget_another_every_second(tmp_path):
    # Snakemake's command line always sets a job rate limiter (`--max-jobs-per-timespan`,
    # 10000/1s in the profile), and its scheduler ends every round by starting a 1 s timer
    # that causes another round, which starts another timer: each round begets a round per
    # second for the rest of the run. Agents that answer DELAY s late, one at a time, keep
    # the run going while jobs wait, so every round chooses among them and says so in the
    # debug log.
    runs = 4
    env = {"CLAUDE_STANDIN_DELAY": str(DELAY)}
    exp = experiment_cfg(tiers=ONE_SUBTEST, runs=runs, agent=agent_cfg(env=env))
    write_config(tmp_path, exp)
    started = time.monotonic()
    proc = ok(snakemake(tmp_path, "--verbose", "--resources", "api_slots=1"))
    seconds = time.monotonic() - started
    out = proc.stdout + proc.stderr
    rounds = out.count("Resources before job selection")
    jobs = int(re.search(r"(\d+) of \1 steps \(100%\) done", out)[1])
    assert len([c for c in calls(tmp_path) if c["role"] == "agent"]) == runs
    # at most one round per job, per second of the run, and a few to begin and end (31 and
    # 33 rounds for 25 jobs in 12 s); with a timer per round, 62 and 68 rounds in 13 s
    assert rounds <= jobs + seconds + 5, (rounds, jobs, seconds)


def test_a_judge_that_calls_nothing_holds_no_paid_call_slot(tmp_path):
    # One paid-call slot (api_slots=1), two runs, a `checks` judge: the first run's judge
    # scores while the second run's agent, the only paid call, is still answering (holding
    # a slot, it waited for that agent to end).
    answer = 4.0
    env = {"CLAUDE_STANDIN_DELAY": str(answer)}
    exp = experiment_cfg(
        tiers=ONE_SUBTEST, runs=2, agent=agent_cfg(env=env), judges=[{"adapter": "checks"}]
    )
    write_config(tmp_path, exp)
    ok(snakemake(tmp_path, "--resources", "api_slots=1"))

    first, second = sorted(
        (c for c in calls(tmp_path) if c["role"] == "agent"), key=lambda c: c["at"]
    )
    run = int(re.search(r"/run_(\d+)/", first["cwd"])[1])
    timing = rp(tmp_path, ("T0", "00", run)).judge_slot("01").timing
    judged = datetime.fromisoformat(json.loads(timing.read_text())["measured_at"]).timestamp()
    assert judged < second["at"] + answer - 0.5, (first, second, judged)
    assert {r["status"] for r in status(tmp_path)} == {"completed"}


def test_parallel_n_is_n_paid_calls_with_the_cheap_steps_beside_them(tmp_path):
    # `scylla run --parallel 2`: never more than two agents at once, and a finished run's
    # cheap steps do not wait for one of them to end. Each judge_prompt runs a 1 s check,
    # so it is still running while the next two agents answer; with two job slots in all
    # (`--cores 2`, as `--parallel` meant before), it could only run beside one agent.
    rubric = QUICK_RUBRIC.replace("! grep -q NotImplementedError textstats/core.py", "sleep 1")
    assert rubric != QUICK_RUBRIC
    task = write_task(tmp_path.parent / f"{tmp_path.name}-task")
    (task / "rubric.yaml").write_text(rubric)
    env = {"CLAUDE_STANDIN_DELAY": str(DELAY)}
    exp = experiment_cfg(
        task=str(task),
        tiers=ONE_SUBTEST,
        runs=5,
        agent=agent_cfg(env=env),
        judges=[{"adapter": "checks"}],
    )
    write_config(tmp_path, exp)
    ok(scylla(tmp_path, "run", CONFIG, "--parallel", "2"))

    # an agent surely holds its slot while the stand-in sleeps before answering
    answering = [(c["at"], c["at"] + DELAY - 0.2) for c in calls(tmp_path) if c["role"] == "agent"]
    assert len(answering) == 5

    def agents_at(t):
        return sum(s <= t <= e for s, e in answering)

    assert max(agents_at(t) for t, _ in answering) == 2, answering

    logs = tmp_path.glob("results/mini/logs/T0/00/run_*/judge_prompt.log")
    prompts = [log_span(p) for p in logs]
    assert len(prompts) == 5

    def agents_during(start, end):
        return max(agents_at(t) for t in [start] + [s for s, _ in answering if start <= s <= end])

    assert max(agents_during(*p) for p in prompts) == 2, (answering, prompts)
    assert {r["status"] for r in status(tmp_path)} == {"completed"}
