"""Clustering without chaining.

Edges in the match band (and steward-forced matches) are taken strongest first. Two clusters merge only if *every*
pair across them is at least in the review band (pairs that blocking never proposed are scored on the spot) and
none is a steward's "not a match"; a cluster never grows past ``max_size`` records. So A~B and B~C strong with A~C
distinct leave C out of A's cluster: weak links do not chain.

Only groups of three or more records that match edges connect need that care: connected components are found with
numpy, a component of two records is one edge (a pair in the match band, so the merge needs no check), and the greedy
merge runs on the larger components alone, over the pairs inside them.

Cluster ids are the smallest record id in the cluster (numbers compared as numbers), so they are stable as long
as that record stays in the cluster, and independent of input order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .arrays import unique


def id_sort_key(record_id: str) -> tuple:
    """Order ids numerically when they are numbers, else as strings; numbers first."""
    return (0, int(record_id), record_id) if record_id.isdigit() else (1, 0, record_id)


MAX_PASSES = 3


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the graph with edges (a[k], b[k]) over n nodes: each node's smallest node."""
    label = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return label
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while True:
        la, lb = label[a], label[b]
        differ = la != lb
        if not differ.any():
            return label
        la, lb = la[differ], lb[differ]
        low = np.minimum(la, lb)
        # Hook each root onto the smallest label it touches, then jump pointers until every chain is flat.
        np.minimum.at(label, np.maximum(la, lb), low)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        a, b = a[differ], b[differ]


def cluster(
    n: int,
    pairs: np.ndarray,
    probability: np.ndarray,
    forced: np.ndarray,
    match_threshold: float,
    review_threshold: float,
    score_pairs: Callable[[np.ndarray, np.ndarray], np.ndarray],
    max_size: int = 50,
    prescore_limit: int = 200,
) -> np.ndarray:
    """Cluster label per row: the smallest row of the row's cluster (callers map rows to ids).

    ``forced``: +1 steward match, -1 steward distinct, 0 none, aligned with ``pairs``.
    ``score_pairs(a, b)``: probabilities for rows pairs not in ``pairs``.
    """
    if len(pairs) == 0:
        return np.arange(n, dtype=np.int64)
    pairs = np.asarray(pairs)
    a, b = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    del a, b
    probability = np.asarray(probability, dtype=np.float64)
    forced = np.asarray(forced)

    edge_mask = (forced > 0) | ((probability >= match_threshold) & (forced == 0))
    edges = np.flatnonzero(edge_mask)
    if len(edges) == 0:
        return np.arange(n, dtype=np.int64)
    comp = components(n, lo[edges], hi[edges])
    size = np.bincount(comp, minlength=n)
    big_node = size[comp] >= 3
    # Components of two rows: one edge, in the match band or forced.
    labels = _pairs_only(comp.copy(), size, lo, hi, edges, probability, forced, review_threshold, max_size)
    if not big_node.any():
        return labels

    # The larger components: their edges strongest first (steward matches before everything; ties by pair), and
    # every known pair inside them.
    big_edges = edges[big_node[lo[edges]]]
    codes_e = lo[big_edges] * n + hi[big_edges]
    big_edges = big_edges[np.lexsort((codes_e, -probability[big_edges], -(forced[big_edges] > 0).astype(np.int8)))]
    inside = np.flatnonzero(big_node[lo] & (comp[lo] == comp[hi]))
    known_codes = lo[inside] * n + hi[inside]
    order = np.argsort(known_codes)
    known_codes = known_codes[order]
    known_prob = probability[inside][order]
    known_forced = forced[inside][order]
    cannot = set(known_codes[known_forced < 0].tolist())

    # Score, in one batch, the unproposed pairs inside each component (bounded by component size).
    extra_codes, extra_prob = _prescore(n, comp, size, big_node, known_codes, score_pairs, prescore_limit)
    if len(extra_codes):
        all_codes = np.concatenate([known_codes, extra_codes])
        all_prob = np.concatenate([known_prob, extra_prob])
        all_forced = np.concatenate([known_forced, np.zeros(len(extra_codes), dtype=known_forced.dtype)])
        o = np.argsort(all_codes)
        known_codes, known_prob, known_forced = all_codes[o], all_prob[o], all_forced[o]

    # Pairs at least in the review band, and all pairs ever scored (the rest are unknown until scored).
    keep = (known_prob >= review_threshold) | (known_forced > 0)
    good = set(known_codes[keep].tolist())
    scored = set(known_codes.tolist())
    nodes = np.flatnonzero(big_node)
    for attempt in range(MAX_PASSES):
        strict = attempt == MAX_PASSES - 1
        roots, missing = _merge(n, nodes, lo, hi, big_edges, forced, cannot, good, scored, max_size, strict)
        labels[nodes] = roots
        if not missing:
            break
        # Score every cross pair this pass wanted, in one batch, and run again with them known -- only the
        # components that wanted pairs: the others' merges depend on nothing new.
        miss = np.fromiter(sorted(missing), dtype=np.int64, count=len(missing))
        prob = np.asarray(score_pairs(miss // n, miss % n), dtype=np.float64)
        scored.update(missing)
        good.update(miss[prob >= review_threshold].tolist())
        again = np.zeros(n, dtype=bool)
        again[comp[miss // n]] = True
        nodes = nodes[again[comp[nodes]]]
        big_edges = big_edges[again[comp[lo[big_edges]]]]
    return labels


def _pairs_only(labels, size, lo, hi, edges, probability, forced, review_threshold, max_size):
    """Settle the components of exactly two rows: their one edge merges them when it is at least in the review band
    (always, for a match-band edge) or forced, and clusters may hold two records."""
    e_lo, e_hi = lo[edges], hi[edges]
    size2 = size[labels[e_lo]] == 2
    ok = (forced[edges] > 0) | (probability[edges] >= review_threshold)
    if max_size < 2:
        ok &= forced[edges] > 0
    split = size2 & ~ok
    labels[e_hi[split]] = e_hi[split]
    return labels


def _merge(n, nodes, lo, hi, edges, forced, cannot, good, scored, max_size, strict):
    """One greedy pass over ``edges`` (rows in ``nodes``). Unscored cross pairs are collected; they block a merge
    only in the strict (last) pass. Returns each of ``nodes``' root (its cluster's smallest row) and the pairs
    wanted."""
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    missing: set[int] = set()

    def find(x: int) -> int:
        root = x
        while (up := parent.get(root, root)) != root:
            root = up
        while (up := parent.get(x, x)) != root:
            parent[x], x = root, up
        return root

    lo_l, hi_l, forced_l = lo[edges].tolist(), hi[edges].tolist(), forced[edges].tolist()
    for x, y, f in zip(lo_l, hi_l, forced_l, strict=True):
        rx, ry = find(x), find(y)
        if rx == ry:
            continue
        mx = members.get(rx) or [rx]
        my = members.get(ry) or [ry]
        is_forced = f > 0
        if len(mx) + len(my) > max_size and not is_forced:
            continue
        ok = True
        wanted = []
        for p in mx:
            for q in my:
                c = p * n + q if p < q else q * n + p
                if c in cannot:
                    ok = False
                    break
                if is_forced or c in good:
                    continue
                if c in scored:
                    ok = False
                    break
                wanted.append(c)
            if not ok:
                break
        if not ok:
            continue
        if wanted:
            if strict:
                continue
            missing.update(wanted)
        root, other = (rx, ry) if rx < ry else (ry, rx)
        parent[other] = root
        members[root] = mx + my if root == rx else my + mx
        members.pop(other, None)
    roots = np.fromiter((find(i) for i in nodes.tolist()), dtype=np.int64, count=len(nodes))
    return roots, missing


def _prescore(n, comp, size, big_node, known_codes, score_pairs, limit):
    """Probabilities of the unscored pairs inside each component of 3 to ``limit`` rows."""
    nodes = np.flatnonzero(big_node & (size[comp] <= limit))
    if len(nodes) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    nodes = nodes[np.argsort(comp[nodes], kind="stable")]
    sizes = size[comp[nodes]]
    starts = np.flatnonzero(np.r_[True, comp[nodes][1:] != comp[nodes][:-1]])
    cand = []
    # Components of one size form a matrix of rows (one component a row): their pairs come from one triu index.
    group_sizes = sizes[starts]
    for s in np.unique(group_sizes).tolist():
        first = starts[group_sizes == s]
        mat = nodes[first[:, None] + np.arange(s)]
        ga, gb = np.triu_indices(s, 1)
        cand.append((mat[:, ga] * n + mat[:, gb]).ravel())
    codes = unique(np.concatenate(cand))
    if len(known_codes):
        pos = np.minimum(np.searchsorted(known_codes, codes), len(known_codes) - 1)
        new = codes[known_codes[pos] != codes]
    else:
        new = codes
    if len(new) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return new, np.asarray(score_pairs(new // n, new % n), dtype=np.float64)
