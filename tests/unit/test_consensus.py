"""Consensus of the judges of one run (scylla.judging.consensus) and the grade scale
(scylla.judging.grading): judgments as their files hold them in, what judge/result.json then
holds out."""

from __future__ import annotations

import json

import pytest

from scylla.judging import consensus
from scylla.judging.grading import GRADE_ORDER, grade_for
from scylla.records import Judgment


def judgment(score: float, passed: bool, valid: bool = True, **fields) -> Judgment:
    """A slot's judgment.json as it is read (records.Judgment)."""
    return Judgment.from_dict(
        {
            "score": score,
            "passed": passed,
            "is_valid": valid,
            "grade": grade_for(score),
            "status": "complete" if valid else "invalid",
            **fields,
        }
    )


def build(judgments: dict[str, Judgment | None]) -> dict:
    """The consensus as judge/result.json holds it."""
    return consensus.build(judgments).to_dict()


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (1.0, "S"),
        (0.99, "A"),
        (0.8, "A"),
        (0.79, "B"),
        (0.6, "B"),
        (0.4, "C"),
        (0.2, "D"),
        (0.19, "F"),
        (0.0, "F"),
    ],
)
def test_grade_scale_floors(score, grade):
    assert grade_for(score) == grade


def test_grade_floor_tolerates_float_error():
    # 0.1 + 0.7 is 0.7999999999999999: still an A, not a B
    assert grade_for(0.1 + 0.7) == "A"
    assert GRADE_ORDER == ["S", "A", "B", "C", "D", "F"]


def test_score_is_the_mean_and_pass_is_the_majority():
    c = build(
        {
            "01": judgment(0.9, True, reasoning="high"),
            "02": judgment(0.5, False, reasoning="low"),
            "03": judgment(0.7, True, reasoning="middle"),
        }
    )
    assert c["score"] == pytest.approx(0.7)
    assert c["passed"] is True  # 2 of 3
    assert c["grade"] == "B"
    assert c["is_valid"] is True
    assert c["reasoning"] == "middle"  # the judge closest to the mean speaks for all


def test_a_tie_does_not_pass():
    c = build({"01": judgment(0.9, True), "02": judgment(0.3, False)})
    assert c["passed"] is False  # a strict majority is needed
    assert c["agreement"]["pass_agreement"] == 0.5


def test_invalid_and_missing_judges_do_not_count_as_fails():
    c = build(
        {
            "01": judgment(0.9, True),
            "02": judgment(0.0, False, valid=False, error="garbage"),
            "03": None,
        }
    )
    assert c["score"] == 0.9 and c["passed"] is True
    assert c["is_valid"] is False  # not every judge is valid
    assert c["agreement"] == {
        "n_judges": 3,
        "n_valid": 1,
        "score_stdev": 0.0,
        "score_range": 0.0,
        "pass_agreement": 1.0,
        "grade_agreement": True,
    }
    assert [j["slot"] for j in c["judges"]] == ["01", "02"]  # the missing one is not listed


def test_agreement_figures():
    c = build({"01": judgment(0.9, True), "02": judgment(0.5, False)})
    agreement = c["agreement"]
    assert agreement["score_range"] == pytest.approx(0.4)
    assert agreement["score_stdev"] == pytest.approx(0.2)  # population stdev
    assert agreement["grade_agreement"] is False  # A and C


def test_no_valid_judgment_is_an_invalid_fail():
    c = build({"01": judgment(0.8, True, valid=False)})
    assert (c["score"], c["passed"], c["grade"]) == (0.0, False, "F")
    assert c["reasoning"] == "no valid judgment"
    assert c["agreement"] == {"n_judges": 1, "n_valid": 0}
    assert c["agent_failed"] is False


def test_agent_failed_only_when_every_present_judge_says_so():
    failed = judgment(0.0, False, valid=False, status="agent_failed")
    assert build({"01": failed, "02": failed})["agent_failed"] is True
    assert build({"01": failed, "02": judgment(0.5, False)})["agent_failed"] is False


def test_costs_and_durations_are_summed_over_present_judges():
    c = build(
        {
            "01": judgment(0.5, False, cost_usd=0.25, judge_duration_seconds=3.0),
            "02": judgment(0.6, True, cost_usd=None, judge_duration_seconds=None),
            "03": judgment(0.7, True, cost_usd=0.5),
        }
    )
    assert c["cost_usd"] == 0.75
    assert c["judge_duration_seconds"] == 3.0
    assert [j["judge_number"] for j in c["judges"]] == [1, 2, 3]


def test_a_judgment_file_that_is_not_a_valid_record_counts_as_invalid(tmp_path):
    good = tmp_path / "judge_01" / "judgment.json"
    bad = tmp_path / "judge_02" / "judgment.json"
    for path, data in ((good, judgment(0.8, True, model="opus").to_dict()), (bad, {})):
        path.parent.mkdir()
        path.write_text(json.dumps(data))
    c = consensus.build_from({"01": good, "02": bad}).to_dict()
    assert c["is_valid"] is False
    assert c["agreement"]["n_judges"] == 2 and c["agreement"]["n_valid"] == 1
    assert [j["model"] for j in c["judges"]] == ["opus"]
