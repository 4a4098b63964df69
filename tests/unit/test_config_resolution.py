"""Config validation and resolution (scylla.config): a tiny task directory (a plain folder as
repository, no git) and configs written as dicts; no snakemake."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from scylla import config
from scylla.config import ConfigError

RUBRIC = 'categories:\n  f:\n    items:\n      - id: F1\n        command: "true"\n'


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory with the task `task/`: repo/, prompt.md, rubric.yaml."""
    (tmp_path / "task" / "repo").mkdir(parents=True)
    (tmp_path / "task" / "repo" / "core.py").write_text("print('hi')\n")
    (tmp_path / "task" / "prompt.md").write_text("Implement it.\n")
    (tmp_path / "task" / "rubric.yaml").write_text(RUBRIC)
    return tmp_path


def experiment(**changes: Any) -> dict[str, Any]:
    exp: dict[str, Any] = {
        "name": "mini",
        "task": "task",
        "tiers": {"T0": {"subtests": {"00": {}}}},
        "judges": [{"adapter": "claude-code", "model": "opus"}],
    }
    exp.update(changes)
    return exp


def load(workdir: Path, *experiments: dict[str, Any], **top: Any) -> list[config.Experiment]:
    return config.load_config({"experiments": list(experiments), **top}, workdir)[1]


def error_of(workdir: Path, *experiments: dict[str, Any], **top: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load(workdir, *experiments, **top)
    return str(info.value)


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ([1], "the config is not a mapping of keys (results_dir, experiments, ...)"),
        ({"experiments": []}, "invalid config at 'experiments': [] is empty: give at least one"),
        (
            {"experiments": [experiment(name="mini\n")]},
            "invalid config at 'experiments/0/name': 'mini\\n' is not a valid name",
        ),
        (
            {"experiments": [experiment(runs=0)]},
            "invalid config at 'experiments/0/runs': 0 is less than the minimum of 1",
        ),
        (
            {"experiments": [experiment(bogus=1)]},
            "invalid config at 'experiments/0': Additional properties are not allowed "
            "('bogus' was unexpected)",
        ),
        (
            {"experiments": [{k: v for k, v in experiment().items() if k != "task"}]},
            "invalid config at 'experiments/0': 'task' is a required property",
        ),
    ],
    ids=[
        "not-a-mapping",
        "no-experiments",
        "newline-in-name",
        "zero-runs",
        "unknown-key",
        "no-task",
    ],
)
def test_validate_names_the_key_and_the_reason(cfg, message):
    with pytest.raises(ConfigError) as info:
        config.validate(cfg)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "tiers", [{"T9": {"subtests": {"00": {}}}}, {"T0": {"subtests": {"1": {}}}}]
)
def test_tier_and_subtest_ids_are_checked(tiers):
    with pytest.raises(ConfigError, match=r"^invalid config at 'experiments/0/tiers'"):
        config.validate({"experiments": [experiment(tiers=tiers)]})


def test_a_valid_config_passes():
    config.validate({"experiments": [experiment()]})  # no exception


# ------------------------------------------------------------------------------ resolution


def test_resolution_inlines_the_task(workdir):
    (exp,) = load(workdir, experiment())
    task = exp.task
    assert task["prompt"] == "Implement it.\n"
    assert task["rubric"] == RUBRIC
    assert task["repo"] == str((workdir / "task" / "repo").resolve())
    assert task["commit"] == "HEAD" and task["resolved"] is True
    assert task["source_digest"]  # a plain directory: its content stands for a commit


def test_defaults_of_agent_and_judges(workdir):
    (exp,) = load(
        workdir,
        experiment(
            judges=[
                {"adapter": "claude-code", "model": "opus"},
                {"adapter": "claude-code", "model": "haiku", "slot": 5},
            ]
        ),
    )
    assert exp.runs == 1
    assert exp.agent == config.AGENT_DEFAULTS
    assert [j["slot"] for j in exp.judges] == [1, 5]  # numbered in order unless given
    assert exp.slots == ["01", "05"]
    assert exp.judge(5)["model"] == "haiku"
    assert exp.judges[0] == {**config.JUDGE_DEFAULTS, "model": "opus", "slot": 1}


def test_top_level_defaults_apply_unless_the_experiment_sets_its_own(workdir):
    a, b = load(workdir, experiment(), experiment(name="b", runs=1), runs=3)
    assert (a.runs, b.runs) == (3, 1)


def test_subtest_resources_become_workspace_files(workdir):
    sub = {"claude_md": "# be careful\n", "allowed_tools": ["Read", "Edit"]}
    (exp,) = load(workdir, experiment(tiers={"T0": {"subtests": {"00": {}, "01": sub}}}))
    files = exp.subtest("T0", "01")["files"]
    assert files["CLAUDE.md"] == "# be careful\n"
    assert '"allow": [\n      "Read",\n      "Edit"\n    ]' in files[".claude/settings.json"]
    assert exp.subtest("T0", "00")["files"] == {}


def test_max_subtests_keeps_the_first_ones_in_order(workdir):
    tiers = {"T1": {"subtests": {"02": {}, "00": {}, "01": {}}}, "T0": {"subtests": {"00": {}}}}
    (exp,) = load(workdir, experiment(tiers=tiers, max_subtests=2, runs=2))
    assert list(exp.subtests()) == [("T0", "00"), ("T1", "00"), ("T1", "01")]
    assert [(k.tier, k.subtest, k.run) for k in exp.run_keys()][:3] == [
        ("T0", "00", 1),
        ("T0", "00", 2),
        ("T1", "00", 1),
    ]


def test_resolving_a_resolved_experiment_changes_nothing(workdir):
    (exp,) = load(workdir, experiment())
    again = config.resolve_experiment(exp.data, {}, config.Locator(workdir))
    assert again == exp.data


def test_the_task_meaning_does_not_depend_on_where_the_task_lies(workdir, tmp_path_factory):
    other = tmp_path_factory.mktemp("moved")
    shutil.copytree(workdir / "task", other / "task")
    (here,) = load(workdir, experiment())
    (there,) = load(other, experiment())
    assert here.task["repo"] != there.task["repo"]
    assert here.task_meaning() == there.task_meaning()
    (other / "task" / "repo" / "core.py").write_text("print('changed')\n")
    (changed,) = load(other, experiment())
    assert changed.task_meaning() != here.task_meaning()


def test_saved_form_redacts_every_env_value(workdir):
    (exp,) = load(workdir, experiment(agent={"env": {"TOKEN": "s3cret", "PLAIN": "x"}}))
    assert exp.saved_form()["agent"]["env"] == {"TOKEN": "<redacted>", "PLAIN": "<redacted>"}
    assert exp.agent["env"] == {"TOKEN": "s3cret", "PLAIN": "x"}  # the run still gets them


def test_results_root_has_one_spelling(workdir):
    root, _ = config.load_config(
        {"results_dir": "./out/../res", "experiments": [experiment()]}, workdir
    )
    assert root == Path("res")


# ---------------------------------------------------------------------- resolution errors


def test_duplicate_experiment_names(workdir):
    assert error_of(workdir, experiment(), experiment()) == "experiments: duplicate names ['mini']"


def test_duplicate_judge_slots(workdir):
    judges = [{"adapter": "claude-code", "model": m, "slot": 1} for m in ("a", "b")]
    assert error_of(workdir, experiment(judges=judges)) == (
        "experiments[mini].judges: duplicate slot numbers [1, 1]"
    )


def test_missing_task_directory(workdir):
    message = error_of(workdir, experiment(task="nope"))
    assert message == f"experiments[mini].task: {workdir / 'nope'} is not a task directory"


def test_empty_prompt(workdir):
    (workdir / "task" / "prompt.md").write_text("  \n")
    assert error_of(workdir, experiment()).endswith("prompt.md is empty")


@pytest.mark.parametrize(
    ("rubric", "reason"),
    [
        ("categories: {}\n", "has no categories with items"),
        ("categories:\n  f:\n    items:\n      - check: x\n", "every rubric item needs an id"),
    ],
    ids=["no-items", "item-without-id"],
)
def test_unusable_rubric(workdir, rubric, reason):
    (workdir / "task" / "rubric.yaml").write_text(rubric)
    message = error_of(workdir, experiment())
    assert message.startswith("experiments[mini].task.rubric: ") and reason in message
