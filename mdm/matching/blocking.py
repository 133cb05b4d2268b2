"""Candidate generation: blocking keys per record, joined into candidate pairs with bounded block work.

Keys per record (strings, as :meth:`Matcher.record_keys` returns them and the database persists them):

- ``gtin:<14 digits>`` and ``gtinref:<12 digits>`` (the GTIN without indicator and check digit: same product at
  another packaging level), ``ndc:``, ``duns:``, ``ein:``, ``part_number:`` -- exact identifiers; a ``generic``
  identifier keys as ``<field>:<value>``;
- ``mpn:<manufacturer word>:<part number>`` when the spec has an organisation name and a part number;
- ``<field>:<value>`` for ``code`` and ``date`` fields and for the whole standardized organisation name;
- ``ph:<field>:<metaphone>`` for person names (and ``ph:<f1>+<f2>:<m1>|<m2>`` for the first two name fields);
- ``tok:<token>`` for each word of text, organisation-name and address fields;
- ``code:<code>`` for model/catalog-number-like tokens found in text.

Joining (vectorized with numpy): keys are interned to integers; a key held by more than ``cap`` records is dropped
(it says too little); of its ``tok:`` keys each record only joins on its ``rare_tokens`` rarest ones that at least
one other record shares (a misspelt token, held by one record, is skipped), all other keys are always joined. Within
a block, records are ordered by their standardized name and each is paired with its next ``window`` neighbours, so
a block of size s costs at most s * window pairs; small blocks give all their pairs. A sorted neighbourhood over
the whole set (``sn_window``) adds pairs that no key found, e.g. names with typos in every word.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

import jellyfish
import numpy as np

from .arrays import unique
from .prepared import Interner, Prepared

GROUP_EXACT = 0
GROUP_TOKEN = 1


@dataclass(frozen=True)
class BlockingConfig:
    cap: int = 1000
    window: int = 10
    rare_tokens: int = 4
    sn_window: int = 4


class KeySpace:
    """Interned blocking keys with a stable tie-break hash, plus per-vocabulary maps (value id -> key id)."""

    def __init__(self):
        self.keys = Interner()
        self._hash = np.zeros(0, dtype=np.int64)
        self._maps: dict[str, np.ndarray] = {}

    def kid(self, key: str) -> int:
        return self.keys.get(key)

    def kids(self, keys: list[str]) -> list[int]:
        """Ids of many keys at once."""
        return self.keys.get_many(keys)

    def hashes(self) -> np.ndarray:
        """crc32 of every key, by key id (computed once per key)."""
        items = self.keys.items
        if len(self._hash) < len(items):
            ext = np.fromiter(
                (zlib.crc32(k.encode()) for k in items[len(self._hash) :]),
                dtype=np.int64,
                count=len(items) - len(self._hash),
            )
            self._hash = np.concatenate([self._hash, ext])
        return self._hash

    def map_for(self, name: str, items: list[str], make) -> np.ndarray:
        """``map[value id]`` = key id of ``make(value)`` (-1 = no key), extended as the vocabulary grows."""
        current = self._maps.get(name)
        start = 0 if current is None else len(current)
        if start >= len(items):
            return current if current is not None else np.zeros(0, dtype=np.int64)
        strings = [make(v) for v in items[start:]]
        ext = np.full(len(strings), -1, dtype=np.int64)
        present = [k for k, key in enumerate(strings) if key]
        if present:
            ext[present] = self.kids([strings[k] for k in present])
        new = ext if current is None else np.concatenate([current, ext])
        self._maps[name] = new
        return new


def _metaphone(value: str) -> str:
    return jellyfish.metaphone(value.replace(" ", "")) if value else ""


def keyspace_of(prep: Prepared) -> KeySpace:
    """The key space bound to a prepared set's vocabulary (shared by every set of one matcher)."""
    if prep.vocab.keyspace is None:
        prep.vocab.keyspace = KeySpace()
    return prep.vocab.keyspace


def key_entries(prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All blocking keys of every row: arrays (row, key id, group)."""
    vocab = prep.vocab
    space = keyspace_of(prep)
    rows: list[np.ndarray] = []
    kids: list[np.ndarray] = []
    groups: list[int] = []
    n = len(prep)

    def add(row_idx: np.ndarray, kid_arr: np.ndarray, group: int):
        keep = kid_arr >= 0
        if keep.any():
            rows.append(row_idx[keep].astype(np.int64))
            kids.append(kid_arr[keep].astype(np.int64))
            groups.append((group, int(keep.sum())))

    all_rows = np.arange(n, dtype=np.int64)
    person_fields = []
    org_field = None
    part_field = None
    for fs in prep.spec.fields:
        if not fs.blocks:
            continue
        col = prep.columns[fs.name]
        values = vocab.field(fs.name).items
        if fs.kind in ("text", "org_name", "address"):
            tmap = space.map_for("#tokens", vocab.tokens.items, lambda t: f"tok:{t}" if len(t) >= 2 else "")
            lengths = np.diff(col.tok_ptr)
            add(np.repeat(all_rows, lengths), tmap[col.tok], GROUP_TOKEN)
            if fs.kind == "text":
                cmap = space.map_for("#codes", vocab.codes.items, lambda c: f"code:{c}")
                r, k = np.nonzero(col.code >= 0)
                add(r, cmap[col.code[r, k]], GROUP_EXACT)
            if fs.kind == "org_name":
                omap = space.map_for(fs.name, values, lambda v, f=fs.name: f"{f}:{v}")
                add(all_rows[col.uid >= 0], omap[col.uid[col.uid >= 0]], GROUP_EXACT)
                org_field = org_field or fs.name
        elif fs.kind in ("code", "date"):
            vmap = space.map_for(fs.name, values, lambda v, f=fs.name: f"{f}:{v}")
            present = col.uid >= 0
            add(all_rows[present], vmap[col.uid[present]], GROUP_EXACT)
        elif fs.kind == "person_name":
            pmap = space.map_for(
                fs.name + "#ph", values, lambda v, f=fs.name: f"ph:{f}:{m}" if (m := _metaphone(v)) else ""
            )
            present = col.uid >= 0
            add(all_rows[present], pmap[col.uid[present]], GROUP_EXACT)
            person_fields.append(fs.name)
        elif fs.kind == "identifier":
            prefix = fs.name if fs.identifier == "generic" else fs.identifier
            imap = space.map_for(fs.name + "#id", values, lambda v, p=prefix: f"{p}:{v}")
            r, k = np.nonzero(col.ident >= 0)
            add(r, imap[col.ident[r, k]], GROUP_EXACT)
            if fs.identifier == "gtin":
                refs = vocab.field(fs.name + "#ref").items
                rmap = space.map_for(fs.name + "#ref", refs, lambda v: f"gtinref:{v}")
                add(r, rmap[col.ident_ref[r, k]], GROUP_EXACT)
            if fs.identifier == "part_number":
                part_field = part_field or fs.name
    if len(person_fields) >= 2:
        f1, f2 = person_fields[:2]
        u1, u2 = prep.columns[f1].uid, prep.columns[f2].uid
        present = (u1 >= 0) & (u2 >= 0)
        if present.any():
            v1, v2 = vocab.field(f1).items, vocab.field(f2).items
            pair = u1[present].astype(np.int64) * (1 << 31) + u2[present]
            uniq, inv = np.unique(pair, return_inverse=True)
            ids = np.asarray(
                space.kids(
                    [
                        f"ph:{f1}+{f2}:{_metaphone(v1[p >> 31])}|{_metaphone(v2[p & ((1 << 31) - 1)])}"
                        for p in uniq.tolist()
                    ]
                ),
                dtype=np.int64,
            )
            add(all_rows[present], ids[inv], GROUP_EXACT)
    if org_field and part_field:
        ocol, pcol = prep.columns[org_field], prep.columns[part_field]
        org_items = vocab.field(org_field).items
        part_items = vocab.field(part_field).items
        first_part = pcol.ident[:, 0]
        present = (ocol.uid >= 0) & (first_part >= 0)
        if present.any():
            pair = ocol.uid[present].astype(np.int64) * (1 << 31) + first_part[present]
            uniq, inv = np.unique(pair, return_inverse=True)
            ids = np.asarray(
                space.kids(
                    [f"mpn:{org_items[p >> 31].split()[0]}:{part_items[p & ((1 << 31) - 1)]}" for p in uniq.tolist()]
                ),
                dtype=np.int64,
            )
            add(all_rows[present], ids[inv], GROUP_EXACT)
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.int8)
    group = np.concatenate([np.full(cnt, g, dtype=np.int8) for g, cnt in groups])
    row = np.concatenate(rows)
    kid = np.concatenate(kids)
    # A record holding one key twice (the same token in two fields) joins once.
    combo = row * (len(space.keys) + 1) + kid
    _, first = np.unique(combo, return_index=True)
    first.sort()
    return row[first], kid[first], group[first]


def _select(rows, kids, groups, space: KeySpace, config: BlockingConfig):
    """Drop over-frequent keys; keep each record's rarest shared token keys."""
    if len(kids) == 0:
        return rows, kids
    size = int(kids.max()) + 1
    df = np.bincount(kids, minlength=size)
    dfe = df[kids]
    keep = dfe <= config.cap
    keep &= dfe >= 2  # a key only one record holds joins nothing
    tok = keep & (groups == GROUP_TOKEN)
    if tok.any():
        idx = np.flatnonzero(tok)
        hashes = space.hashes()[kids[idx]]
        order = idx[np.lexsort((hashes, dfe[idx], rows[idx]))]
        r = rows[order]
        start = np.r_[0, np.flatnonzero(r[1:] != r[:-1]) + 1]
        run_start = np.repeat(start, np.diff(np.r_[start, len(r)]))
        rank = np.arange(len(r)) - run_start
        drop = order[rank >= config.rare_tokens]
        keep[drop] = False
    return rows[keep], kids[keep]


def _window_pairs(block: np.ndarray, members: np.ndarray, window: int, split: int | None) -> list[np.ndarray]:
    """Pairs of members within ``window`` positions of each other in the same block (input sorted by block)."""
    out = []
    n = len(members)
    for d in range(1, min(window, n - 1) + 1):
        same = block[:-d] == block[d:]
        a = members[:-d][same]
        b = members[d:][same]
        if split is not None:
            cross = (a < split) != (b < split)
            a, b = a[cross], b[cross]
        if len(a):
            out.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    return out


def candidate_pairs(preps: list[Prepared], config: BlockingConfig, link: bool = False) -> np.ndarray:
    """Candidate pairs over one prepared set (dedupe) or two (link: rows of the second offset by the first's size).

    Returns (n_pairs, 2) int64 sorted pairs; for dedupe i < j, for link (left row, right row).
    """
    if len(preps) > 1 and any(p.vocab is not preps[0].vocab for p in preps):
        raise ValueError("both sides must be prepared by the same matcher")
    space = keyspace_of(preps[0])
    rows_l, kids_l, groups_l = [], [], []
    offset = 0
    for prep in preps:
        r, k, g = key_entries(prep)
        rows_l.append(r + offset)
        kids_l.append(k)
        groups_l.append(g)
        offset += len(prep)
    total = offset
    split = len(preps[0]) if link else None
    rows, kids, groups = np.concatenate(rows_l), np.concatenate(kids_l), np.concatenate(groups_l)
    # One global order by name: both sides of a link interleave by name.
    name_rank = _global_rank(preps)
    rows, kids = _select(rows, kids, groups, space, config)
    parts: list[np.ndarray] = []
    if len(rows):
        order = np.lexsort((name_rank[rows], kids))
        parts += _window_pairs(kids[order], rows[order], config.window, split)
    if config.sn_window > 0 and total > 1:
        order = np.argsort(name_rank, kind="stable")
        parts += _window_pairs(np.zeros(total, dtype=np.int64), order.astype(np.int64), config.sn_window, split)
    if not parts:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(parts)
    code = unique(pairs[:, 0] * total + pairs[:, 1])
    out = np.stack([code // total, code % total], axis=1)
    if link:
        out[:, 1] -= split
    return out


def _global_rank(preps: list[Prepared]) -> np.ndarray:
    """Rank of each row (both sides of a link together) by standardized name, ties by record id.

    The name is the tuple of the blocking text-like fields' standardized values (missing = ""). Each field's
    distinct values are ranked once (a sort of the vocabulary), so rows sort as integer keys.
    """
    total = sum(len(p) for p in preps)
    keys: list[np.ndarray] = []
    spec = preps[0].spec
    vocab = preps[0].vocab
    for fs in spec.fields:
        if fs.kind in ("org_name", "person_name", "text", "address") and fs.blocks:
            items = vocab.field(fs.name).items
            order = sorted(range(len(items)), key=items.__getitem__)
            value_rank = np.empty(len(items) + 1, dtype=np.int64)
            value_rank[np.asarray(order, dtype=np.int64) + 1] = np.arange(1, len(items) + 1)
            value_rank[0] = 0  # missing ("") sorts first
            uid = np.concatenate([p.columns[fs.name].uid for p in preps]).astype(np.int64)
            keys.append(value_rank[uid + 1])
    ids = [rid for prep in preps for rid in prep.ids]
    if all(a < b for a, b in zip(ids, itertools.islice(ids, 1, None), strict=False)):
        # Rows already in string order of ids (the usual case: Matcher sorts records by id).
        id_rank = np.arange(total, dtype=np.int64)
    else:
        id_rank = np.empty(total, dtype=np.int64)
        id_rank[np.asarray(sorted(range(total), key=ids.__getitem__), dtype=np.int64)] = np.arange(total)
    order = np.lexsort([id_rank, *reversed(keys)])
    rank = np.empty(total, dtype=np.int64)
    rank[order] = np.arange(total, dtype=np.int64)
    return rank


def keys_of_row(prep: Prepared, row: int) -> list[str]:
    """The key strings of one row (all of them: frequency pruning happens when candidates are joined)."""
    r, k, _ = key_entries(prep)
    items = keyspace_of(prep).keys.items
    return sorted({items[x] for x in k[r == row].tolist()})
