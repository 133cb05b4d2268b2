"""The vectorized paths of the engine give what the plain definitions give (each checked against a slow reference)."""

import random

import numpy as np
from stdnum import ean

from mdm.matching import Matcher, Model
from mdm.matching.arrays import unique, unique_inverse
from mdm.matching.blocking import _global_rank
from mdm.matching.cluster import cluster, components
from mdm.matching.compare import _contains_any, _set_overlap, all_levels
from mdm.matching.identifiers import gtin
from mdm.matching.prepared import Interner
from mdm.matching.text import split_description

from .conftest import ITEM_SPEC


def _left_aligned(rng, rows, width, values):
    out = np.full((rows, width), -1, dtype=np.int32)
    for r in range(rows):
        items = list(dict.fromkeys(rng.integers(0, values, rng.integers(0, width + 1)).tolist()))
        out[r, : len(items)] = items
    return out


def test_sort_based_unique_equals_numpy():
    rng = np.random.default_rng(1)
    for values in (np.zeros(0, dtype=np.int64), np.array([7]), rng.integers(0, 40, 2_000), rng.integers(-5, 5, 9)):
        assert unique(values).tolist() == np.unique(values).tolist()
        uniq, inverse = unique_inverse(values)
        expected_uniq, expected_inverse = np.unique(values, return_inverse=True)
        assert uniq.tolist() == expected_uniq.tolist()
        assert inverse.tolist() == expected_inverse.tolist()


def test_interner_get_many_numbers_new_values_in_order():
    interner = Interner()
    interner.get("b")
    assert interner.get_many(["a", "b", "a", "c", "c"]) == [1, 0, 1, 2, 2]
    assert interner.items == ["b", "a", "c"]
    assert interner.get_many([]) == []
    assert interner.get("c") == 2


def test_components_label_each_node_with_its_smallest_node():
    rng = random.Random(3)
    n = 300
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(250)]
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for x, y in edges:
        rx, ry = find(x), find(y)
        parent[max(rx, ry)] = min(rx, ry)
    expected = [min(k for k in range(n) if find(k) == find(i)) for i in range(n)]
    a = np.array([e[0] for e in edges])
    b = np.array([e[1] for e in edges])
    assert components(n, a, b).tolist() == expected
    assert components(4, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)).tolist() == [0, 1, 2, 3]


def test_cluster_settles_pairs_and_groups_apart():
    # 0-1 a lone match pair; 2-3-4 a group where 2~4 is distinct (no chaining); 5-6 a forced match below threshold;
    # 7-8 a steward's "not a match" (never an edge); 9 alone.
    pairs = np.array([[0, 1], [2, 3], [3, 4], [2, 4], [5, 6], [7, 8]])
    probability = np.array([0.99, 0.98, 0.97, 0.01, 0.2, 0.99])
    forced = np.array([0, 0, 0, 0, 1, -1], dtype=np.int8)
    roots = cluster(10, pairs, probability, forced, 0.9, 0.5, lambda a, b: np.zeros(len(a)))
    assert roots.tolist() == [0, 0, 2, 2, 4, 5, 5, 7, 8, 9]


def test_set_overlap_and_containment_equal_plain_loops():
    rng = np.random.default_rng(5)
    ma, mb = _left_aligned(rng, 400, 5, 8), _left_aligned(rng, 400, 3, 8)
    na, nb, fa, fb = _set_overlap(ma, mb)
    for r in range(len(ma)):
        sa, sb = {x for x in ma[r] if x >= 0}, {x for x in mb[r] if x >= 0}
        assert (na[r], nb[r], fa[r], fb[r]) == (len(sa), len(sb), len(sa & sb), len(sb & sa))
    codes = ["abcd", "xabcdy", "abc", "zzzz", "zzzzz", "q1", "abcde", "bcde"]

    def contains(x, y):
        short, long_ = (x, y) if len(x) <= len(y) else (y, x)
        return len(short) >= 4 and short in long_

    got = _contains_any(ma, mb, codes)
    for r in range(len(ma)):
        want = any(contains(codes[x], codes[y]) for x in ma[r] if x >= 0 for y in mb[r] if y >= 0)
        assert got[r] == want
    assert got.any() and not got.all()


def test_gtin_check_digit_equals_stdnum():
    rng = random.Random(11)
    for _ in range(3_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice((8, 12, 13, 14))))
        assert gtin(digits)[1] == ean.is_valid(digits)
    assert gtin("00844588003950") == ("00844588003950", True)
    assert gtin("٣٣٣٣٣٣٣٣")[1] is False  # digits of another script make no GTIN


def test_numbers_glued_to_words_are_not_sizes():
    assert split_description("cortical screw 3.5x14") == (["cortical", "screw", "#"], ["3.5", "14"], [])
    assert split_description("plate 2.0 x 10 x 3mm") == (["plate", "#"], ["2", "10", "3"], [])
    assert split_description("kit 5ml") == (["kit", "#"], ["5"], [])
    # A number right after a letter, a digit or a dot is part of a code, not a size.
    assert split_description("a3.5x14") == ([], [], ["a35x14"])
    assert split_description("syringe 10 ml .5x4") == (["syringe", "#"], ["10"], ["5x4"])
    assert split_description("x5ml") == ([], [], ["x5ml"])


def test_name_rank_orders_by_name_then_id(items):
    matcher = Matcher(ITEM_SPEC, workers=1)
    shuffled = list(items)
    random.Random(2).shuffle(shuffled)
    prep = matcher.prepare(shuffled)
    rank = _global_rank([prep])
    names = []
    for i in range(len(prep)):
        desc = prep.std("description", i)
        maker = prep.std("manufacturer", i)
        names.append((desc, maker, prep.ids[i]))
    expected = sorted(range(len(prep)), key=lambda i: names[i])
    assert np.argsort(rank).tolist() == expected


def test_threaded_levels_equal_sequential(items, monkeypatch):
    import mdm.matching.compare as compare

    matcher = Matcher(ITEM_SPEC, workers=2)
    prep = matcher.prepare(items)
    pairs = np.array([(i, j) for i in range(len(prep)) for j in range(i + 1, len(prep))], dtype=np.int64)
    ctx = matcher._context(prep, prep, matcher.default_model())
    sequential = all_levels(matcher.comparisons, ctx, pairs[:, 0], pairs[:, 1], 1)
    monkeypatch.setattr(compare, "CHUNK", 7)  # many chunks, run in threads
    threaded = all_levels(
        matcher.comparisons, matcher._context(prep, prep, matcher.default_model()), pairs[:, 0], pairs[:, 1], 2
    )
    assert threaded.tolist() == sequential.tolist()


def test_match_one_scores_alike_before_and_after_the_vocabulary_grows(items):
    model = Matcher(ITEM_SPEC, workers=1).dedupe(items).model
    assert model.token_df  # stored statistics: the cached arrays are the ones extended
    query = dict(items[0], id="q")
    fresh = Matcher(ITEM_SPEC, model=model, workers=1).match_one(query, items[1:])
    grown = Matcher(ITEM_SPEC, model=model, workers=1)
    grown.match_one(query, items[1:4])  # caches made over a small vocabulary
    grown.prepare([dict(r, id=f"x{k}", description=f"{r['description']} extra{k}") for k, r in enumerate(items)])
    again = grown.match_one(query, items[1:])
    assert [(rid, round(p, 12)) for rid, p, _ in again] == [(rid, round(p, 12)) for rid, p, _ in fresh]


def test_model_untouched_by_cached_arrays(items):
    model = Model.default(Matcher(ITEM_SPEC).comparisons)
    before = model.to_dict()
    Matcher(ITEM_SPEC, model=model, workers=1).match_one(dict(items[0], id="q"), items[1:])
    assert model.to_dict() == before
