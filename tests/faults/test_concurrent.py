"""Two invocations on one results directory: the second refuses clearly and changes nothing
a running job reads (reproductions 8 and 9)."""

from __future__ import annotations

import json

import helpers as h
import yaml
from helpers import faults as f

from scylla.recovery import archive

SLOW = [("T0", "00", 1), ("T0", "00", 2)]
OTHERS = [k for k in f.RUNS if k not in SLOW]


def test_a_second_invocation_is_refused_and_changes_nothing(tree):
    case = f.Case("two invocations on one results directory", tree, protect=OTHERS)
    for key in SLOW:
        archive.archive_run(f.rp(tree, key), "fault test: run it again")
        f.modes(tree, key, "slow")
    bg = f.start(tree, "run", f.CONFIG, env={"CLAUDE_STANDIN_SLOW": "5"})
    f.wait_for("the scheduler runs", lambda: f.schedulers(tree), 60, bg)
    (pid,) = f.schedulers(tree)
    cfg = yaml.safe_load((tree / f.CONFIG).read_text())
    cfg["experiments"][0]["agent"]["model"] = "opus"
    (tree / "other.yaml").write_text(yaml.safe_dump(cfg))
    specs = sorted((tree / ".snakemake" / "scylla" / "specs").iterdir())
    spec_bytes = {p: p.read_bytes() for p in specs}
    other = f.scylla(tree, "run", "other.yaml", "--yes")
    assert other.returncode != 0
    line = f"in use by snakemake (pid {pid})"
    assert line in other.stderr and "Traceback" not in other.stderr, other.stderr
    repair = f.scylla(tree, "repair", "results/mini")
    assert repair.returncode != 0 and line in repair.stderr, h.output_of(repair)
    rerun = f.scylla(tree, "rerun", "agents", "results/mini")
    assert rerun.returncode != 0 and line in rerun.stderr, h.output_of(rerun)
    plain = f.snakemake(tree, config="other.yaml", cores=1)
    assert plain.returncode != 0 and "lock" in h.output_of(plain).lower()
    # no file a running job reads was rewritten by the refused invocations
    assert {p: p.read_bytes() for p in specs} == spec_bytes
    bg.wait(timeout=120)
    assert bg.returncode == 0, (tree / "bg.log").read_text()[-3000:]
    for key in f.RUNS:
        result = json.loads(f.rp(tree, key).agent_result.read_text())
        assert result["model"] == "sonnet", (key, result["model"])
    assert {c["model"] for c in case.new_calls() if c["role"] == "agent"} == {
        "claude-sonnet-4-5-20250929"
    }
    case.close("refused with one line naming the pid; nothing changed")
