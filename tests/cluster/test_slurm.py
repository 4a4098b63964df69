"""The offline demo on a real one-node SLURM cluster, through `profiles/slurm`.

1. `scylla run config.yaml --runs 1 --profile profiles/slurm` runs the demo: every agent and
   judge is a SLURM job (sbatch), every other rule runs on the submit host.
2. The submitting snakemake is killed (`kill -9` of its process group) while agents run on
   the cluster; SLURM keeps running them. scylla's recovery (scylla.recovery.cluster, docs/slurm.md:
   `scylla repair`, `scylla run`) cancels the queued jobs, waits for the running ones, and
   `scylla run` finishes the experiment, adopting the killed scheduler's finished agents: no
   paid call twice.
   Also `kill -9` of `scylla run` itself: its snakemake then stops and cancels its jobs.

Run with `make test-cluster` (root; installs slurm on Debian). Slow: ~10 min on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import helpers
import pytest
import yaml
from helpers import REPO, calls, ok, output_of, slurm, start, wait_for

pytestmark = pytest.mark.usefixtures("slurm_cluster")

PROFILE = REPO / "profiles" / "slurm"
DEMO = REPO / "config" / "config.yaml"
# The test cluster answers at once: poll the first job after 5 s, not the plugin's 40 s.
FAST = ["--", "--slurm-init-seconds-before-status-checks", "5"]
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+)")


def demo_config(wd: Path, **agent_env: str) -> Path:
    """The demo config (config/config.yaml) in `wd`; its task resolves to the repo's."""
    wd.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load(DEMO.read_text())
    for exp in cfg["experiments"]:
        exp["agent"].setdefault("env", {}).update(agent_env)
    path = wd / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def scylla(wd: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    # Its environment (helpers.tool_env) has this interpreter's bin/ first: SLURM jobs inherit
    # it (sbatch --export=ALL) and their shell commands call `python -m scylla.steps`.
    return helpers.scylla(wd, *args, timeout=timeout)


def status(wd: Path) -> list[dict]:
    proc = ok(scylla(wd, "status", "results/demo", "--format", "json", timeout=300))
    data = json.loads(proc.stdout)
    return data["runs"] if isinstance(data, dict) else data


def submitted_ids(wd: Path) -> list[str]:
    """SLURM job ids in snakemake's own logs (.snakemake/log/*.snakemake.log)."""
    ids = []
    for log in sorted((wd / ".snakemake" / "log").glob("*.snakemake.log")):
        ids += SUBMITTED.findall(log.read_text(errors="replace"))
    return ids


def slurm_log_ids(wd: Path) -> dict[str, str]:
    """{job id: rule} of the per-job logs the executor keeps (.snakemake/slurm_logs)."""
    root = wd / ".snakemake" / "slurm_logs"
    return {p.stem: p.relative_to(root).parts[0].removeprefix("rule_") for p in root.rglob("*.log")}


def calls_by_role(wd: Path) -> Counter:
    """{role: stand-in calls} logged in wd/calls.jsonl."""
    return Counter(c["role"] for c in calls(wd))


def test_demo_runs_through_sbatch(tmp_path: Path, ledger: list[str]) -> None:
    wd = tmp_path / "demo"
    config = demo_config(wd)
    t0 = time.monotonic()
    # Run 1 of every subtest of the demo (7 agents, 14 judges): the whole demo is 3x that
    # and only 2 jobs run at once on a 2-core machine, each a snakemake of its own.
    proc = ok(scylla(wd, "run", config.name, "--runs", "1", "--profile", str(PROFILE), *FAST))
    wall = time.monotonic() - t0

    # Every run finished: completed, or failed by the agent's own (scripted) outcome;
    # nothing may be left partial or missing, and no failure may be infrastructure.
    runs = [r for r in status(wd) if int(r["run"]) == 1]
    assert len(runs) == 7, runs
    assert {r["status"] for r in runs} <= {"completed", "failed"}, output_of(proc)[-3000:]
    failed = [r for r in runs if r["status"] == "failed"]
    assert all(r["failure_class"] == "agent" for r in failed), failed
    assert len(failed) < 3, failed

    # Every agent and judge went through sbatch, and nothing else did.
    ids = submitted_ids(wd)
    by_log = slurm_log_ids(wd)
    assert ids and sorted(ids) == sorted(by_log), (ids, by_log)
    assert Counter(by_log.values()) == {"agent": 7, "judge": 14}
    seen = {j.id: j for j in slurm.jobs(wd)}
    assert set(ids) <= set(seen), "squeue (MinJobAge=600) lost jobs of this run"
    for job_id in ids:
        job = slurm.scontrol_job(job_id)
        assert job["JobState"] == "COMPLETED", job
        assert Path(job["WorkDir"]).resolve() == wd.resolve()
        assert job["JobName"].startswith(slurm.JOB_PREFIX)
    assert len({seen[i].name for i in ids}) == 1  # one submission: one run uuid
    # One paid call each; a judge of an agent that left nothing records that without a call.
    assert calls_by_role(wd) == {"agent": 7, "judge": 2 * (7 - len(failed))}
    ledger.append(
        f"demo via sbatch: {len(ids)} SLURM jobs (ids {min(ids, key=int)}..{max(ids, key=int)}, "
        f"name {seen[ids[0]].name}), {7 - len(failed)} runs completed, {len(failed)} failed "
        f"by the agent's scripted outcome, scylla run took {wall:.0f} s"
    )


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize("victim", ["snakemake", "scylla"])
def test_kill_submitter_then_recover(victim: str, tmp_path: Path, ledger: list[str]) -> None:
    """kill -9 of the submitting snakemake's process group (`snakemake`: what an OOM kill or
    a crash of the submit host's scheduler does), or of `scylla run` (`scylla`: its snakemake
    then gets SIGTERM from the kernel, PR_SET_PDEATHSIG, and stops gracefully)."""
    wd = tmp_path / "killed"
    # Agents take 20 s each: long enough to be caught running.
    config = demo_config(wd, CLAUDE_STANDIN_DELAY="20")
    args = ["run", config.name, "--tiers", "T0", "--runs", "1", "--profile", str(PROFILE), *FAST]
    first = start(wd, *args, log="first.log")
    try:
        running = wait_for(
            "an agent job RUNNING in squeue",
            lambda: [j for j in slurm.jobs(wd, "RUNNING") if j.rule == "agent"],
            timeout=300,
            proc=first,
            interval=1,
        )
        # scylla runs snakemake in a process group of its own
        (smk,) = children(first.pid)
        target = os.getpgid(smk) if victim == "snakemake" else first.pid
        os.killpg(target, signal.SIGKILL)
        first.wait(timeout=120)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    killed_at = time.monotonic()

    after = {j.id: j.state for j in slurm.jobs(wd, slurm.ACTIVE)}
    time.sleep(8)
    later = {j.id: j.state for j in slurm.jobs(wd)}
    ledger.append(
        f"[{victim}] kill -9 while agent job(s) {[j.id for j in running]} ran: right after, "
        f"squeue had {after}; 8 s later {later}"
    )
    if victim == "snakemake":
        # SLURM does not notice: the running job goes on, the queued ones stay queued.
        assert later[running[0].id] in ("RUNNING", "COMPLETING", "COMPLETED"), later
    else:
        # Its snakemake stopped gracefully: the executor plugin cancelled its jobs.
        assert set(later.values()) <= {"CANCELLED", "COMPLETED"}, later

    # Recovery is scylla's own (scylla.recovery.cluster, docs/slurm.md): before anything starts, no
    # job of the killed scheduler may stay alive. A killed snakemake leaves its lock:
    # `scylla run` says so, and `scylla repair` (which waits for or cancels the cluster jobs
    # first) clears it.
    again = scylla(wd, *args)
    said = output_of(again)
    repaired = again.returncode != 0 and "scylla repair" in said
    if repaired:
        fixed = ok(scylla(wd, "repair", "results/demo"))
        said += output_of(fixed)
        again = scylla(wd, *args)
        said += output_of(again)
    ok(again)
    recovered = time.monotonic() - killed_at
    assert not slurm.jobs(wd, slurm.ACTIVE)
    policy = [line for line in said.splitlines() if line.startswith("scylla:") and "SLURM" in line]
    ledger.append(f"[{victim}] scylla said: {policy}")
    if victim == "snakemake":
        # the running agent was waited for (adopted), never cancelled
        assert any("waiting for" in line for line in policy), said[-3000:]
        assert not any("running SLURM job(s) (--kill-orphans)" in line for line in policy)

    chosen = [r for r in status(wd) if r["tier"] == "T0" and int(r["run"]) == 1]
    assert len(chosen) == 3 and {r["status"] for r in chosen} == {"completed"}, chosen
    attempts = {f"{r['tier']}/{r['subtest']}/{r['run']}": r["attempts"] for r in chosen}
    if victim == "snakemake":
        # The killed scheduler's running agents were waited for and adopted: one attempt
        # (one paid call) per run.
        assert set(attempts.values()) == {1}, attempts
    ids = submitted_ids(wd)
    ledger.append(
        f"[{victim}] SLURM job ids in snakemake's logs {ids}; agent attempts per run "
        f"{attempts}; stand-in agent calls logged {calls_by_role(wd)['agent']}; "
        f"{'scylla repair, then ' if repaired else ''}recovered {recovered:.0f} s after the kill"
    )


def test_cluster_tools_on_path() -> None:
    """The suite needs the client tools the fixture installed (sanity, not a feature)."""
    for tool in ("sbatch", "squeue", "scancel", "scontrol"):
        assert shutil.which(tool), tool
