"""Blocking keys and candidates; the online match of one record."""

import numpy as np
import pytest

from mdm.matching import Matcher
from mdm.matching.blocking import key_entries, keyspace_of

from .conftest import ITEM_SPEC, true_pairs


def test_record_keys_are_the_keys_candidates_use(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    prep = matcher.prepare(items)
    rows, kids, _ = key_entries(prep)
    names = keyspace_of(prep).keys.items
    for i, record in enumerate(items):
        assert matcher.record_keys(record) == sorted({names[k] for k in kids[rows == i].tolist()})


def test_record_keys_examples(items):
    keys = Matcher(ITEM_SPEC, workers=1).record_keys(items[0])
    assert "gtin:10080196722631" in keys
    assert "gtinref:008019672263" in keys
    assert "part_number:mds195086" in keys
    assert "mpn:medline:mds195086" in keys
    assert "manufacturer:medline ind" in keys
    assert {"tok:nitrile", "tok:glove", "tok:powder"} <= set(keys)


def test_candidates_are_sorted_distinct_and_find_the_duplicates(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    prep = matcher.prepare(items)
    pairs = matcher.candidates(prep)
    assert pairs.ndim == 2 and pairs.shape[1] == 2
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert len({tuple(p) for p in pairs.tolist()}) == len(pairs)
    assert pairs.tolist() == sorted(pairs.tolist())
    found = {tuple(sorted((prep.ids[a], prep.ids[b]))) for a, b in pairs.tolist()}
    assert true_pairs(items) <= found
    assert np.array_equal(pairs, matcher.candidates(prep))


def test_link_candidates_index_each_side(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    left = matcher.prepare(items[:8])
    right = matcher.prepare(items[8:])
    pairs = matcher.candidates_link(left, right)
    assert np.all(pairs[:, 0] < len(left)) and np.all(pairs[:, 1] < len(right))
    found = {(left.ids[a], right.ids[b]) for a, b in pairs.tolist()}
    assert ("8", "9") in found  # screw 3.5X14 written twice, one on each side


def test_sides_from_different_matchers_are_refused(items):
    a, b = Matcher(ITEM_SPEC, workers=1), Matcher(ITEM_SPEC, workers=1)
    with pytest.raises(ValueError, match="same matcher"):
        a.candidates_link(a.prepare(items), b.prepare(items))


def test_match_one_ranks_candidates_with_explanations(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    model = matcher.fit(matcher.prepare(items))
    query = {
        "description": "nitrile exam glove lg powder free",
        "manufacturer": "Medline Industries LP",
        "part_number": "MDS 195086",
        "gtin": None,
    }
    results = matcher.match_one(query, items, model=model, top_k=3)
    assert len(results) == 3
    assert results[0][0] in {"1", "2", "3"}
    probabilities = [p for _, p, _ in results]
    assert probabilities == sorted(probabilities, reverse=True)
    for _rid, probability, explanation in results:
        data = explanation.to_dict()
        assert data["probability"] == pytest.approx(probability)
        assert data["prior_weight"] + sum(f["weight"] for f in data["fields"]) == pytest.approx(data["match_weight"])


def test_match_one_applies_decisions(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    query = {
        "id": "new-1",
        "description": "nitrile exam glove large",
        "manufacturer": "Medline",
        "part_number": "MDS195086",
        "gtin": None,
    }
    plain = matcher.match_one(query, items, top_k=16)
    top = plain[0][0]
    decided = matcher.match_one(query, items, top_k=16, decisions={(top, "new-1"): False, ("new-1", "14"): True})
    ids = [rid for rid, _, _ in decided]
    assert top not in ids
    assert ids[0] == "14" and decided[0][1] == 1.0 and decided[0][2].decision == "match"


def test_match_one_accepts_a_prepared_candidate_set_and_no_candidates(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    prepared = matcher.prepare(items)
    query = {"description": "Zimmon pancreatic stent 7 Fr", "manufacturer": "Cook", "part_number": None, "gtin": None}
    assert matcher.match_one(query, prepared, top_k=1)[0][0] in {"15", "16"}
    assert matcher.match_one(query, []) == []
