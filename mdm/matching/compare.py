"""Comparators: for each pair of records and each comparison, a discrete agreement level.

Level 0 always means "missing on one side" (weight 0). Levels 1.. run from the strongest agreement to the strongest
disagreement, so their Fellegi-Sunter weights must not increase with the level (enforced in the model).

A field can give more than one comparison: a ``text`` field compares its wording (``description``), its sizes and
counts (``description.numbers``: ``3.5X14`` vs ``3.5X16`` disagree) and its model/catalog numbers
(``description.codes``). Everything is computed on arrays of pairs; string similarity runs in rapidfuzz's C code on
distinct value pairs only (``process.cpdist`` with ``processor=None`` on pre-standardized strings).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler

from .arrays import unique_inverse
from .prepared import Prepared
from .spec import MatchSpec

TOKEN_SLOTS = 12  # the rarest tokens of a value that token similarity looks at
CHUNK = 100_000
PARALLEL_MIN_PAIRS = 5_000


@dataclass(frozen=True)
class Comparison:
    name: str
    field: str
    kind: str
    labels: tuple[str, ...]
    default_m: tuple[float, ...]
    default_u: tuple[float, ...]
    weight: float = 1.0
    tf: bool = False  # exact agreement weighted by how rare the value is
    agree_levels: int = 0  # levels above this one are disagreement: their weight is never positive
    fixed_m: bool = False  # m is domain knowledge, not estimated (check-digit identifiers)

    @property
    def n_levels(self) -> int:
        return len(self.labels)


_LEVELS = {
    "person_name": (
        ("missing", "exact", "Jaro-Winkler >= 0.92", "Jaro-Winkler >= 0.85", "Jaro-Winkler >= 0.70", "different"),
        (0, 0.80, 0.10, 0.04, 0.03, 0.03),
        (0, 0.005, 0.01, 0.02, 0.10, 0.865),
    ),
    "org_name": (
        (
            "missing",
            "exact (after legal form and site folding)",
            "same words, small typo",
            "one name contains the other / rare words agree",
            "similar",
            "somewhat similar",
            "different",
        ),
        (0, 0.70, 0.12, 0.08, 0.05, 0.03, 0.02),
        (0, 0.002, 0.003, 0.01, 0.03, 0.15, 0.805),
    ),
    "text": (
        (
            "missing",
            "exact",
            "very close (weighted tokens >= 0.9)",
            "close (>= 0.75 or token set >= 92)",
            "similar (>= 0.55 or token set >= 80)",
            "somewhat similar (>= 0.35 or token set >= 65)",
            "different",
        ),
        (0, 0.45, 0.25, 0.15, 0.08, 0.04, 0.03),
        (0, 0.0005, 0.001, 0.005, 0.02, 0.08, 0.8935),
    ),
    "address": (
        ("missing", "exact", "very close", "close", "similar", "different"),
        (0, 0.70, 0.15, 0.08, 0.04, 0.03),
        (0, 0.001, 0.005, 0.02, 0.08, 0.894),
    ),
    "numbers": (
        ("missing", "same numbers", "one side's numbers are a subset", "some numbers differ", "all numbers differ"),
        (0, 0.85, 0.10, 0.03, 0.02),
        (0, 0.05, 0.10, 0.15, 0.70),
    ),
    "codes": (
        ("missing", "a code agrees", "one code contains the other", "codes differ"),
        (0, 0.85, 0.08, 0.07),
        (0, 0.001, 0.01, 0.989),
    ),
    "identifier": (
        ("missing", "agree", "near (same product / one typo)", "differ (a value fails its check)", "conflict"),
        (0, 0.92, 0.04, 0.02, 0.02),
        (0, 0.0001, 0.002, 0.0479, 0.95),
    ),
    "code": (
        ("missing", "exact", "one edit apart", "different"),
        (0, 0.88, 0.07, 0.05),
        (0, 0.01, 0.05, 0.94),
    ),
    "numeric": (
        ("missing", "equal", "within 1%", "within 10%", "within 25%", "different"),
        (0, 0.60, 0.20, 0.10, 0.05, 0.05),
        (0, 0.01, 0.02, 0.10, 0.15, 0.72),
    ),
    "date": (
        ("missing", "exact", "one digit off or day/month swapped", "same year", "different"),
        (0, 0.85, 0.08, 0.05, 0.02),
        (0, 0.0005, 0.005, 0.02, 0.9745),
    ),
}


# The last level that may count for a match; later levels say "different" and never weigh for one.
_AGREE_LEVELS = {
    "person_name": 4,
    "org_name": 5,
    "text": 5,
    "address": 4,
    "numbers": 2,
    "codes": 2,
    "identifier": 2,
    "code": 2,
    "numeric": 4,
    "date": 3,
}


# Identifiers issued once per trade item or legal entity. Two different valid values (and, for GTINs, different
# item references, so not just another packaging level) almost never belong to the same thing: one record in a
# thousand, a keying error that happens to pass the check digit. EM cannot learn this from candidates dominated
# by siblings, so m is fixed.
UNIQUE_IDENTIFIERS = ("gtin", "ndc", "duns", "ein")
UNIQUE_ID_M = (0, 0.95, 0.04, 0.009, 0.001)


def _make(name: str, field: str, kind: str, weight: float, tf: bool = False) -> Comparison:
    labels, m, u = _LEVELS[kind]
    return Comparison(name, field, kind, labels, m, u, weight, tf, _AGREE_LEVELS[kind])


def comparisons_for(spec: MatchSpec) -> list[Comparison]:
    """The comparisons a spec's fields make, in spec order."""
    out: list[Comparison] = []
    for fs in spec.fields:
        if fs.kind == "text":
            out.append(_make(fs.name, fs.name, "text", fs.weight))
            out.append(_make(f"{fs.name}.numbers", fs.name, "numbers", fs.weight))
            out.append(_make(f"{fs.name}.codes", fs.name, "codes", fs.weight))
        elif fs.kind == "address":
            out.append(_make(fs.name, fs.name, "address", fs.weight))
            out.append(_make(f"{fs.name}.numbers", fs.name, "numbers", fs.weight))
        elif fs.kind == "identifier" and fs.identifier in UNIQUE_IDENTIFIERS:
            labels, _, u = _LEVELS["identifier"]
            out.append(
                Comparison(fs.name, fs.name, "identifier", labels, UNIQUE_ID_M, u, fs.weight, False, 2, fixed_m=True)
            )
        elif fs.kind in ("person_name", "org_name", "code"):
            out.append(_make(fs.name, fs.name, fs.kind, fs.weight, tf=True))
        else:
            out.append(_make(fs.name, fs.name, fs.kind, fs.weight))
    return out


# ------------------------------------------------------------------------------------------------
# Statistics the comparators need: token document frequencies (IDF) and value frequencies (TF)


class TokenWeights:
    """IDF weights per token id, from document frequencies (of the data, or stored in a model)."""

    def __init__(self, n_docs: int, df: np.ndarray):
        self.n_docs = max(1, int(n_docs))
        self.df = df

    def idf(self, vocab_size: int) -> np.ndarray:
        df = np.ones(vocab_size, dtype=np.float64)
        k = min(vocab_size, len(self.df))
        df[:k] = np.maximum(self.df[:k], 1)
        return (np.log((1.0 + self.n_docs) / (1.0 + df)) + 1.0).astype(np.float32)


def token_df(preps: list[Prepared], field: str, vocab_size: int) -> tuple[int, np.ndarray]:
    """Document frequency of each token id in ``field`` over the distinct rows of ``preps``."""
    df = np.zeros(vocab_size, dtype=np.int64)
    n = 0
    for p in preps:
        col = p.columns[field]
        if col.tok is not None and len(col.tok):
            df += np.bincount(col.tok, minlength=vocab_size)[:vocab_size]
        n += len(p)
    return n, df


class Context:
    """Per-scoring-call caches: token matrices per (prepared, field), IDF per field, value frequencies."""

    def __init__(self, left: Prepared, right: Prepared, idf: dict[str, np.ndarray], tf: dict[str, np.ndarray]):
        self.left = left
        self.right = right
        self.idf = idf
        self.tf = tf  # per field: frequency (probability) of each value id; used for exact-level adjustments
        self._tokmats: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}

    def tokmat(self, prep: Prepared, field: str) -> tuple[np.ndarray, np.ndarray]:
        key = (id(prep), field)
        hit = self._tokmats.get(key)
        if hit is None:
            hit = self._tokmats[key] = _token_matrix(prep.columns[field], self.idf[field])
        return hit


def _token_matrix(col, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, TOKEN_SLOTS) token ids (-1 pad) and L2-normalized IDF weights, keeping each row's rarest tokens."""
    n = len(col.tok_ptr) - 1
    ids = np.full((n, TOKEN_SLOTS), -1, dtype=np.int32)
    weights = np.zeros((n, TOKEN_SLOTS), dtype=np.float32)
    if len(col.tok) == 0:
        return ids, weights
    lengths = np.diff(col.tok_ptr)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    w = idf[col.tok]
    norm = np.sqrt(np.bincount(rows, weights=w.astype(np.float64) ** 2, minlength=n)).astype(np.float32)
    order = np.lexsort((-w, rows))
    rows_o = rows[order]
    rank = np.arange(len(order), dtype=np.int64) - col.tok_ptr[rows_o]
    keep = rank < TOKEN_SLOTS
    r, k = rows_o[keep], rank[keep]
    ids[r, k] = col.tok[order][keep]
    weights[r, k] = w[order][keep] / norm[r]
    return ids, weights


# ------------------------------------------------------------------------------------------------
# Level computation


def _pairwise_unique(ua: np.ndarray, ub: np.ndarray, strings_a, strings_b, scorer, workers: int, **kwargs):
    """Score each distinct (ua, ub) id pair once with rapidfuzz; returns scores aligned with the input."""
    if len(ua) == 0:
        return np.zeros(0, dtype=np.float32)
    key = ua.astype(np.int64) * (1 << 31) + ub.astype(np.int64)
    uniq, inverse = unique_inverse(key)
    qa = (uniq >> 31).astype(np.int64)
    qb = (uniq & ((1 << 31) - 1)).astype(np.int64)
    left = [strings_a[i] for i in qa]
    right = [strings_b[i] for i in qb]
    # Threads cost more to start than a few thousand comparisons take (online calls score tens of pairs).
    workers = workers if len(left) >= PARALLEL_MIN_PAIRS else 1
    scores = process.cpdist(left, right, scorer=scorer, processor=None, workers=workers, **kwargs)
    return np.asarray(scores)[inverse]


def _trim(m: np.ndarray) -> np.ndarray:
    """A left-aligned padded id matrix without its all-padding right columns (fewer slots to cross-compare)."""
    if m.shape[1] <= 1 or len(m) == 0:
        return m
    used = np.flatnonzero((m >= 0).any(0))
    return m[:, : (int(used[-1]) + 1 if len(used) else 1)]


def _set_overlap(ma: np.ndarray, mb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For padded id sets per pair: (count a, count b, a's items found in b, b's items found in a)."""
    na = (ma >= 0).sum(1)
    nb = (mb >= 0).sum(1)
    fa = np.zeros(len(ma), dtype=np.int64)
    fb = np.zeros(len(mb), dtype=np.int64)
    # Only rows with items on both sides can overlap; sets of one item each (the usual case) compare directly.
    both = (na > 0) & (nb > 0)
    single = np.flatnonzero(both & (na == 1) & (nb == 1))
    if len(single):
        same = ma[single, 0] == mb[single, 0]
        fa[single] = same
        fb[single] = same
    rows = np.flatnonzero(both & ((na > 1) | (nb > 1)))
    if len(rows):
        sa, sb = _trim(ma[rows]), _trim(mb[rows])
        eq = (sa[:, :, None] == sb[:, None, :]) & (sa[:, :, None] >= 0)
        fa[rows] = eq.any(2).sum(1)
        fb[rows] = eq.any(1).sum(1)
    return na, nb, fa, fb


def levels_for(comp: Comparison, ctx: Context, a: np.ndarray, b: np.ndarray, workers: int = 1) -> np.ndarray:
    """Agreement levels (uint8) of comparison ``comp`` for pairs (left row ``a[k]``, right row ``b[k]``)."""
    out = np.zeros(len(a), dtype=np.uint8)
    for start in range(0, len(a), CHUNK):
        sl = slice(start, start + CHUNK)
        out[sl] = _levels_chunk(comp, ctx, a[sl], b[sl], workers)
    return out


def _levels_chunk(comp: Comparison, ctx: Context, a: np.ndarray, b: np.ndarray, workers: int) -> np.ndarray:
    left, right = ctx.left, ctx.right
    cl, cr = left.columns[comp.field], right.columns[comp.field]
    kind = comp.kind
    lv = np.zeros(len(a), dtype=np.uint8)
    strings = left.vocab.field(comp.field).items

    if kind in ("person_name", "code", "date"):
        ua, ub = cl.uid[a], cr.uid[b]
        present = (ua >= 0) & (ub >= 0)
        exact = present & (ua == ub)
        rest = present & ~exact
        lv[exact] = 1
        if kind == "person_name":
            jw = _pairwise_unique(ua[rest], ub[rest], strings, strings, JaroWinkler.normalized_similarity, workers)
            lv[rest] = np.select([jw >= 0.92, jw >= 0.85, jw >= 0.70], [2, 3, 4], 5)
        elif kind == "code":
            dist = _pairwise_unique(ua[rest], ub[rest], strings, strings, OSA.distance, workers)
            lv[rest] = np.where(dist <= 1, 2, 3)
        else:
            dist = _pairwise_unique(ua[rest], ub[rest], strings, strings, OSA.distance, workers)
            ra, rb = ua[rest], ub[rest]
            swapped = np.fromiter(
                (_swapped(strings[x], strings[y]) for x, y in zip(ra.tolist(), rb.tolist(), strict=True)),
                dtype=bool,
                count=len(ra),
            )
            year = np.fromiter(
                (strings[x][:4] == strings[y][:4] for x, y in zip(ra.tolist(), rb.tolist(), strict=True)),
                dtype=bool,
                count=len(ra),
            )
            lv[rest] = np.select([(dist <= 1) | swapped, year], [2, 3], 4)
        return lv

    if kind in ("text", "org_name", "address"):
        ua, ub = cl.uid[a], cr.uid[b]
        present = (ua >= 0) & (ub >= 0)
        exact = present & (ua == ub)
        rest = present & ~exact
        lv[exact] = 1
        if not rest.any():
            return lv
        ra, rb = a[rest], b[rest]
        ia, wa = ctx.tokmat(left, comp.field)
        ib, wb = ctx.tokmat(right, comp.field)
        ta, tb = _trim(ia[ra]), _trim(ib[rb])
        eq = (ta[:, :, None] == tb[:, None, :]) & (ta[:, :, None] >= 0)
        cos = np.einsum("pij,pi,pj->p", eq.astype(np.float32), wa[ra, : ta.shape[1]], wb[rb, : tb.shape[1]])
        words = left.vocab.field(comp.field + "#words").items
        wa_id, wb_id = cl.words[ra], cr.words[rb]
        both = (wa_id >= 0) & (wb_id >= 0)
        tset = np.zeros(len(ra), dtype=np.float32)
        tset[both] = _pairwise_unique(wa_id[both], wb_id[both], words, words, fuzz.token_set_ratio, workers)
        if kind == "text":
            lv[rest] = np.select(
                [cos >= 0.9, (cos >= 0.75) | (tset >= 92), (cos >= 0.55) | (tset >= 80), (cos >= 0.35) | (tset >= 65)],
                [2, 3, 4, 5],
                6,
            )
        elif kind == "org_name":
            tsort = np.zeros(len(ra), dtype=np.float32)
            tsort[both] = _pairwise_unique(wa_id[both], wb_id[both], words, words, fuzz.token_sort_ratio, workers)
            lv[rest] = np.select(
                [tsort >= 92, (cos >= 0.8) | (tset >= 95), (cos >= 0.5) | (tset >= 85), (cos >= 0.3) | (tset >= 65)],
                [2, 3, 4, 5],
                6,
            )
        else:
            lv[rest] = np.select(
                [(cos >= 0.85) | (tset >= 95), (cos >= 0.6) | (tset >= 85), (cos >= 0.3) | (tset >= 70)],
                [2, 3, 4],
                5,
            )
        return lv

    if kind in ("numbers", "codes"):
        ma = (cl.num if kind == "numbers" else cl.code)[a]
        mb = (cr.num if kind == "numbers" else cr.code)[b]
        na, nb, fa, fb = _set_overlap(ma, mb)
        present = (na > 0) & (nb > 0)
        if kind == "numbers":
            lv[:] = np.select(
                [~present, (fa == na) & (fb == nb), (fa == na) | (fb == nb), fa > 0], [0, 1, 2, 3], 4
            ).astype(np.uint8)
            return lv
        lv[present & (fa > 0)] = 1
        rest = np.flatnonzero(present & (fa == 0))
        if len(rest):
            lv[rest] = np.where(_contains_any(_trim(ma[rest]), _trim(mb[rest]), left.vocab.codes.items), 2, 3)
        return lv

    if kind == "identifier":
        ma, mb = cl.ident[a], cr.ident[b]
        na, nb, fa, _ = _set_overlap(ma, mb)
        present = (na > 0) & (nb > 0)
        agree = present & (fa > 0)
        lv[agree] = 1
        rest = present & ~agree
        if not rest.any():
            return lv
        id_type = cl.spec.identifier
        idx = np.flatnonzero(rest)
        if id_type == "gtin":
            _, _, fr, _ = _set_overlap(cl.ident_ref[a[idx]], cr.ident_ref[b[idx]])
            near = fr > 0
        elif id_type in ("generic", "duns", "ein", "ndc"):
            first_a, first_b = ma[idx, 0], mb[idx, 0]
            near = _pairwise_unique(first_a, first_b, strings, strings, OSA.distance, workers) <= 1
        else:
            near = np.zeros(len(idx), dtype=bool)
        valid_a = (cl.valid[a[idx]] | (ma[idx] < 0)).all(1)
        valid_b = (cr.valid[b[idx]] | (mb[idx] < 0)).all(1)
        lv[idx] = np.where(near, 2, np.where(valid_a & valid_b, 4, 3))
        return lv

    if kind == "numeric":
        va, vb = cl.value[a], cr.value[b]
        present = ~np.isnan(va) & ~np.isnan(vb)
        scale = np.maximum(np.abs(va), np.abs(vb))
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(scale > 0, np.abs(va - vb) / scale, 0.0)
        lv[:] = np.select([~present, va == vb, rel <= 0.01, rel <= 0.10, rel <= 0.25], [0, 1, 2, 3, 4], 5).astype(
            np.uint8
        )
        return lv

    raise ValueError(f"unknown comparison kind {kind!r}")


def _swapped(x: str, y: str) -> bool:
    return len(x) == 8 and len(y) == 8 and x[:4] == y[:4] and x[4:6] == y[6:8] and x[6:8] == y[4:6]


def _contains_any(ma: np.ndarray, mb: np.ndarray, codes: list[str]) -> np.ndarray:
    """Per row: does a code of ``ma`` contain one of ``mb`` or the reverse (the shorter at least 4 characters)?

    Each distinct (code, code) pair is tested once.
    """
    out = np.zeros(len(ma), dtype=bool)
    if len(ma) == 0:
        return out
    both = (ma[:, :, None] >= 0) & (mb[:, None, :] >= 0)
    row, i, j = np.nonzero(both)
    if len(row) == 0:
        return out
    x = ma[row, i].astype(np.int64)
    y = mb[row, j].astype(np.int64)
    uniq, inverse = unique_inverse(x * (1 << 31) + y)
    hit = np.fromiter(
        (_contains_pair(codes[k >> 31], codes[k & ((1 << 31) - 1)]) for k in uniq.tolist()),
        dtype=bool,
        count=len(uniq),
    )
    out[row[hit[inverse]]] = True
    return out


def _contains_pair(x: str, y: str) -> bool:
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    return len(short) >= 4 and short in long_


def all_levels(comps: list[Comparison], ctx: Context, a: np.ndarray, b: np.ndarray, workers: int = 1) -> np.ndarray:
    """(n_pairs, n_comparisons) uint8 levels."""
    out = np.zeros((len(a), len(comps)), dtype=np.uint8)
    if workers <= 1 or len(a) <= CHUNK:
        for c, comp in enumerate(comps):
            out[:, c] = levels_for(comp, ctx, a, b, workers)
        return out
    # Chunks of pairs in threads: the work is numpy and rapidfuzz, which release the GIL. Token matrices are
    # made first, once, so the threads only read shared state.
    for comp in comps:
        if comp.kind in ("text", "org_name", "address"):
            ctx.tokmat(ctx.left, comp.field)
            ctx.tokmat(ctx.right, comp.field)

    def run(task):
        c, start = task
        sl = slice(start, start + CHUNK)
        out[sl, c] = _levels_chunk(comps[c], ctx, a[sl], b[sl], 1)

    tasks = [(c, start) for c in range(len(comps)) for start in range(0, len(a), CHUNK)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(run, tasks):
            pass
    return out


def value_frequencies(preps: list[Prepared], field: str, size: int) -> np.ndarray:
    """Frequency (share of records with a value) of each value id of ``field`` over ``preps``."""
    counts = np.zeros(size, dtype=np.float64)
    total = 0
    for p in preps:
        uid = p.columns[field].uid
        present = uid[uid >= 0]
        counts += np.bincount(present, minlength=size)[:size]
        total += len(present)
    return counts / max(total, 1)
