"""Finding and checking the verdict in a judge's answer (scylla.judging.parse)."""

from __future__ import annotations

import pytest

from scylla.judging import parse


def test_bare_json_answer():
    assert parse.extract_json('{"score": 0.7, "passed": true}') == {"score": 0.7, "passed": True}


def test_fenced_block_wins_over_json_in_the_prose():
    text = 'I first thought {"score": 0.1}.\n```json\n{"score": 0.8, "passed": true}\n```\n'
    assert parse.extract_json(text) == {"score": 0.8, "passed": True}


def test_unlabelled_fence_is_read_too():
    assert parse.extract_json('```\n{"score": 0.4}\n```') == {"score": 0.4}


def test_objects_without_a_score_are_skipped():
    text = 'Context {"files": 3} and later the verdict {"score": 0.5, "reasoning": "ok"} end'
    assert parse.extract_json(text) == {"score": 0.5, "reasoning": "ok"}


def test_nested_braces_and_a_broken_object_before_the_verdict():
    text = '{not json} then {"score": 0.9, "categories": {"functional": {"score": 1.0}}}'
    found = parse.extract_json(text)
    assert found is not None and found["categories"] == {"functional": {"score": 1.0}}


@pytest.mark.parametrize("text", ["", "no json here", '{"passed": true}', "[0.5]", "{broken"])
def test_no_verdict(text):
    assert parse.extract_json(text) is None


def test_validate_normalises_the_verdict():
    got, why = parse.validate(
        {"score": 1, "reasoning": 42, "criteria_scores": {"functional": {"score": 1}}}, 0.6
    )
    assert why == ""
    assert got == {
        "score": 1.0,
        "passed": True,  # no `passed`: from the threshold
        "reasoning": "42",
        "criteria_scores": {"functional": {"score": 1}},
    }


def test_validate_keeps_an_explicit_passed_and_prefers_categories():
    got, _ = parse.validate(
        {"score": 0.9, "passed": False, "categories": {"a": {}}, "criteria_scores": {"b": {}}},
        0.6,
    )
    assert got is not None and got["passed"] is False and got["criteria_scores"] == {"a": {}}


@pytest.mark.parametrize(("score", "passed"), [(0.6, True), (0.59, False)])
def test_pass_threshold_is_inclusive(score, passed):
    got, _ = parse.validate({"score": score}, 0.6)
    assert got is not None and got["passed"] is passed


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (None, "no JSON object with a score in the answer"),
        ({"score": True}, "score is not a number: True"),
        ({"score": "0.5"}, "score is not a number: '0.5'"),
        ({"score": 1.5}, "score out of range 0..1: 1.5"),
        ({"score": -0.1}, "score out of range 0..1: -0.1"),
    ],
)
def test_unusable_verdicts_say_why(obj, reason):
    assert parse.validate(obj, 0.6) == (None, reason)


def test_categories_that_are_not_a_mapping_are_dropped():
    got, _ = parse.validate({"score": 0.5, "categories": ["functional"]}, 0.6)
    assert got is not None and got["criteria_scores"] == {}
