"""Columnar standardized records: what blocking and scoring run on.

Strings are interned to integer ids in a :class:`Vocabulary` owned by the matcher, so every :class:`Prepared` built
by one matcher shares id spaces: equal ids mean equal standardized values, also between a left and a right set.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .spec import FieldSpec, MatchSpec
from .standardize import MAX_CODES, MAX_NUMBERS, Standardizer

MAX_IDENTIFIERS = 8
PARALLEL_MIN_VALUES = 50_000  # below this many distinct values, worker start-up costs more than it saves
SMALL_BATCH = 1_000  # up to this many values (online look-ups) go through the standardizer's per-value caches


class Interner:
    """Strings to dense int ids (first seen, first numbered)."""

    __slots__ = ("ids", "items")

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.items: list[str] = []

    def get(self, value: str) -> int:
        ident = self.ids.get(value)
        if ident is None:
            ident = len(self.items)
            self.ids[value] = ident
            self.items.append(value)
        return ident

    def get_many(self, values: list[str]) -> list[int]:
        """Ids of ``values`` (new ones numbered in order), in one pass."""
        ids = self.ids
        before = len(ids)
        out = [ids.setdefault(v, len(ids)) for v in values]
        if len(ids) > before:
            # New ids were handed out in order of first occurrence: each is the next item's position.
            items = self.items
            for value, ident in zip(values, out, strict=True):
                if ident == len(items):
                    items.append(value)
        return out

    def __len__(self) -> int:
        return len(self.items)


class Vocabulary:
    """The interners of one matcher: standardized values per field, tokens, numbers, codes."""

    def __init__(self):
        self.values: dict[str, Interner] = {}
        self.tokens = Interner()
        self.numbers = Interner()
        self.codes = Interner()
        self.keyspace = None  # blocking keys over these ids (see blocking.KeySpace), made on first use

    def field(self, name: str) -> Interner:
        interner = self.values.get(name)
        if interner is None:
            interner = self.values[name] = Interner()
        return interner


@dataclass
class Column:
    """One field's standardized data for n records. Which arrays are set depends on the kind."""

    spec: FieldSpec
    uid: np.ndarray | None = None  # int32 (n,): standardized value id, -1 = missing
    tok_ptr: np.ndarray | None = None  # int64 (n+1,): CSR row pointers into tok
    tok: np.ndarray | None = None  # int32: token ids (unique per record)
    num: np.ndarray | None = None  # int32 (n, k): number ids, -1 padding
    code: np.ndarray | None = None  # int32 (n, k): code ids, -1 padding
    words: np.ndarray | None = None  # int32 (n,): id of the sorted word string (token-set comparisons), -1 = none
    ident: np.ndarray | None = None  # int32 (n, k): identifier value ids, -1 padding
    ident_ref: np.ndarray | None = None  # int32 (n, k): GTIN item-reference ids (else = ident)
    valid: np.ndarray | None = None  # bool (n, k): identifier passes its check
    value: np.ndarray | None = None  # float64 (n,): numeric value, NaN = missing


@dataclass
class Prepared:
    """Standardized records in columns. ``ids[i]`` is the record id of row ``i``; ``raw[field][i]`` its raw value."""

    spec: MatchSpec
    vocab: Vocabulary
    ids: list[str]
    raw: dict[str, list]
    columns: dict[str, Column]
    _index: dict[str, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, record_id: str) -> int:
        """The row of ``record_id`` (``KeyError`` if absent)."""
        if self._index is None:
            self._index = {rid: i for i, rid in enumerate(self.ids)}
        return self._index[str(record_id)]

    def std(self, name: str, i: int) -> str:
        """The standardized value of field ``name`` for row ``i`` as shown in explanations."""
        col = self.columns[name]
        kind = col.spec.kind
        if kind == "numeric":
            v = col.value[i]
            return "" if math.isnan(v) else format(v, "g")
        if kind == "identifier":
            items = self.vocab.field(name).items
            return " | ".join(items[v] for v in col.ident[i] if v >= 0)
        uid = col.uid[i]
        return self.vocab.field(name).items[uid] if uid >= 0 else ""


def _standardize_chunk(args):
    kind, values, id_type, multi = args
    return _WORKER_STANDARDIZER.many(kind, values, id_type, multi)


_WORKER_STANDARDIZER: Standardizer | None = None


def _hashable(value):
    if isinstance(value, list):
        return tuple(value)
    return value


def standardize_values(standardizer: Standardizer, fs: FieldSpec, values: list, workers: int) -> list:
    """Features for each of ``values`` (distinct raw values), in parallel when there are many."""
    if workers > 1 and len(values) >= PARALLEL_MIN_VALUES and "fork" in multiprocessing.get_all_start_methods():
        global _WORKER_STANDARDIZER
        _WORKER_STANDARDIZER = standardizer
        size = max(2_000, math.ceil(len(values) / (workers * 4)))
        chunks = [(fs.kind, values[i : i + size], fs.identifier, fs.multi) for i in range(0, len(values), size)]
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers) as pool:
            parts = pool.map(_standardize_chunk, chunks)
        _WORKER_STANDARDIZER = None
        return [item for part in parts for item in part]
    if len(values) > SMALL_BATCH:
        return standardizer.many(fs.kind, values, fs.identifier, fs.multi)
    return [standardizer.field(fs.kind, v, fs.identifier, fs.multi) for v in values]


def _pad(rows: list, width: int | None = None) -> np.ndarray:
    """Rows of ids (lists or tuples) as an int32 matrix padded with -1, as wide as the longest row (at least 1)."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    longest = int(lengths.max()) if len(rows) else 0
    width = max(1, min(longest, width) if width is not None else longest)
    out = np.full((len(rows), width), -1, dtype=np.int32)
    if longest == 0:
        return out
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=int(lengths.sum()))
    r = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    k = np.arange(len(flat), dtype=np.int64) - ptr[r]
    keep = k < width
    out[r[keep], k[keep]] = flat[keep]
    return out


def _gather_csr(dptr: np.ndarray, dtok: np.ndarray, didx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-record CSR from per-distinct-value CSR and each record's distinct-value index."""
    dlen = np.diff(dptr)
    rec_len = dlen[didx]
    rec_ptr = np.zeros(len(didx) + 1, dtype=np.int64)
    np.cumsum(rec_len, out=rec_ptr[1:])
    total = int(rec_ptr[-1])
    if total == 0:
        return rec_ptr, np.zeros(0, dtype=np.int32)
    starts = np.repeat(dptr[:-1][didx] - rec_ptr[:-1], rec_len)
    starts += np.arange(total, dtype=np.int64)
    return rec_ptr, dtok[starts]


def _intern_rows(interner: Interner, rows: list) -> list[list[int]]:
    """Each row of strings as ids (all rows interned in one pass)."""
    flat = interner.get_many(list(itertools.chain.from_iterable(rows)))
    out = []
    pos = 0
    for row in rows:
        end = pos + len(row)
        out.append(flat[pos:end])
        pos = end
    return out


def _intern_present(interner: Interner, strings) -> np.ndarray:
    """int32 ids of ``strings``; -1 for empty ones (not interned)."""
    out = np.full(len(strings), -1, dtype=np.int32)
    present = [k for k, v in enumerate(strings) if v]
    if present:
        out[present] = interner.get_many([strings[k] for k in present])
    return out


def build_column(fs: FieldSpec, features: list, didx: np.ndarray, vocab: Vocabulary) -> Column:
    """Turn per-distinct-value features into a record-level column (``didx[i]`` = distinct index of record i)."""
    col = Column(spec=fs)
    kind = fs.kind
    values = vocab.field(fs.name)
    if kind in ("text", "org_name", "address"):
        stds, wss, nss, css = zip(*features, strict=True) if features else ((), (), (), ())
        uid = _intern_present(values, stds)
        words = _intern_present(vocab.field(fs.name + "#words"), [" ".join(sorted(ws)) if ws else "" for ws in wss])
        lengths = np.fromiter(map(len, wss), dtype=np.int64, count=len(wss))
        dptr = np.zeros(len(features) + 1, dtype=np.int64)
        np.cumsum(lengths, out=dptr[1:])
        dtok = np.asarray(vocab.tokens.get_many(list(itertools.chain.from_iterable(wss))), dtype=np.int32)
        col.uid = uid[didx]
        col.words = words[didx]
        col.tok_ptr, col.tok = _gather_csr(dptr, dtok, didx)
        col.num = _pad(_intern_rows(vocab.numbers, nss), MAX_NUMBERS)[didx]
        col.code = _pad(_intern_rows(vocab.codes, css), MAX_CODES)[didx]
    elif kind in ("person_name", "code", "date"):
        col.uid = _intern_present(values, features)[didx]
    elif kind == "numeric":
        col.value = np.asarray(features, dtype=np.float64)[didx]
    elif kind == "identifier":
        from .identifiers import gtin_item_reference

        refs = vocab.field(fs.name + "#ref")
        features = [items[:MAX_IDENTIFIERS] for items in features]
        ident = _intern_rows(values, [[v for v, _ in items] for items in features])
        if fs.identifier == "gtin":
            ref = _intern_rows(refs, [[gtin_item_reference(v) for v, _ in items] for items in features])
        else:
            ref = _intern_rows(refs, [[v for v, _ in items] for items in features])
        col.ident = _pad(ident)[didx]
        col.ident_ref = _pad(ref)[didx]
        valid = _pad([[int(ok) for _, ok in items] for items in features])
        col.valid = (valid[:, : col.ident.shape[1]] > 0)[didx]
    # Every Column also knows its missing mask through uid/value/ident: see compare.missing().
    return col


def _record_ids(records: list[dict], id_field: str) -> list[str]:
    """Each record's id (stripped); a ``ValueError`` names the first record without one or the first repeat."""
    ids = [v.strip() if isinstance(v, str) else v for v in (record.get(id_field) for record in records)]
    if not all(isinstance(v, str) and v for v in ids):
        for pos, rid in enumerate(ids):
            if rid is None or rid == "":
                raise ValueError(f"record {pos + 1} has no value in the id column {id_field!r}")
        ids = [v if isinstance(v, str) else str(v).strip() for v in ids]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for rid in ids:
            if rid in seen:
                raise ValueError(f"record id {rid!r} occurs twice (id column {id_field!r})")
            seen.add(rid)
    return ids


def _distinct(values: list) -> tuple[list, np.ndarray]:
    """The distinct values (first seen first; lists as tuples) and each value's index among them."""
    try:
        index = {v: k for k, v in enumerate(dict.fromkeys(values))}
        didx = np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))
    except TypeError:  # unhashable cells (lists of identifiers)
        index = {}
        didx = np.fromiter(
            (index.setdefault(_hashable(v), len(index)) for v in values), dtype=np.int64, count=len(values)
        )
    return list(index), didx


def prepare_records(
    spec: MatchSpec, standardizer: Standardizer, vocab: Vocabulary, records: Iterable[dict], workers: int = 1
) -> Prepared:
    """Standardize ``records`` (dicts with the spec's id and field keys) into a :class:`Prepared`."""
    records = records if isinstance(records, list) else list(records)
    ids = _record_ids(records, spec.id_field)
    raw: dict[str, list] = {}
    columns: dict[str, Column] = {}
    for fs in spec.fields:
        column_values = [record.get(fs.name) for record in records]
        distinct, didx = _distinct(column_values)
        if all(v is None or type(v) is str for v in distinct):
            # One string object per distinct cell (a catalog repeats makers and categories a million times).
            column_values = [distinct[k] for k in didx.tolist()]
        raw[fs.name] = column_values
        features = standardize_values(standardizer, fs, distinct, workers)
        columns[fs.name] = build_column(fs, features, didx, vocab)
        del features, didx
    return Prepared(spec=spec, vocab=vocab, ids=ids, raw=raw, columns=columns)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
