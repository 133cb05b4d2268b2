"""Scoring: explanations add up, identifier conflicts and sibling sizes lower the score, models round-trip."""

import json
import math

import numpy as np
import pytest

from mdm.matching import Matcher, Model

from .conftest import ITEM_SPEC


def _pair(matcher, a: dict, b: dict, model=None):
    left = matcher.prepare([{"id": "a", **a}])
    right = matcher.prepare([{"id": "b", **b}])
    scores = matcher.score(left, right, np.array([[0, 0]]), model)
    return scores, matcher.explain(left, 0, right, 0, model)


BASE = {"description": "Cortical Screw 3.5X14 Self-Tapping", "manufacturer": "Synthes USA", "part_number": None}


@pytest.fixture(scope="module")
def fitted():
    from .conftest import item_records

    matcher = Matcher(ITEM_SPEC, workers=1)
    prep = matcher.prepare(item_records())
    return matcher, matcher.fit(prep)


def test_explanation_weights_add_up(fitted, items):
    matcher, model = fitted
    prep = matcher.prepare(items)
    pairs = matcher.candidates(prep)
    scores = matcher.score(prep, None, pairs, model)
    for k, (i, j) in enumerate(pairs.tolist()):
        exp = matcher.explain(prep, i, None, j, model).to_dict()
        total = exp["prior_weight"] + sum(f["weight"] for f in exp["fields"])
        assert total == pytest.approx(exp["match_weight"], abs=1e-9)
        assert exp["match_weight"] == pytest.approx(scores.match_weight[k], abs=1e-9)
        assert exp["probability"] == pytest.approx(2 ** exp["match_weight"] / (1 + 2 ** exp["match_weight"]))
        assert exp["band"] == matcher.band(exp["probability"])
        assert exp["decision"] is None
        assert [f["field"] for f in exp["fields"]] == scores.comparisons
        assert list(scores.levels[k]) == [f["level"] for f in exp["fields"]]


def test_explanation_shows_standardized_and_raw_values(fitted):
    matcher, model = fitted
    _, exp = _pair(
        matcher,
        {**BASE, "gtin": "07611819021341"},
        {**BASE, "description": "SCR CORTICAL 3.5X14 SELF TAPPING", "gtin": None},
        model,
    )
    desc = exp.to_dict()["fields"][0]
    assert desc["left_raw"] == "Cortical Screw 3.5X14 Self-Tapping"
    assert desc["right_raw"] == "SCR CORTICAL 3.5X14 SELF TAPPING"
    assert "screw" in desc["right"]  # SCR expanded
    numbers = exp.to_dict()["fields"][1]
    assert numbers["field"] == "description.numbers" and numbers["left"] == numbers["right"] == "3.5 14"
    gtin = exp.to_dict()["fields"][-1]
    assert gtin["level"] == 0 and gtin["label"] == "missing" and gtin["weight"] == 0.0


@pytest.mark.parametrize("trained", [False, True])
def test_identifier_conflict_lowers_the_score(fitted, trained):
    matcher, model = fitted
    model = model if trained else None
    same, _ = _pair(matcher, {**BASE, "gtin": "07611819021341"}, {**BASE, "gtin": "07611819021341"}, model)
    absent, _ = _pair(matcher, {**BASE, "gtin": "07611819021341"}, {**BASE, "gtin": None}, model)
    conflict, exp = _pair(matcher, {**BASE, "gtin": "07611819021341"}, {**BASE, "gtin": "07611819021358"}, model)
    assert same.match_weight[0] > absent.match_weight[0] > conflict.match_weight[0]
    assert exp.fields[-1]["label"] == "conflict" and exp.fields[-1]["weight"] < -5


def test_another_packaging_level_of_the_same_gtin_is_not_a_conflict(fitted):
    matcher, model = fitted
    pack, exp = _pair(matcher, {**BASE, "gtin": "00080196722634"}, {**BASE, "gtin": "10080196722631"}, model)
    conflict, _ = _pair(matcher, {**BASE, "gtin": "00080196722634"}, {**BASE, "gtin": "07611819021358"}, model)
    assert exp.fields[-1]["level"] == 2
    assert pack.match_weight[0] > conflict.match_weight[0]


@pytest.mark.parametrize("trained", [False, True])
def test_sibling_sizes_score_lower_than_the_same_size(fitted, trained):
    matcher, model = fitted
    model = model if trained else None
    same, _ = _pair(matcher, BASE, {**BASE, "description": "SCREW CORTICAL 3.5 X 14 SELF TAPPING"}, model)
    sibling, exp = _pair(matcher, BASE, {**BASE, "description": "SCREW CORTICAL 3.5 X 16 SELF TAPPING"}, model)
    assert same.probability[0] > sibling.probability[0]
    numbers = exp.fields[1]
    assert numbers["label"] == "some numbers differ" and numbers["weight"] < 0


def test_model_round_trips_through_json(fitted, items):
    matcher, model = fitted
    restored = Model.from_dict(json.loads(json.dumps(model.to_dict())))
    prep = matcher.prepare(items)
    pairs = matcher.candidates(prep)
    a = matcher.score(prep, None, pairs, model)
    b = Matcher(ITEM_SPEC, restored, workers=1).score(prep, None, pairs)
    np.testing.assert_allclose(a.match_weight, b.match_weight)
    with pytest.raises(ValueError, match="not a match model"):
        Model.from_dict({"m": {}})


def test_default_model_scores_without_training(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    prep = matcher.prepare(items)
    pairs = matcher.candidates(prep)
    scores = matcher.score(prep, None, pairs, Model.default(ITEM_SPEC))
    assert scores.levels.dtype == np.uint8 and scores.levels.shape == (len(pairs), len(scores.comparisons))
    assert np.all((scores.probability >= 0) & (scores.probability <= 1))
    assert not np.any(np.isnan(scores.match_weight))


def test_fit_learns_from_labels(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    prep = matcher.prepare(items)
    plain = matcher.fit(prep)
    labelled = matcher.fit(prep, labels=[("1", "2", True), ("1", "4", False), ("7", "8", False)])
    assert labelled.info["labels"] == 3
    assert labelled.m != plain.m or labelled.u != plain.u
    for model in (plain, labelled):
        for comp in matcher.comparisons:
            assert all(0 <= x <= 1 for x in model.m[comp.name])
            assert math.isclose(sum(model.m[comp.name]), 1.0, rel_tol=1e-6)
