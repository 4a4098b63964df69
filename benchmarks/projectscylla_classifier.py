"""Baseline of figure 1: a direct run classifier that reads a run as ProjectScylla reads it.

ProjectScylla (github.com/HomericIntelligence/ProjectScylla) classifies runs in its recovery
tools, `src/scylla/e2e/rerun.py` (agent status of a run) and `src/scylla/e2e/rerun_judges.py`
(status of each judge slot). This is not its code: it is a minimal classifier written here that
touches the same files per run, in the same way (pathlib, `exists()` then `stat()`, one JSON
parse per judgment), so that its wall time is what "the original tool's classifier on the same
tree" costs. Standard library only, like a fresh interpreter running the original scan.

What the original reads per run, and why:

* the run directory: `exists()`; a run that is not there is `missing`.
* `agent/output.txt`: `exists()` and `stat().st_size > 0` (two system calls): the agent said
  something.
* `agent/result.json`, `judge/` and `run_result.json`: `exists()` only. With all of them the run
  is `completed`. None of them is opened: a truncated or corrupt result still counts (the
  original's known weakness that scylla fixes by parsing every file).
* only when the run is not complete: `agent/timing.json` and `agent/command_log.json`
  (`exists()`: the agent finished, so the results can be regenerated, `results`),
  `agent/stderr.log` (`exists()`: it ran and failed, `failed`), `agent/` (`exists()`: it
  started, `partial`).
* per judge slot (the judge scan re-checks the agent first: `agent/output.txt` exists and is
  non-empty and `agent/result.json` exists, else every slot is `agent_failed`):
  `judge/judge_NN/` (`exists()`: else `missing`), `judge/judge_NN/judgment.json` (`exists()`
  twice, then opened and parsed as JSON; it must hold a `score`: `complete`, else `failed`).

Which runs exist comes from `config/experiment.json`, the file the original loads
(`tiers_to_run`, `runs_per_subtest`, `judge_models`); the subtest ids, which the original takes
from its tier config files, come from the same file's `scylla.tiers` block that scylla writes.

Usage: python benchmarks/projectscylla_classifier.py RESULTS [--summary]
Prints one JSON object per run (tier, subtest, run, status, judges), like
`scylla status --format json`, or only the counts with --summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def classify_agent(run_dir: Path) -> str:
    if not run_dir.exists():
        return "missing"
    agent = run_dir / "agent"
    output = agent / "output.txt"
    said_something = output.exists() and output.stat().st_size > 0
    if (
        said_something
        and (agent / "result.json").exists()
        and (run_dir / "judge").exists()
        and (run_dir / "run_result.json").exists()
    ):
        return "completed"
    if said_something:
        finished = (agent / "timing.json").exists() and (agent / "command_log.json").exists()
        if finished:
            return "results"  # result.json or run_result.json missing: regenerate only
    if (agent / "stderr.log").exists() and not said_something:
        return "failed"
    if agent.exists():
        return "partial"
    return "missing"


def judgment_ok(judgment: Path) -> bool:
    if not judgment.exists():
        return False
    try:
        with open(judgment) as fh:
            return "score" in json.load(fh)
    except (OSError, ValueError):
        return False


def classify_judges(run_dir: Path, n_slots: int) -> list[str]:
    output = run_dir / "agent" / "output.txt"
    agent_ok = (
        output.exists() and output.stat().st_size > 0 and (run_dir / "agent/result.json").exists()
    )
    if not agent_ok:
        return ["agent_failed"] * n_slots
    out = []
    for n in range(1, n_slots + 1):
        slot = run_dir / "judge" / f"judge_{n:02d}"
        judgment = slot / "judgment.json"
        if not slot.exists():
            out.append("missing")
        elif not judgment.exists():
            out.append("failed")
        else:
            out.append("complete" if judgment_ok(judgment) else "failed")
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    exp_dir = Path(argv[0])
    cfg = json.loads((exp_dir / "config" / "experiment.json").read_text())
    tiers = cfg["scylla"]["tiers"]
    n_slots = len(cfg["judge_models"])
    summary = "--summary" in argv
    counts: dict[str, int] = {}
    rows = []
    for tier in cfg["tiers_to_run"]:
        for subtest in tiers[tier]["subtests"]:
            for run in range(1, int(cfg["runs_per_subtest"]) + 1):
                run_dir = exp_dir / tier / subtest / f"run_{run:02d}"
                status = classify_agent(run_dir)
                judges = classify_judges(run_dir, n_slots)
                counts[status] = counts.get(status, 0) + 1
                if not summary:
                    rows.append(
                        json.dumps(
                            {
                                "tier": tier,
                                "subtest": subtest,
                                "run": run,
                                "status": status,
                                "judges": judges,
                            }
                        )
                    )
    if summary:
        print(json.dumps(counts))
    else:
        print("[\n" + ",\n".join(rows) + "\n]" if rows else "[]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
