"""Clustering without chaining.

Edges in the match band (and steward-forced matches) are taken strongest first. Two clusters merge only if *every*
pair across them is at least in the review band (pairs that blocking never proposed are scored on the spot) and
none is a steward's "not a match"; a cluster never grows past ``max_size`` records. So A~B and B~C strong with A~C
distinct leave C out of A's cluster: weak links do not chain.

Cluster ids are the smallest record id in the cluster (numbers compared as numbers), so they are stable as long
as that record stays in the cluster, and independent of input order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def id_sort_key(record_id: str) -> tuple:
    """Order ids numerically when they are numbers, else as strings; numbers first."""
    return (0, int(record_id), record_id) if record_id.isdigit() else (1, 0, record_id)


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
    """Cluster label per row (the row index of the cluster's root; callers map to ids).

    ``forced``: +1 steward match, -1 steward distinct, 0 none, aligned with ``pairs``.
    ``score_pairs(a, b)``: probabilities for rows pairs not in ``pairs``.
    """
    if len(pairs) == 0:
        return np.arange(n, dtype=np.int64)
    a, b = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    codes = lo * n + hi
    order = np.argsort(codes)
    known_codes = codes[order]
    known_prob = probability[order].astype(np.float64)
    known_forced = forced[order]
    cannot = set(codes[forced < 0].tolist())

    edge_mask = (forced > 0) | ((probability >= match_threshold) & (forced == 0))
    edges = np.flatnonzero(edge_mask)
    # Strongest first; steward matches before everything; ties by pair for determinism.
    edges = edges[np.lexsort((codes[edges], -probability[edges], -(forced[edges] > 0).astype(np.int8)))]

    # Score, in one batch, the unproposed pairs inside each group that match edges connect (bounded by group size).
    extra_codes, extra_prob = _prescore(n, lo[edges], hi[edges], known_codes, score_pairs, prescore_limit)
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
    for attempt in range(MAX_PASSES):
        strict = attempt == MAX_PASSES - 1
        roots, missing = _merge(n, lo, hi, edges, forced, cannot, good, scored, max_size, strict)
        if not missing:
            return roots
        # Score every cross pair this pass wanted, in one batch, and run again with them known.
        miss = np.fromiter(sorted(missing), dtype=np.int64, count=len(missing))
        prob = np.asarray(score_pairs(miss // n, miss % n), dtype=np.float64)
        scored.update(missing)
        good.update(miss[prob >= review_threshold].tolist())
    return roots


MAX_PASSES = 3


def _merge(n, lo, hi, edges, forced, cannot, good, scored, max_size, strict):
    """One greedy pass. Unscored cross pairs are collected; they block a merge only in the strict (last) pass."""
    parent = list(range(n))
    members: dict[int, list[int]] = {}
    missing: set[int] = set()

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    lo_l, hi_l, forced_l = lo.tolist(), hi.tolist(), forced.tolist()
    for e in edges.tolist():
        x, y = lo_l[e], hi_l[e]
        rx, ry = find(x), find(y)
        if rx == ry:
            continue
        mx = members.get(rx) or [rx]
        my = members.get(ry) or [ry]
        is_forced = forced_l[e] > 0
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
    roots = np.fromiter((find(i) for i in range(n)), dtype=np.int64, count=n)
    return roots, missing


def _prescore(n, lo, hi, known_codes, score_pairs, limit):
    """Probabilities of the unscored pairs inside each connected group of the edges (groups up to ``limit``)."""
    if len(lo) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    nodes, inv = np.unique(np.concatenate([lo, hi]), return_inverse=True)
    parent = np.arange(len(nodes))

    def find(x):
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    half = len(lo)
    for k in range(half):
        ra, rb = find(inv[k]), find(inv[half + k])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.fromiter((find(i) for i in range(len(nodes))), dtype=np.int64, count=len(nodes))
    order = np.argsort(roots, kind="stable")
    groups = np.split(nodes[order], np.flatnonzero(np.diff(roots[order])) + 1)
    cand = []
    for g in groups:
        if 3 <= len(g) <= limit:
            ga, gb = np.triu_indices(len(g), 1)
            cand.append(g[ga] * n + g[gb])
    if not cand:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    codes = np.unique(np.concatenate(cand))
    pos = np.minimum(np.searchsorted(known_codes, codes), max(len(known_codes) - 1, 0))
    new = codes[known_codes[pos] != codes] if len(known_codes) else codes
    if len(new) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return new, np.asarray(score_pairs(new // n, new % n), dtype=np.float64)
