"""`python -m scylla.steps RULE ...`: the rules that call an agent or a judge (agent, judge) as
processes of their own, so they can run in a conda env (`--sdm conda`), a container or on a
cluster node, and so a call's whole process tree can be ended with its job. They read the
resolved experiment the Snakefile saved at parse time. Rule judge_prompt runs in Snakemake's
threads; `judge_prompt` here makes one run's prompt by hand, as the rule does.

`subtest_results` (rules subtest_results_<N>, `scylla regenerate` of whole subtests) is a
process too, for speed alone: its parsing and writing for every run of a subtest no longer
competes for the scheduler's interpreter lock, and uses a second CPU."""

from __future__ import annotations

import argparse
import json
import signal
from pathlib import Path

from scylla.config import Experiment
from scylla.layout.paths import RunRef, run_name
from scylla.util import procs, secrets


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scylla.steps")
    p.add_argument("rule", choices=("agent", "judge_prompt", "judge", "subtest_results"))
    p.add_argument("--spec", required=True, type=Path, help="resolved experiment JSON")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--run-dir", type=Path, help="results/<exp>/<tier>/<sub>/run_NN")
    where.add_argument("--subtest-dir", type=Path, help="results/<exp>/<tier>/<sub>")
    p.add_argument("--slot")
    p.add_argument("--attempt", type=int, default=1)
    p.add_argument("--log", required=True)
    a = p.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)  # ends the agent's whole tree, then the job
    procs.become_subreaper()
    exp = Experiment.from_spec(json.loads(a.spec.read_text()))
    secrets.register_env(dict(exp.agent_spec().env))
    # a subtest's own directory stands for its run 1 (subtest_results reads the tier, subtest)
    run_dir = a.run_dir or a.subtest_dir / run_name(1)
    root, ref = RunRef.root_of(run_dir), RunRef.from_run_dir(run_dir)
    from scylla import steps

    return steps.guarded(a.rule, a.log, lambda: _dispatch(steps, a, root, exp, ref))


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _dispatch(steps, a: argparse.Namespace, root: Path, exp: Experiment, ref: RunRef) -> None:
    if a.rule == "subtest_results":
        steps.subtest_results(root, exp, ref.tier, ref.subtest, a.log)
    elif a.rule == "agent":
        steps.run_agent(root, exp, ref, a.log, a.attempt)
    elif a.rule == "judge_prompt":
        steps.judge_prompt_(root, exp, ref, a.log)
    else:
        steps.judge(root, exp, ref, a.slot, a.log, a.attempt)


if __name__ == "__main__":
    raise SystemExit(main())
