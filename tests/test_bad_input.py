"""Bad input: every malformed config is one line naming the key and the problem, before any
job starts and with nothing written into the results directory; paths from a config never
escape their roots; CLI filters that select nothing are errors (issue: bad input and secrets).
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import REPO, SCYLLA, experiment_cfg, output_of, scylla, snakemake, tool_env

TASK = REPO / "config" / "tasks" / "textstats"


def with_exp(**changes):
    exp = experiment_cfg(task=str(TASK))
    exp.update(changes)
    return {"experiments": [exp]}


def agent(**changes):
    exp = experiment_cfg(task=str(TASK))
    exp["agent"].update(changes)
    return {"experiments": [exp]}


def sub01(**changes):
    exp = experiment_cfg(task=str(TASK))
    exp["tiers"]["T0"]["subtests"]["01"] = changes
    return {"experiments": [exp]}


def task_variant(tmp: Path, **files: str) -> str:
    """A copy of the demo task with some files replaced (name -> text)."""
    task = tmp / "task"
    if not task.exists():
        shutil.copytree(TASK, task, ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in files.items():
        (task / name).write_text(text)
    return str(task)


def git_task(tmp: Path) -> str:
    task = tmp / "gtask"
    shutil.copytree(TASK, task, ignore=shutil.ignore_patterns("__pycache__"))
    repo = task / "repo"
    for argv in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "t"],
    ):
        subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True)
    (task / "task.yaml").write_text(
        "repo: repo\ncommit: 0123456789abcdef0123456789abcdef01234567\n"
    )
    return str(task)


# (id, config maker (tmp -> mapping or raw text), words the one line must contain)
CASES = [
    ("no-experiments", lambda t: {"results_dir": "results"}, ["'experiments' is a required"]),
    ("experiments-a-string", lambda t: {"experiments": "demo"}, ["experiments", "not of type"]),
    ("experiments-empty", lambda t: {"experiments": []}, ["experiments", "empty"]),
    ("experiment-without-name", lambda t: {"experiments": [{"task": str(TASK)}]}, ["'name'"]),
    ("name-with-slash", lambda t: with_exp(name="a/b"), ["experiments/0/name"]),
    ("name-dot-dot", lambda t: with_exp(name="../x"), ["experiments/0/name"]),
    ("name-space", lambda t: with_exp(name="my exp"), ["experiments/0/name"]),
    ("name-trailing-newline", lambda t: with_exp(name="mini\n"), ["experiments/0/name"]),
    ("unknown-top-key", lambda t: {**with_exp(), "colour": 1}, ["'colour' was unexpected"]),
    ("unknown-agent-key", lambda t: agent(colour="blue"), ["agent", "'colour' was unexpected"]),
    ("zero-runs", lambda t: with_exp(runs=0), ["experiments/0/runs", "minimum of 1"]),
    ("runs-wrong-type", lambda t: with_exp(runs="three"), ["experiments/0/runs"]),
    ("negative-timeout", lambda t: agent(timeout=-5), ["agent/timeout"]),
    ("unknown-adapter", lambda t: agent(adapter="gpt"), ["agent/adapter", "'gpt'"]),
    ("no-judges", lambda t: with_exp(judges=[]), ["judges", "empty"]),
    ("empty-model", lambda t: agent(model=""), ["agent/model", "empty"]),
    (
        "judge-without-model",
        lambda t: with_exp(judges=[{"adapter": "claude-code", "cli": "claude-standin"}]),
        ["judges[0].model", "required"],
    ),
    ("unknown-tier", lambda t: with_exp(tiers=["T9"]), ["tiers"]),
    ("tier-without-file", lambda t: with_exp(tiers=["T5"]), ["T5", "missing"]),
    ("subtest-id-one-digit", lambda t: with_exp(tiers={"T0": {"subtests": {"1": {}}}}), ["T0"]),
    ("duplicate-names", lambda t: {"experiments": [experiment_cfg()] * 2}, ["duplicate names"]),
    (
        "duplicate-slots",
        lambda t: with_exp(judges=[{"model": "a", "slot": 1}, {"model": "b", "slot": 1}]),
        ["duplicate slot"],
    ),
    ("max-subtests-zero", lambda t: with_exp(max_subtests=0), ["max_subtests"]),
    ("task-missing", lambda t: with_exp(task="config/tasks/nope"), ["task", "not a task dir"]),
    (
        "task-repo-missing",
        lambda t: with_exp(
            task={
                "repo": "/nonexistent/repo",
                "prompt": str(TASK / "prompt.md"),
                "rubric": str(TASK / "rubric.yaml"),
            }
        ),
        ["task.repo", "/nonexistent/repo"],
    ),
    (
        "rubric-without-items",
        lambda t: with_exp(task=task_variant(t, **{"rubric.yaml": "categories: {}\n"})),
        ["rubric", "no categories"],
    ),
    ("rubric-empty", lambda t: with_exp(task=task_variant(t, **{"rubric.yaml": ""})), ["rubric"]),
    (
        "rubric-yaml-syntax",
        lambda t: with_exp(task=task_variant(t, **{"rubric.yaml": "categories: [\n"})),
        ["rubric.yaml:"],
    ),
    (
        "task-yaml-syntax",
        lambda t: with_exp(task=task_variant(t, **{"task.yaml": "repo: {\n"})),
        ["task.yaml:"],
    ),
    (
        "prompt-empty",
        lambda t: with_exp(task=task_variant(t, **{"prompt.md": "\n"})),
        ["prompt", "empty"],
    ),
    ("task-commit-missing", lambda t: with_exp(task=git_task(t)), ["commit", "0123456789"]),
    ("command-without-command", lambda t: agent(adapter="command"), ["agent.command"]),
    ("replay-without-source", lambda t: agent(adapter="replay"), ["agent.replay_from"]),
    (
        "parser-not-importable",
        lambda t: agent(adapter="command", command=["true"], parser="nosuchmod:parse"),
        ["agent.parser", "nosuchmod", "PYTHONPATH"],
    ),
    ("files-escape", lambda t: sub01(files={"../evil.txt": "x"}), ["files", "../evil.txt"]),
    ("files-absolute", lambda t: sub01(files={"/tmp/evil.txt": "x"}), ["files", "/tmp/evil"]),
    ("skill-escape", lambda t: sub01(skills=["../../etc/passwd"]), ["skills"]),
    ("agent-escape", lambda t: sub01(agents={"../x": "text"}), ["agents"]),
    ("block-absolute", lambda t: sub01(claude_md=["/etc/passwd"]), ["claude_md"]),
    ("block-dot-dot", lambda t: sub01(claude_md=["../../README"]), ["claude_md"]),
    ("cli-not-on-path", lambda t: agent(cli="no-such-claude"), ["agent.cli", "not on PATH"]),
    ("yaml-syntax", lambda t: "experiments:\n  - name: [x\n", ["bad.yaml:"]),
    ("duplicate-yaml-key", lambda t: "experiments: []\nexperiments: []\n", ["appears twice"]),
]


@pytest.mark.parametrize("case,make,words", CASES, ids=[c[0] for c in CASES])
def test_a_bad_config_is_one_line_and_writes_nothing(tmp_path, case, make, words):
    made = make(tmp_path)
    text = made if isinstance(made, str) else yaml.safe_dump(copy.deepcopy(made))
    (tmp_path / "bad.yaml").write_text(text)
    proc = scylla(tmp_path, "run", "bad.yaml")
    err = proc.stderr.strip()
    assert proc.returncode != 0, output_of(proc)
    assert err.count("\n") == 0 and err.startswith("scylla: "), err
    for word in words:
        assert word in err, (word, err)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / ".snakemake" / "log").exists()  # no snakemake run started


@pytest.mark.parametrize(
    "case", ["no-experiments", "name-trailing-newline", "files-escape", "rubric-without-items"]
)
def test_plain_snakemake_names_the_key_too(tmp_path, case):
    make, words = next((m, w) for c, m, w in CASES if c == case)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(make(tmp_path)))
    proc = snakemake(tmp_path, "-n", config="bad.yaml")
    out = output_of(proc)
    assert proc.returncode != 0
    assert all(w in out for w in words), out[-2000:]
    assert "Traceback" not in out
    assert not (tmp_path / "results").exists()


def test_a_users_config_replaces_the_demo_config(tmp_path):
    """Plain `snakemake --configfile mine.yaml` plans mine only (it used to merge the demo)."""
    cfg = {"experiments": [experiment_cfg("mine", task=str(TASK))]}
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(cfg))
    out = output_of(snakemake(tmp_path, "-n", config="mine.yaml"))
    assert "results/mine/" in out and "results/demo/" not in out


@pytest.mark.parametrize(
    "args,words",
    [
        (["status", "results/mini", "--runs", "3-1"], "reversed range (did you mean 1-3?)"),
        (["status", "results/mini", "--runs", ""], "is not a list of run numbers"),
        (
            ["rerun", "agents", "results/mini", "--runs", "3-1", "--status", "completed", "-n"],
            "reversed range",
        ),
        (["status", "results/mini", "--tier", "T9"], "--tier T9: experiment mini has no such"),
        (["rerun", "agents", "results/mini", "--runs", "99", "-n"], "--runs 99: experiment"),
        (["regenerate", "results/mini", "--subtest", "07", "-n"], "--subtest 07: experiment"),
    ],
    ids=["reversed", "empty", "reversed-rerun", "unknown-tier", "run-99", "unknown-subtest"],
)
def test_filters_that_select_nothing_are_errors(workdir, args, words):
    proc = scylla(workdir, *args)
    assert proc.returncode != 0, output_of(proc)
    assert words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_closed_pipe_is_quiet_and_the_command_still_finishes(workdir):
    """`scylla ... | head -1`: no traceback, and repair still does everything."""
    marker_dir = workdir / ".snakemake" / "incomplete"
    marker_dir.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        f"{SCYLLA} status results/mini | head -1; {SCYLLA} repair results/mini | head -1",
        shell=True,
        cwd=workdir,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr
