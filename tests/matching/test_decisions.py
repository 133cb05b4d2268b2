"""Decisions, clustering without chaining, stable cluster ids and determinism."""

import random

import numpy as np

from mdm.matching import Matcher
from mdm.matching.cluster import cluster

from .conftest import ITEM_SPEC, true_pairs


def _pairs(result):
    return {(p.left_id, p.right_id, p.band) for p in result.pairs}


def test_dedupe_finds_the_duplicates(items):
    result = Matcher(ITEM_SPEC, workers=1).dedupe(items)
    found = {tuple(sorted((p.left_id, p.right_id))) for p in result.pairs if p.band == "match"}
    truth = true_pairs(items)
    assert len(found & truth) >= len(truth) - 1
    assert not found - truth
    entity = {r["id"]: r["entity"] for r in items}
    for rid, cid in result.clusters.items():
        assert entity[rid] == entity[cid]
    assert set(result.clusters) == {r["id"] for r in items}


def test_cluster_id_is_the_smallest_record_id_numerically(items):
    result = Matcher(ITEM_SPEC, workers=1).dedupe(items)
    for cid in set(result.clusters.values()):
        members = [r for r, c in result.clusters.items() if c == cid]
        assert cid == min(members, key=int)
    assert result.clusters["16"] == "15"  # "15" < "16" as numbers and as strings; "9" would win as a string only


def test_weak_links_do_not_chain():
    # A~B and B~C strong, A~C distinct: A and C must not end in one cluster.
    pairs = np.array([[0, 1], [1, 2]])
    probability = np.array([0.99, 0.98])
    scored = []

    def score_pairs(a, b):
        scored.append((a.tolist(), b.tolist()))
        return np.where((a == 0) & (b == 2), 0.01, 0.99)

    roots = cluster(3, pairs, probability, np.zeros(2, dtype=np.int8), 0.9, 0.5, score_pairs)
    assert roots[0] == roots[1] != roots[2]
    assert scored == [([0], [2])]  # the unproposed cross pair was scored once, on the spot


def test_all_strong_links_make_one_cluster():
    pairs = np.array([[0, 1], [1, 2], [0, 2]])
    roots = cluster(3, pairs, np.array([0.99, 0.98, 0.97]), np.zeros(3, dtype=np.int8), 0.9, 0.5, None)
    assert len(set(roots.tolist())) == 1


def test_no_chaining_end_to_end(items):
    # B has no GTIN and matches both; A and C carry different valid GTINs: a conflict.
    same = {"description": "Nitrile exam glove large powder free", "manufacturer": "Medline", "part_number": "N881"}
    records = items + [
        {"id": "101", **same, "gtin": "10080196722631"},
        {"id": "102", **same, "gtin": None},
        {"id": "103", **same, "gtin": "00844588018923"},
    ]
    result = Matcher(ITEM_SPEC, workers=1).dedupe(records)
    bands = {(p.left_id, p.right_id): p.band for p in result.pairs}
    assert bands[("101", "102")] == "match" or bands[("102", "103")] == "match"
    assert ("101", "103") not in bands  # below review: conflicting GTINs
    assert result.clusters["101"] != result.clusters["103"]
    # The strong edge that lost is not auto-linked either: it goes to review.
    assert sorted([bands[("101", "102")], bands[("102", "103")]]) == ["match", "review"]


def test_steward_decisions_override_and_are_not_proposed_again(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    before = matcher.dedupe(items)
    strong = next(p for p in before.pairs if p.band == "match")
    # "6" and "8" are two different screws: force them together; and reject a strong pair, in reversed order.
    decisions = {("6", "8"): True, (strong.right_id, strong.left_id): False}
    after = Matcher(ITEM_SPEC, workers=1).dedupe(items, decisions=decisions)
    by_pair = {(p.left_id, p.right_id): p for p in after.pairs}
    assert (strong.left_id, strong.right_id) not in by_pair  # "not a match" is never proposed again
    assert after.clusters[strong.left_id] != after.clusters[strong.right_id]  # and is a cannot-link
    forced = by_pair[("6", "8")]
    assert forced.probability == 1.0 and forced.band == "match"
    assert after.clusters["6"] == after.clusters["8"]


def test_same_input_twice_gives_identical_output(items):
    a = Matcher(ITEM_SPEC, workers=1).dedupe(items)
    b = Matcher(ITEM_SPEC, workers=1).dedupe(items)
    assert a.pairs == b.pairs
    assert a.clusters == b.clusters


def test_shuffled_input_gives_the_same_pairs_and_clusters(items):
    a = Matcher(ITEM_SPEC, workers=1).dedupe(items)
    shuffled = list(items)
    random.Random(3).shuffle(shuffled)
    b = Matcher(ITEM_SPEC, workers=1).dedupe(shuffled)
    assert _pairs(a) == _pairs(b)
    assert a.clusters == b.clusters


def test_cluster_ids_are_stable_when_records_are_added(items):
    a = Matcher(ITEM_SPEC, workers=1).dedupe(items)
    more = items + [
        {
            "id": "99",
            "entity": "new",
            "description": "Surgical gown, XL, sterile",
            "manufacturer": "Cardinal Health",
            "part_number": "9515",
            "gtin": None,
        }
    ]
    b = Matcher(ITEM_SPEC, workers=1).dedupe(more)
    assert {k: v for k, v in b.clusters.items() if k != "99"} == a.clusters
    assert b.clusters["99"] == "99"


def test_link_between_two_sources(items):
    left = [r for r in items if int(r["id"]) % 2 == 1]
    right = [r for r in items if int(r["id"]) % 2 == 0]
    result = Matcher(ITEM_SPEC, workers=1).link(left, right)
    left_ids, right_ids = {r["id"] for r in left}, {r["id"] for r in right}
    entity = {r["id"]: r["entity"] for r in items}
    matches = [p for p in result.pairs if p.band == "match"]
    assert matches
    for p in matches:
        assert p.left_id in left_ids and p.right_id in right_ids
        assert entity[p.left_id] == entity[p.right_id]
