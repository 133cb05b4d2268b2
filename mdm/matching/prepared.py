"""Columnar standardized records: what blocking and scoring run on.

Strings are interned to integer ids in a :class:`Vocabulary` owned by the matcher, so every :class:`Prepared` built
by one matcher shares id spaces: equal ids mean equal standardized values, also between a left and a right set.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .spec import FieldSpec, MatchSpec
from .standardize import MAX_CODES, MAX_NUMBERS, Standardizer

MAX_IDENTIFIERS = 8
PARALLEL_MIN_VALUES = 200_000  # below this many distinct values, worker start-up costs more than it saves


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
    std = _WORKER_STANDARDIZER
    return [std.field(kind, v, id_type, multi) for v in values]


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
    return [standardizer.field(fs.kind, v, fs.identifier, fs.multi) for v in values]


def _pad(rows: list[list[int]], width: int) -> np.ndarray:
    out = np.full((len(rows), max(1, width)), -1, dtype=np.int32)
    for r, row in enumerate(rows):
        if row:
            out[r, : len(row)] = row
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
    starts = np.repeat(dptr[:-1][didx], rec_len)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(rec_ptr[:-1], rec_len)
    return rec_ptr, dtok[starts + offsets]


def build_column(fs: FieldSpec, features: list, didx: np.ndarray, vocab: Vocabulary) -> Column:
    """Turn per-distinct-value features into a record-level column (``didx[i]`` = distinct index of record i)."""
    col = Column(spec=fs)
    kind = fs.kind
    values = vocab.field(fs.name)
    if kind in ("text", "org_name", "address"):
        uid = np.empty(len(features), dtype=np.int32)
        words = np.empty(len(features), dtype=np.int32)
        dptr = np.zeros(len(features) + 1, dtype=np.int64)
        dtok: list[int] = []
        nums: list[list[int]] = []
        codes: list[list[int]] = []
        tokens, numbers, codes_i = vocab.tokens, vocab.numbers, vocab.codes
        word_strings = vocab.field(fs.name + "#words")
        for d, (std, ws, ns, cs) in enumerate(features):
            uid[d] = values.get(std) if std else -1
            words[d] = word_strings.get(" ".join(sorted(ws))) if ws else -1
            dtok.extend(tokens.get(w) for w in ws)
            dptr[d + 1] = len(dtok)
            nums.append([numbers.get(x) for x in ns])
            codes.append([codes_i.get(x) for x in cs])
        col.uid = uid[didx]
        col.words = words[didx]
        col.tok_ptr, col.tok = _gather_csr(dptr, np.asarray(dtok, dtype=np.int32), didx)
        col.num = _pad(nums, MAX_NUMBERS)[didx]
        col.code = _pad(codes, MAX_CODES)[didx]
    elif kind in ("person_name", "code", "date"):
        uid = np.fromiter((values.get(v) if v else -1 for v in features), dtype=np.int32, count=len(features))
        col.uid = uid[didx]
    elif kind == "numeric":
        col.value = np.asarray(features, dtype=np.float64)[didx]
    elif kind == "identifier":
        from .identifiers import gtin_item_reference

        refs = vocab.field(fs.name + "#ref")
        ident, ref, valid = [], [], []
        for items in features:
            items = items[:MAX_IDENTIFIERS]
            ident.append([values.get(v) for v, _ in items])
            if fs.identifier == "gtin":
                ref.append([refs.get(gtin_item_reference(v)) for v, _ in items])
            else:
                ref.append([refs.get(v) for v, _ in items])
            valid.append([ok for _, ok in items])
        width = max((len(r) for r in ident), default=1)
        col.ident = _pad(ident, width)[didx]
        col.ident_ref = _pad(ref, width)[didx]
        vmat = np.zeros((len(valid), max(1, width)), dtype=bool)
        for r, row in enumerate(valid):
            vmat[r, : len(row)] = row
        col.valid = vmat[didx]
    # Every Column also knows its missing mask through uid/value/ident: see compare.missing().
    return col


def prepare_records(
    spec: MatchSpec, standardizer: Standardizer, vocab: Vocabulary, records: Iterable[dict], workers: int = 1
) -> Prepared:
    """Standardize ``records`` (dicts with the spec's id and field keys) into a :class:`Prepared`."""
    records = records if isinstance(records, list) else list(records)
    id_field = spec.id_field
    ids: list[str] = []
    seen: set[str] = set()
    for pos, record in enumerate(records):
        rid = record.get(id_field)
        if rid is None or (isinstance(rid, str) and not rid.strip()):
            raise ValueError(f"record {pos + 1} has no value in the id column {id_field!r}")
        rid = str(rid).strip()
        if rid in seen:
            raise ValueError(f"record id {rid!r} occurs twice (id column {id_field!r})")
        seen.add(rid)
        ids.append(rid)
    raw: dict[str, list] = {}
    columns: dict[str, Column] = {}
    for fs in spec.fields:
        column_values = [record.get(fs.name) for record in records]
        raw[fs.name] = column_values
        distinct: dict = {}
        didx = np.fromiter(
            (distinct.setdefault(_hashable(v), len(distinct)) for v in column_values),
            dtype=np.int64,
            count=len(column_values),
        )
        features = standardize_values(standardizer, fs, list(distinct), workers)
        columns[fs.name] = build_column(fs, features, didx, vocab)
    return Prepared(spec=spec, vocab=vocab, ids=ids, raw=raw, columns=columns)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
