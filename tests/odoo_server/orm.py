"""The ORM methods a client calls, with Odoo's semantics and Odoo's errors.

Checked against ``odoo/models.py`` (16-17) and ``odoo/orm/models.py`` (18-19):

- ``create(vals_list)``: a dict gives an id, a list a list of ids (``api.call_kw`` returns ``result.id`` for a
  Mapping, ``result.ids`` otherwise); an unknown field raises ``ValueError("Invalid field 'x' on model 'y'")``;
  defaults come from the context (``default_<field>``) then the field; a required column left empty is a NOT
  NULL violation, a dangling many2one a FOREIGN KEY violation, and ``retrying()`` turns both, and unique/check
  constraint violations, into a ValidationError (``odoo/service/model.py`` ``_as_validation_error``, 17+; 16's
  text is built in ``check()``).
- ``write(vals)`` -> True; missing ids raise MissingError "Record does not exist or has been deleted."
- a non-stored computed field without inverse (16-18 ``product.supplierinfo.product_uom``, related and
  read-only) accepts a write and ignores it, as Odoo only puts the value in its cache.
- ``read(fields)``: many2one as ``[id, display_name]``, x2many as id lists (one2many hide archived children),
  empty values False; ``search``/``search_read``/``search_count`` with ``active_test``; ``unlink`` applies
  ``ondelete`` (cascade / restrict -> FOREIGN KEY error / set null) and drops the record's external ids.
- ``action_archive``/``action_unarchive`` return None (``toggle_active``, then 17+'s own loop), which XML-RPC
  cannot marshal: see rpc.py. A model without ``active`` fails the ``assert self._active_name``.
- ``ir.model.data.check_object_reference(module, xml_id)`` (``odoo/addons/base/models/ir_model.py``):
  ``_xmlid_lookup`` raises ``ValueError('External ID not found in the system: module.name')``; the record is
  then searched with the caller's ``active_test``, so an archived record gives ``[model, False]``.
- create/write dates are the transaction's time, 'YYYY-MM-DD HH:MM:SS' UTC (microseconds dropped, as
  ``fields.Datetime`` does), set on every write.
"""

from __future__ import annotations

import datetime
import re

from . import errors
from .domain import Evaluator, mentions, normalize, sort_rows
from .fields import Field

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
MAGIC = ("id", "create_date", "write_date", "create_uid", "write_uid")


class IntegrityViolation(Exception):
    """What PostgreSQL would raise: ``kind`` is not_null, foreign_key, unique or check."""

    def __init__(
        self,
        kind: str,
        model,
        *,
        field: str | None = None,
        constraint: str | None = None,
        columns: tuple = (),
        text: str = "",
        deleted: str = "",
    ):
        self.kind = kind
        self.deleted = deleted  # foreign_key on unlink: the table the deleted row was in
        self.model = model
        self.field = field
        self.constraint = constraint
        self.columns = columns
        self.text = text
        super().__init__(self._pg_text())

    def _pg_text(self) -> str:
        table = self.model.table
        if self.kind == "not_null":
            return f'null value in column "{self.field}" of relation "{table}" violates not-null constraint'
        if self.kind == "foreign_key" and self.deleted:
            return (
                f'update or delete on table "{self.deleted}" violates foreign key constraint "{self.constraint}" '
                f'on table "{table}"'
            )
        if self.kind == "foreign_key":
            return f'insert or update on table "{table}" violates foreign key constraint "{self.constraint}"'
        if self.kind == "unique":
            return f'duplicate key value violates unique constraint "{self.constraint}"'
        return f'new row for relation "{table}" violates check constraint "{self.constraint}"'


def as_validation_error(env, exc: IntegrityViolation):
    """The ValidationError Odoo's ``retrying()`` raises for an IntegrityError, per version."""
    model = exc.model
    if exc.kind == "not_null":
        f = model.fields.get(exc.field)
        head = (
            "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
            "- Delete: another model requires the record being deleted. If possible, archive it instead."
        )
        if env.version == 16:
            return errors.ValidationError(
                f"{head}\n\nModel: {model.description} ({model.name}), Field: {f.string if f else 'Unknown'} "
                f"({exc.field})"
            )
        return errors.ValidationError(
            f"{head}\n\nModel: {model.description} ({model.name})\nField: {f.string if f else 'Unknown'} ({exc.field})\n"
        )
    if exc.kind == "foreign_key":
        head = (
            "The operation cannot be completed: another model requires the record being deleted. "
            "If possible, archive it instead."
        )
        if env.version == 16:
            return errors.ValidationError(
                f"{head}\n\nModel: {model.description} ({model.name}), Constraint: {exc.constraint}"
            )
        return errors.ValidationError(
            f"{head}\n\nModel: {model.description} ({model.name})\nConstraint: {exc.constraint}\n"
        )
    # registered _sql_constraints / models.Constraint: their own (translated) message
    if env.version == 16:
        return errors.ValidationError(exc.text)
    return errors.ValidationError(f"The operation cannot be completed: {exc.text}")


class Env:
    """One call's environment: the database, the user, the context, the transaction's time."""

    def __init__(self, db, uid: int, context: dict | None = None, now: str | None = None):
        self.db = db
        self.store = db.store
        self.models = db.models
        self.version = db.version
        self.uid = uid
        self.context = dict(context or {})
        self.now = now or db.now()

    def with_context(self, **overrides) -> Env:
        return Env(self.db, self.uid, {**self.context, **overrides}, self.now)

    def model(self, name: str):
        try:
            return self.models[name]
        except KeyError:
            raise errors.UserError(f"Object {name} doesn't exist") from None

    # -- helpers ---------------------------------------------------------------------------------------------------
    def display_name(self, model_name: str, row: dict | None) -> str:
        if row is None:
            return ""
        model = self.models[model_name]
        if model.display_name:
            return model.display_name(self, row)
        value = row.get(model.rec_name)
        return value if isinstance(value, str) and value else f"{model_name},{row['id']}"

    def relation_ids(self, model_name: str, row: dict, fname: str) -> list[int]:
        f = self.models[model_name].fields[fname]
        if f.type == "many2one":
            return [row[fname]] if row.get(fname) else []
        if f.type == "many2many":
            return list(row.get(fname) or [])
        ids = self.store.lookup(f.comodel, f"m2o:{f.inverse_name}", row["id"])
        comodel = self.models[f.comodel]
        table = self.store.tables[f.comodel]
        rows = [table[i] for i in ids]
        if comodel.has_active and self.context.get("active_test", True):
            rows = [r for r in rows if r.get("active")]
        return [r["id"] for r in sort_rows(self, comodel, rows, None)]

    def existing(self, model_name: str, ids) -> list[dict]:
        """The rows of ``ids`` (in order, deduplicated), or MissingError as Odoo's access checks raise it."""
        model = self.model(model_name)
        table = self.store.tables[model_name]
        ids = _ids(ids)
        missing = [i for i in ids if i not in table]
        if missing:
            shown = ", ".join(str(i) for i in missing) + ("," if len(missing) == 1 else "")
            raise errors.MissingError(
                f"Record does not exist or has been deleted.\n(Record: {model.name}({shown}), User: {self.uid})"
            )
        seen = set()
        return [table[i] for i in ids if not (i in seen or seen.add(i))]

    # -- values ----------------------------------------------------------------------------------------------------
    def convert(self, model, f: Field, value):
        if f.type in ("char", "text", "html"):
            return False if value is None or value is False else str(value)
        if f.type == "integer":
            return int(value or 0)
        if f.type in ("float", "monetary"):
            return float(value or 0.0)
        if f.type == "boolean":
            return bool(value)
        if f.type == "selection":
            if value is None or value is False:
                return False
            if value not in {key for key, _label in f.selection}:
                raise ValueError(f"Wrong value for {model.name}.{f.name}: {value!r}")
            return value
        if f.type == "date":
            if not value:
                return False
            text = str(value)[:10]
            if not DATE_RE.match(text):
                raise ValueError(f"time data {value!r} does not match format '%Y-%m-%d'")
            return text
        if f.type == "datetime":
            if not value:
                return False
            text = str(value)
            if not DATETIME_RE.match(text[:19]):
                raise ValueError(f"time data {value!r} does not match format '%Y-%m-%d %H:%M:%S'")
            return text[:19] if len(text) >= 19 else f"{text[:10]} 00:00:00"
        if f.type == "many2one":
            if isinstance(value, list | tuple):
                value = value[0] if value else False
            if not value:
                return False
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"Wrong value for {model.name}.{f.name}: {value!r}")
            return value
        return value

    def _check_row(self, model, row: dict, fnames) -> None:
        for fname in fnames:
            f = model.fields.get(fname)
            if f is None or not f.store:
                continue
            value = row.get(fname)
            if (
                f.required
                and f.type not in ("boolean", "integer", "float", "monetary")
                and (value is False or value is None)
            ):
                raise IntegrityViolation("not_null", model, field=fname)
            if f.type == "many2one" and value and value not in self.store.tables[f.comodel]:
                raise IntegrityViolation("foreign_key", model, field=fname, constraint=f"{model.table}_{fname}_fkey")
        for constraint in model.constraints:
            if constraint.kind == "check" and not constraint.check(row):
                raise IntegrityViolation(
                    "check", model, constraint=f"{model.table}_{constraint.name}", text=constraint.message
                )
            if constraint.kind == "unique":
                key = constraint.key(row)
                if key is not None and len(self.store.lookup(model.name, f"uniq:{constraint.name}", key)) > 1:
                    raise IntegrityViolation(
                        "unique",
                        model,
                        constraint=f"{model.table}_{constraint.name}",
                        columns=constraint.columns,
                        text=constraint.message,
                    )

    def _split(self, model, vals: dict) -> tuple[dict, dict]:
        """Stored values and x2many commands; unknown fields raise, read-only computed ones are dropped."""
        stored, x2many = {}, {}
        for fname, value in vals.items():
            f = model.fields.get(fname)
            if f is None:
                raise ValueError(f"Invalid field {fname!r} on model {model.name!r}")
            if fname in MAGIC:
                continue  # Odoo ignores writes to the log access columns from RPC
            if f.type in ("one2many", "many2many"):
                x2many[fname] = value
            elif f.store:
                stored[fname] = self.convert(model, f, value)
            # else: a computed field without inverse: Odoo keeps it in cache only, i.e. ignores it
        return stored, x2many

    # -- create / write / unlink -----------------------------------------------------------------------------------
    def create(self, model_name: str, vals_list: list[dict]) -> list[int]:
        model = self.model(model_name)
        ids = []
        for vals in vals_list:
            if not isinstance(vals, dict):
                raise TypeError(f"create() expects dicts of values, got {type(vals).__name__}")
            ids.append(self._create_one(model, dict(vals)))
        if model.after_create:
            model.after_create(self, ids, vals_list)
        for check in model.python_constraints:
            check(self, ids, None)
        return ids

    def _create_one(self, model, vals: dict) -> int:
        for key, value in self.context.items():
            if key.startswith("default_") and key[8:] in model.fields and key[8:] not in vals:
                vals[key[8:]] = value
        if model.prepare_create:
            model.prepare_create(self, vals)
        stored, x2many = self._split(model, vals)
        row = {"id": 0}
        for fname, f in model.fields.items():
            if not f.store or fname == "id":
                continue
            if fname in stored:
                row[fname] = stored[fname]
            elif f.default is not None:
                default = f.default(self) if callable(f.default) else f.default
                row[fname] = self.convert(model, f, default)
            elif f.type == "many2many":
                row[fname] = []
            else:
                row[fname] = self.convert(model, f, False)
        rid = self.store.new_id(model.name)
        row.update(id=rid, create_date=self.now, write_date=self.now, create_uid=self.uid, write_uid=self.uid)
        self.store.put(model.name, rid, row)
        self._check_row(model, row, model.fields)
        for fname, commands in x2many.items():
            self.apply_x2many(model, rid, fname, commands)
        return rid

    def write(self, model_name: str, ids, vals: dict) -> bool:
        model = self.model(model_name)
        rows = self.existing(model_name, ids)
        if not isinstance(vals, dict):
            raise TypeError(f"write() expects a dict of values, got {type(vals).__name__}")
        vals = dict(vals)
        ids = [r["id"] for r in rows]
        if model.prepare_write:
            model.prepare_write(self, ids, vals)
        stored, x2many = self._split(model, vals)
        for row in rows:
            new = {**self.store.get(model.name, row["id"]), **stored, "write_date": self.now, "write_uid": self.uid}
            self.store.put(model.name, row["id"], new)
            self._check_row(model, new, list(stored) or ())
        for rid in ids:
            for fname, commands in x2many.items():
                self.apply_x2many(model, rid, fname, commands)
        if model.after_write:
            model.after_write(self, ids, vals)
        for check in model.python_constraints:
            check(self, ids, set(vals))
        return True

    def apply_x2many(self, model, rid: int, fname: str, commands) -> None:
        f = model.fields[fname]
        if commands is False or commands is None:
            commands = [(5,)]
        commands = list(commands)
        if commands and all(isinstance(c, int) and not isinstance(c, bool) for c in commands):
            commands = [(6, 0, commands)]
        for command in commands:
            if not isinstance(command, list | tuple) or not command:
                raise ValueError(f"Wrong value for {model.name}.{fname}: {command!r}")
            code = command[0]
            arg = command[1] if len(command) > 1 else 0
            payload = command[2] if len(command) > 2 else None
            if f.type == "one2many":
                self._o2m_command(f, rid, code, arg, payload)
            else:
                self._m2m_command(model, f, rid, code, arg, payload)

    def _o2m_command(self, f: Field, rid: int, code, arg, payload) -> None:
        comodel = self.models[f.comodel]
        inverse = f.inverse_name

        def detach(child_ids):
            if comodel.fields[inverse].required or comodel.fields[inverse].ondelete == "cascade":
                self.unlink(f.comodel, child_ids)
            else:
                self.write(f.comodel, child_ids, {inverse: False})

        if code == 0:
            self.create(f.comodel, [{**(payload or {}), inverse: rid}])
        elif code == 1:
            self.write(f.comodel, [arg], payload or {})
        elif code == 2:
            self.unlink(f.comodel, [arg])
        elif code == 3:
            detach([arg])
        elif code == 4:
            self.write(f.comodel, [arg], {inverse: rid})
        elif code in (5, 6):
            current = set(self.store.lookup(f.comodel, f"m2o:{inverse}", rid))
            keep = set(_ids(payload or [])) if code == 6 else set()
            gone = sorted(current - keep)
            if gone:
                detach(gone)
            if keep - current:
                self.write(f.comodel, sorted(keep - current), {inverse: rid})
        else:
            raise ValueError(f"Unknown x2many command {code!r}")

    def _m2m_command(self, model, f: Field, rid: int, code, arg, payload) -> None:
        row = self.store.get(model.name, rid)
        current = list(row.get(f.name) or [])
        if code == 0:
            current += self.create(f.comodel, [payload or {}])
        elif code == 1:
            self.write(f.comodel, [arg], payload or {})
        elif code == 2:
            self.unlink(f.comodel, [arg])
            current = [i for i in current if i != arg]
        elif code == 3:
            current = [i for i in current if i != arg]
        elif code == 4:
            if arg not in current:
                current.append(arg)
        elif code == 5:
            current = []
        elif code == 6:
            current = list(dict.fromkeys(_ids(payload or [])))
        else:
            raise ValueError(f"Unknown x2many command {code!r}")
        table = self.store.tables[f.comodel]
        for target in current:
            if target not in table:
                raise IntegrityViolation("foreign_key", model, field=f.name, constraint=f"{model.table}_{f.name}_fkey")
        self.store.put(model.name, rid, {**row, f.name: current})

    def unlink(self, model_name: str, ids) -> bool:
        model = self.model(model_name)
        rows = self.existing(model_name, ids)
        ids = [r["id"] for r in rows]
        if model.before_unlink:
            model.before_unlink(self, ids)
        for rid in ids:
            if self.store.get(model_name, rid) is None:
                continue  # removed by a cascade of an earlier one
            self._unlink_one(model, rid)
        return True

    def _unlink_one(self, model, rid: int) -> None:
        for other in self.models.values():
            for fname, f in other.fields.items():
                if f.type != "many2one" or f.comodel != model.name or not f.store:
                    continue
                referrers = sorted(self.store.lookup(other.name, f"m2o:{fname}", rid))
                referrers = [r for r in referrers if not (other.name == model.name and r == rid)]
                if not referrers:
                    continue
                if f.ondelete == "cascade":
                    for child in referrers:
                        if self.store.get(other.name, child) is not None:
                            self._unlink_one(other, child)
                elif f.ondelete == "restrict":
                    raise IntegrityViolation(
                        "foreign_key", other, field=fname, constraint=f"{other.table}_{fname}_fkey", deleted=model.table
                    )
                else:
                    for child in referrers:
                        row = self.store.get(other.name, child)
                        self.store.put(other.name, child, {**row, fname: False})
            for fname, f in other.fields.items():
                if f.type == "many2many" and f.comodel == model.name:
                    for orow in list(self.store.tables[other.name].values()):
                        if rid in (orow.get(fname) or []):
                            self.store.put(
                                other.name, orow["id"], {**orow, fname: [i for i in orow[fname] if i != rid]}
                            )
        for full in list(self.store.xmlids_of.get((model.name, rid), [])):
            module, _dot, name = full.partition(".")
            self.store.drop_xmlid(module, name)
        self.store.put(model.name, rid, None)

    def archive(self, model_name: str, ids, active: bool) -> None:
        model = self.model(model_name)
        if not model.has_active:
            raise AssertionError(f"No 'active' field on model {model_name}")
        rows = self.existing(model_name, ids)
        todo = [r["id"] for r in rows if bool(r.get("active")) != active]
        if todo:
            self.write(model_name, todo, {"active": active})

    # -- read / search ---------------------------------------------------------------------------------------------
    def read(self, model_name: str, ids, fields=None, load="_classic_read") -> list[dict]:
        model = self.model(model_name)
        rows = self.existing(model_name, ids)
        names = self._field_names(model, fields)
        return [self.format_row(model, row, names, load) for row in rows]

    def _field_names(self, model, fields) -> list[str]:
        if not fields:
            return [name for name in model.fields if name != "id"]
        names = []
        for name in fields:
            if name not in model.fields:
                raise ValueError(f"Invalid field {name!r} on model {model.name!r}")
            if name != "id":
                names.append(name)
        return names

    def format_row(self, model, row: dict, names, load="_classic_read") -> dict:
        out = {"id": row["id"]}
        for name in names:
            f = model.fields[name]
            if f.type == "one2many":
                out[name] = self.relation_ids(model.name, row, name)
                continue
            value = f.compute(self, row) if f.compute is not None else row.get(name)
            if f.type == "many2one":
                if value and load == "_classic_read":
                    target = self.store.get(f.comodel, value)
                    value = [value, self.display_name(f.comodel, target)] if target else False
                value = value or False
            elif f.type == "many2many":
                value = list(value or [])
            elif value is None:
                value = f.empty()
            out[name] = value
        return out

    def search_rows(self, model_name: str, domain=None, offset=0, limit=None, order=None) -> list[dict]:
        model = self.model(model_name)
        domain = normalize(domain or [])
        if model.has_active and self.context.get("active_test", True) and not mentions(domain, "active"):
            domain = ["&", ("active", "=", True), *domain] if domain else [("active", "=", True)]
        match = Evaluator(self, model_name).matcher(domain)
        rows = [row for row in self._candidates(model, domain) if match(row)]
        rows = sort_rows(self, model, rows, order)
        offset = int(offset or 0)
        if offset:
            rows = rows[offset:]
        if limit:
            rows = rows[: int(limit)]
        return rows

    def _candidates(self, model, domain: list):
        """A shortcut for the common ``('id', 'in', ids)`` / indexed many2one equality conjunctions."""
        table = self.store.tables[model.name]
        if domain and "|" not in domain and "!" not in domain:
            for token in domain:
                if not isinstance(token, tuple):
                    continue
                fname, op, value = token
                if fname == "id" and op in ("=", "in"):
                    return [table[i] for i in _ids(value if isinstance(value, list | tuple) else [value]) if i in table]
                f = model.fields.get(fname)
                if (
                    f is not None
                    and f.type == "many2one"
                    and f.store
                    and op == "="
                    and isinstance(value, int)
                    and not isinstance(value, bool)
                    and value
                ):
                    return [table[i] for i in self.store.lookup(model.name, f"m2o:{fname}", value)]
        return list(table.values())

    def search(self, model_name: str, domain=None, offset=0, limit=None, order=None) -> list[int]:
        return [row["id"] for row in self.search_rows(model_name, domain, offset, limit, order)]


def _ids(value) -> list[int]:
    if isinstance(value, bool):
        raise TypeError(f"Invalid ids {value!r}")
    if isinstance(value, int):
        return [value]
    result = []
    for item in value or []:
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"Invalid id {item!r}")
        result.append(item)
    return result


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
