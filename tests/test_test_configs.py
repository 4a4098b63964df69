"""The checked-in test configs (.test/config/*.yaml, dry-run by `make test-configs`) plan
exactly the jobs they imply, so they cannot rot.

Each config is dry-run by the real snakemake in a temporary working directory; every rule's
job count and every agent job's run are compared with what the config itself says (tiers,
subtests, runs, judges, top-level defaults, max_subtests), counted here from the YAML without
scylla's config code. The config's `# expected-jobs: N` line (what `make test-configs`
checks) must agree, and each config keeps the shape it is there to cover.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from scylla.cli.invoke import job_stats

REPO = Path(__file__).resolve().parents[1]
TEST_DIR = REPO / ".test"
CONFIGS = sorted((TEST_DIR / "config").glob("*.yaml"))
BIN = Path(sys.executable).parent  # the interpreter's bin folder: its snakemake, its scylla
EXPECTED = re.compile(r"^# expected-jobs: (\d+)\s*$", re.MULTILINE)
# Top-level keys that are defaults of every experiment (scylla.config.DEFAULTS_KEYS).
DEFAULTS = ("runs", "tiers", "max_subtests", "agent", "judges")


def load(config: Path) -> dict[str, Any]:
    return yaml.safe_load(config.read_text())


def experiments(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Every experiment with the top-level defaults merged in (an experiment's keys win)."""
    defaults = {k: cfg[k] for k in DEFAULTS if k in cfg}
    return [{**defaults, **exp} for exp in cfg["experiments"]]


def subtests(cfg: dict[str, Any], exp: dict[str, Any]) -> dict[str, list[str]]:
    """{tier: [subtest ids]} of one experiment: tier files or inline tiers, max_subtests cut."""
    tiers = exp["tiers"]
    if isinstance(tiers, list):
        tiers_dir = REPO / cfg.get("tiers_dir", "config/tiers")
        tiers = {t: load(tiers_dir / f"{t}.yaml") for t in tiers}
    cut = exp.get("max_subtests")
    return {t: sorted(spec["subtests"])[:cut] for t, spec in tiers.items()}


def implied(cfg: dict[str, Any]) -> tuple[Counter[str], set[tuple[str, str, str, str]]]:
    """(jobs per rule, {(experiment, tier, subtest, run)}) a fresh dry run must plan."""
    counts: Counter[str] = Counter(all=1)
    runs: set[tuple[str, str, str, str]] = set()
    for exp in experiments(cfg):
        tiers = subtests(cfg, exp)
        n_runs = exp.get("runs", 1)
        for tier, ids in tiers.items():
            for sid in ids:
                runs.update((exp["name"], tier, sid, f"{n:02d}") for n in range(1, n_runs + 1))
        per_run = sum(len(ids) for ids in tiers.values()) * n_runs
        counts.update(
            agent=per_run,
            judge_prompt=per_run,
            judge=per_run * len(exp["judges"]),
            run_result=per_run,
            subtest_report=sum(len(ids) for ids in tiers.values()),
            tier_report=len(tiers),
            experiment_report=1,
            experiment_config=1,
        )
    return counts, runs


def dry_run(config: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "snakemake"),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(config),
            "--dry-run",
            "--cores",
            "1",
        ],
        cwd=workdir,
        env={**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def output_of(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


def agent_runs(text: str) -> set[tuple[str, str, str, str]]:
    """{(experiment, tier, subtest, run)} of the planned agent jobs (their wildcards lines)."""
    runs = set()
    for job in re.split(r"\n(?=(?:local)?rule \w+:\n)", text):
        if job.startswith(("rule agent:", "localrule agent:")):
            line = re.search(r"^\s+wildcards: (.*)$", job, re.MULTILINE)
            assert line, job
            w = dict(pair.split("=", 1) for pair in line.group(1).split(", "))
            runs.add((w["experiment"], w["tier"], w["subtest"], w["run"]))
    return runs


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_the_test_configs_cover_their_shapes() -> None:
    shapes = {c.stem: experiments(load(c)) for c in CONFIGS}
    assert {"minimal", "matrix", "command"} <= set(shapes), sorted(shapes)
    # the smallest valid experiment: 1 tier x 1 subtest x 1 run, judged without an LLM
    (minimal,) = shapes["minimal"]
    assert implied(load(TEST_DIR / "config" / "minimal.yaml"))[0]["agent"] == 1
    assert [j["adapter"] for j in minimal["judges"]] == ["checks"]
    assert minimal["agent"]["adapter"] in ("oracle", "nop")
    # several tiers x subtests x runs, the claude-code adapter and two LLM judges
    (matrix,) = shapes["matrix"]
    tiers = subtests(load(TEST_DIR / "config" / "matrix.yaml"), matrix)
    assert len(tiers) >= 2 and any(len(s) >= 2 for s in tiers.values()) and matrix["runs"] >= 2
    assert matrix["agent"]["adapter"] == "claude-code"
    assert [j["adapter"] for j in matrix["judges"]] == ["claude-code", "claude-code"]
    # the command adapter, next to a second experiment sharing the top-level defaults
    assert "command" in {e["agent"]["adapter"] for e in shapes["command"]}
    assert len(shapes["command"]) >= 2


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_test_config_dry_run_plans_what_it_implies(config: Path, tmp_path: Path) -> None:
    before = tree(TEST_DIR)
    proc = dry_run(config, tmp_path)
    text = output_of(proc)
    assert proc.returncode == 0, text[-4000:]

    counts, runs = implied(load(config))
    assert job_stats(text) == dict(counts), text[-3000:]
    assert agent_runs(text) == runs
    # `make test-configs` checks the total written in the config: it must agree
    match = EXPECTED.search(config.read_text())
    assert match, f"{config.name}: no '# expected-jobs: N' line"
    assert int(match.group(1)) == counts.total()

    # a dry run writes no result, and nothing into the repository's .test/
    assert not (tmp_path / "results").exists()
    assert tree(TEST_DIR) == before


def test_make_target_script_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    """.test/dry_run.py (make test-configs): one line per config, non-zero on a mismatch."""
    good = TEST_DIR / "config" / "minimal.yaml"
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(EXPECTED.sub("# expected-jobs: 10", good.read_text()))
    proc = subprocess.run(
        [sys.executable, str(TEST_DIR / "dry_run.py"), str(good), str(wrong)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1, output_of(proc)
    assert lines[0].startswith("ok   minimal.yaml") and " 9 jobs " in lines[0], lines
    assert lines[1].startswith("FAIL wrong.yaml") and "9 jobs scheduled, 10 expected" in lines[2]


REPORTS = ("subtest_report", "tier_report", "experiment_report")
_JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", re.MULTILINE)


def planned_jobs(text: str) -> list[tuple[str, dict[str, str]]]:
    """[(rule, {input, output, wildcards: text})] of every job a dry-run prints."""
    jobs = []
    for m in _JOB.finditer(text):
        fields = dict(
            line.strip().split(": ", 1) for line in m.group(2).splitlines() if ": " in line
        )
        jobs.append((m.group(1), fields))
    return jobs


def test_every_run_is_an_island_so_its_result_follows_its_own_last_judge(tmp_path: Path) -> None:
    """The rule graph per run (matrix: 15 runs x 2 judges): every job of a run reads and
    writes only files of that run, so its run_result.json is made as soon as *its* judges
    are done (no other run, subtest or report holds it back); the run has 3 + S jobs; only the
    reports read across runs."""
    config = TEST_DIR / "config" / "matrix.yaml"
    jobs = planned_jobs(output_of(dry_run(config, tmp_path)))
    per_run: Counter[str] = Counter()
    for rule, fields in jobs:
        wildcards = dict(w.split("=", 1) for w in fields.get("wildcards", "").split(", ") if w)
        if "run" not in wildcards:
            assert rule in {"all", "experiment_config", *REPORTS}, rule
            continue
        run_dir = (
            "/".join(["results", wildcards["experiment"], wildcards["tier"], wildcards["subtest"]])
            + f"/run_{wildcards['run']}/"
        )
        files = fields.get("input", "").split(", ") + fields["output"].split(", ")
        assert all(f.startswith(run_dir) for f in files if f), (rule, run_dir, files)
        per_run[run_dir] += 1
    slots = len(experiments(load(config))[0]["judges"])
    assert len(per_run) == 15 and set(per_run.values()) == {3 + slots}
