"""The task rubric (scylla.judging.rubric) and the deterministic score of its check commands
(scylla.judging.checks.score)."""

from __future__ import annotations

import pytest

from scylla.judging import checks, rubric

RUBRIC = """\
categories:
  functional:
    weight: 0.6
    items:
      - id: F1
        check: "the stubs are gone"
        points: 2
        command: "! grep -q NotImplementedError core.py"
      - id: F2
        check: "the tests pass"
        command: "pytest -q"
      - id: F3
        check: "reads well"
  proportionality:
    weight: 0.2
    scoring_type: checklist
    items:
      - id: P1
        check: "tests untouched"
        points: 1.0
        command: "git diff --quiet HEAD -- tests"
        na_condition: "no tests in the repo"
  overall_quality:
    weight: 0.2
    scoring_type: subjective
    items:
      - id: OQ1
        check: "judgment"
grading:
  pass_threshold: 0.75
"""


@pytest.fixture(scope="module")
def parsed() -> rubric.Rubric:
    return rubric.parse(RUBRIC)


def test_categories_and_items_in_file_order(parsed):
    assert [c.name for c in parsed.categories] == [
        "functional",
        "proportionality",
        "overall_quality",
    ]
    functional = parsed.categories[0]
    assert functional.weight == 0.6
    assert functional.scoring_type == "checklist"  # the default
    assert [i.id for i in functional.items] == ["F1", "F2", "F3"]
    assert [i.points for i in functional.items] == [2.0, 1.0, 1.0]  # default 1 point
    assert parsed.categories[2].scoring_type == "subjective"
    assert parsed.categories[1].items[0].na_condition == "no tests in the repo"
    assert parsed.pass_threshold == 0.75
    assert parsed.text == RUBRIC


def test_command_items_are_the_items_with_a_command(parsed):
    assert [i.id for i in parsed.command_items] == ["F1", "F2", "P1"]


def test_defaults_of_a_minimal_rubric():
    r = rubric.parse("categories:\n  c:\n    items:\n      - id: 7\n")
    (cat,) = r.categories
    assert (cat.weight, cat.scoring_type) == (1.0, "checklist")
    assert cat.items == (rubric.Item(id="7", check="", points=1.0),)
    assert r.pass_threshold == rubric.DEFAULT_PASS_THRESHOLD
    assert rubric.parse("").categories == ()


def passed(*ids: str) -> dict:
    return {i: {"passed": True} for i in ids}


def test_every_check_passing_scores_one(parsed):
    s = checks.score(parsed, passed("F1", "F2", "P1"))
    assert s["score"] == pytest.approx(1.0)
    assert s["valid"] is True
    assert set(s["categories"]) == {"functional", "proportionality"}  # no commands: left out


def test_points_within_a_category_and_weights_across_categories(parsed):
    s = checks.score(parsed, {**passed("F1"), "F2": {"passed": False}, **passed("P1")})
    functional = s["categories"]["functional"]
    assert (functional["achieved"], functional["max"]) == (2.0, 3.0)
    assert functional["score"] == pytest.approx(2 / 3)
    assert functional["items"]["F2"] == {
        "achieved": 0.0,
        "max": 1.0,
        "reason": "`pytest -q` failed",
    }
    assert "F3" not in functional["items"]  # no command: the judges' business
    # weights renormalised over the categories that have commands: (0.6*2/3 + 0.2*1) / 0.8
    assert s["score"] == pytest.approx((0.6 * 2 / 3 + 0.2) / 0.8)


def test_a_check_that_did_not_run_counts_as_failed(parsed):
    s = checks.score(parsed, passed("P1"))
    assert s["categories"]["functional"]["achieved"] == 0.0
    assert s["score"] == pytest.approx(0.2 / 0.8)


def test_a_rubric_without_commands_gives_no_valid_score():
    r = rubric.parse("categories:\n  q:\n    items:\n      - id: Q1\n        check: taste\n")
    assert checks.score(r, {}) == {"score": 0.0, "categories": {}, "valid": False}


def test_checks_run_with_the_tools_of_a_given_environment_first_on_path(tmp_path):
    # what rule judge_prompt passes: the rule's conda env (`conda_env`), when one is deployed
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    tool = env / "bin" / "scylla-env-tool"
    tool.write_text("#!/bin/sh\necho from-the-env\n")
    tool.chmod(0o755)
    ws = tmp_path / "ws"
    ws.mkdir()
    rub = rubric.parse(
        "categories:\n  c:\n    items:\n      - id: T1\n        check: tool\n"
        "        command: scylla-env-tool\n"
    )
    without = checks.run_checks(rub, ws)["T1"]
    assert not without["passed"] and without["exit_code"] == 127, without
    with_env = checks.run_checks(rub, ws, tools=str(env))["T1"]
    assert with_env["passed"] and "from-the-env" in with_env["output"], with_env
