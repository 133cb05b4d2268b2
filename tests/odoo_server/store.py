"""The database: rows per model, external ids, indexes, and one transaction per RPC call.

Every change goes through ``put`` (a row replaced, inserted or deleted) or ``set_xmlid``/``drop_xmlid``, which
journal what they replace, so ``rollback`` restores the store exactly as it was when the call began (Odoo runs
each call in one cursor: ``odoo/service/model.py`` ``execute`` -> ``retrying`` commits at the end or rolls back
on any exception). Rows are never mutated in place: a write stores a new dict.

Indexes are kept for every many2one column (one2many reads, ondelete checks and equality searches), for every
unique constraint (``{key: {ids}}``, so a uniqueness check is O(1)) and for a model's extra lookups (barcodes).
External ids live in one dict keyed by ``(module, name)``, as ``ir_model_data`` is unique on it, so ``load``
resolves ``__mdm__.item_4`` in O(1) whatever the size of the database.

As with PostgreSQL sequences, ids consumed by a rolled-back call are not given again.
"""

from __future__ import annotations

import threading

from .fields import Model


class Store:
    def __init__(self, models: dict[str, Model]):
        self.models = models
        self.tables: dict[str, dict[int, dict]] = {name: {} for name in models}
        self.next_id: dict[str, int] = dict.fromkeys(models, 1)
        self.xmlids: dict[tuple[str, str], tuple[str, int]] = {}
        self.xmlids_of: dict[tuple[str, int], list[str]] = {}
        self.indexes: dict[tuple[str, str], dict] = {}
        self._index_keys: dict[str, list[tuple[str, object]]] = {}
        for name, model in models.items():
            keys = []
            for fname, f in model.fields.items():
                if f.type == "many2one" and f.store:
                    keys.append((f"m2o:{fname}", _column(fname)))
            for constraint in model.constraints:
                if constraint.kind == "unique":
                    keys.append((f"uniq:{constraint.name}", constraint.key))
            for index_name, key in model.indexes.items():
                keys.append((index_name, key))
            self._index_keys[name] = keys
            for index_name, _key in keys:
                self.indexes[(name, index_name)] = {}
        self.journal: list | None = None
        self.lock = threading.RLock()

    # -- transactions ----------------------------------------------------------------------------------------------
    def begin(self) -> None:
        self.journal = []

    def commit(self) -> None:
        self.journal = None

    def rollback(self) -> None:
        self.rollback_to(0)
        self.journal = None

    def mark(self) -> int:
        """A savepoint inside the current transaction (``cr.savepoint()``)."""
        return len(self.journal) if self.journal is not None else 0

    def rollback_to(self, mark: int) -> None:
        journal = self.journal or []
        for entry in reversed(journal[mark:]):
            kind = entry[0]
            if kind == "row":
                _kind, model, rid, old = entry
                self._apply(model, rid, old)
            elif kind == "xmlid":
                _kind, key, old = entry
                self._apply_xmlid(key, old)
        del journal[mark:]

    # -- rows ------------------------------------------------------------------------------------------------------
    def new_id(self, model: str) -> int:
        rid = self.next_id[model]
        self.next_id[model] = rid + 1
        return rid

    def get(self, model: str, rid) -> dict | None:
        return self.tables[model].get(rid)

    def put(self, model: str, rid: int, row: dict | None) -> None:
        """Insert, replace (``row`` is a new dict) or delete (``row`` None) one row, journaled."""
        if self.journal is not None:
            self.journal.append(("row", model, rid, self.tables[model].get(rid)))
        self._apply(model, rid, row)

    def _apply(self, model: str, rid: int, row: dict | None) -> None:
        table = self.tables[model]
        old = table.get(rid)
        for index_name, key in self._index_keys[model]:
            index = self.indexes[(model, index_name)]
            if old is not None:
                old_key = key(old)
                if old_key is not None:
                    ids = index.get(old_key)
                    if ids is not None:
                        ids.discard(rid)
                        if not ids:
                            del index[old_key]
            if row is not None:
                new_key = key(row)
                if new_key is not None:
                    index.setdefault(new_key, set()).add(rid)
        if row is None:
            table.pop(rid, None)
        else:
            table[rid] = row

    def lookup(self, model: str, index_name: str, key) -> set:
        return self.indexes[(model, index_name)].get(key, set())

    # -- external ids ----------------------------------------------------------------------------------------------
    def set_xmlid(self, module: str, name: str, model: str, rid: int) -> None:
        key = (module, name)
        if self.journal is not None:
            self.journal.append(("xmlid", key, self.xmlids.get(key)))
        self._apply_xmlid(key, (model, rid))

    def drop_xmlid(self, module: str, name: str) -> None:
        key = (module, name)
        if key in self.xmlids:
            if self.journal is not None:
                self.journal.append(("xmlid", key, self.xmlids[key]))
            self._apply_xmlid(key, None)

    def _apply_xmlid(self, key: tuple[str, str], target: tuple[str, int] | None) -> None:
        old = self.xmlids.get(key)
        full = f"{key[0]}.{key[1]}"
        if old is not None:
            names = self.xmlids_of.get(old)
            if names and full in names:
                names.remove(full)
                if not names:
                    del self.xmlids_of[old]
        if target is None:
            self.xmlids.pop(key, None)
        else:
            self.xmlids[key] = target
            self.xmlids_of.setdefault(target, []).append(full)

    def xmlid_lookup(self, xmlid: str) -> tuple[str, int] | None:
        module, _dot, name = xmlid.partition(".")
        return self.xmlids.get((module, name))

    def xmlid_of(self, model: str, rid: int) -> str | None:
        names = self.xmlids_of.get((model, rid))
        return names[0] if names else None


def _column(fname: str):
    def key(row):
        value = row.get(fname)
        return value or None

    return key
