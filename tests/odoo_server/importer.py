"""``model.load(fields, data)``: Odoo's import, create-or-update by external id, all or nothing.

Checked against ``odoo/models.py`` (16-17; ``odoo/orm/models.py`` 18-19) ``load``, ``_extract_records``,
``_convert_records`` and ``_load_records``, and ``odoo/addons/base/models/ir_fields.py`` (the converters):

- columns are field paths: ``id`` (external id; no dot means module ``__import__``), ``.id`` (database id),
  ``field``, ``field/id`` (external id of a many2one, or comma-separated ones of a many2many), ``field/.id``;
  ``:id`` is accepted for ``/id`` (``fix_import_export_id_paths``). An unknown column raises ``KeyError``
  (``model_fields[field_path[0]]`` in ``load``): the call fails.
- values use the import format: empty cells are False; booleans "1"/"true"/"yes" and "0"/"false"/"no" (other
  text is True with a warning); numbers from text; selections by value or label; dates 'YYYY-MM-DD'.
  A non-text boolean cell fails in ``value.lower()`` (``AttributeError``): the call fails.
- an external id already in ``ir.model.data`` for a live record updates that record (``_load_records_write``),
  otherwise a record is created and the external id (re)pointed at it; an external id of another model is a
  ValidationError "For external id ... found record of different model".
- conversion errors are messages ``{"type": "error", "message", "rows": {"from", "to"}, "record", "field",
  "field_name", "moreinfo"?}``; "No matching record found for external id '%s' in field '%s'" for a dangling
  reference (the field's label); the record itself is still tried, so a required field left empty by it also
  gives "Missing required value for the field '%s' (%s)" (``convert_pgerror_not_null``); unique violations give
  "The value(s) for the field(s) '...' already exist(s) ..." (``convert_pgerror_unique``); a UserError gives its
  message.
- any error message: everything the call did is rolled back and ``ids`` is False; ``nextrow`` is 0.
"""

from __future__ import annotations

import re

from . import errors
from .orm import IntegrityViolation

TRUES = ("1", "true", "yes")
FALSES = ("0", "false", "no")


class ImportValueError(ValueError):
    """A conversion error: ``args[0]`` has ``%(field)s`` for the field label; ``args[1]`` extra message keys."""


def _fix_path(column: str) -> list[str]:
    fixed = re.sub(r"([^/])\.id", r"\1/.id", column)
    fixed = re.sub(r"([^/]):id", r"\1/id", fixed)
    return fixed.split("/")


def load(env, model_name: str, fields, data) -> dict:
    model = env.model(model_name)
    paths = [_fix_path(str(column)) for column in fields]
    for path in paths:
        if path[0] in ("id", ".id"):
            continue
        field = model.fields[path[0]]  # KeyError for an unknown column, as Odoo's load raises
        if field.type == "one2many" and len(path) > 1:
            raise NotImplementedError(f"the Odoo test server does not import one2many columns ({'/'.join(path)})")
    store = env.store
    start = store.mark()
    messages: list[dict] = []
    ids: list[int] = []
    for index, row in enumerate(data or []):
        info = {"rows": {"from": index, "to": index}, "record": index}
        xid, dbid, values = _convert(env, model, paths, list(row), info, messages)
        mark = store.mark()
        try:
            rid = _load_one(env, model, xid, dbid, values)
            if rid:
                ids.append(rid)
        except IntegrityViolation as exc:
            store.rollback_to(mark)
            messages.append({**info, "type": "error", **_pg_message(model, exc)})
        except errors.UserError as exc:
            store.rollback_to(mark)
            messages.append({**info, "type": "error", "message": exc.message})
        except (ValueError, TypeError, KeyError, AssertionError) as exc:
            store.rollback_to(mark)
            messages.append(
                {
                    **info,
                    "type": "error",
                    "message": f"Unknown error during import: {type(exc)}: {exc}",
                    "moreinfo": "Resolve other errors first",
                }
            )
    if any(message["type"] == "error" for message in messages):
        store.rollback_to(start)
        return {"ids": False, "messages": messages, "nextrow": 0}
    return {"ids": ids, "messages": messages, "nextrow": 0}


def _load_one(env, model, xid, dbid, values) -> int | None:
    store = env.store
    if xid:
        xmlid = xid if "." in xid else f"__import__.{xid}"
        module, _dot, name = xmlid.partition(".")
        found = store.xmlids.get((module, name))
        if found:
            d_model, d_res_id = found
            if d_model != model.name:
                raise errors.ValidationError(
                    f"For external id {xmlid} when trying to create/update a record of model {model.name} "
                    f"found record of different model {d_model} ({d_res_id})"
                )
            if store.get(model.name, d_res_id) is not None:
                env.write(model.name, [d_res_id], values)
                return d_res_id
            store.drop_xmlid(module, name)
        rid = env.create(model.name, [values])[0]
        store.set_xmlid(module, name, model.name, rid)
        return rid
    if dbid:
        env.write(model.name, [dbid], values)
        return dbid
    return env.create(model.name, [values])[0]


def _convert(env, model, paths, row, info, messages):
    xid = dbid = None
    values = {}
    for path, cell in zip(paths, row, strict=False):
        head = path[0]
        if head == "id":
            xid = str(cell) if cell else None
            continue
        if head == ".id":
            dbid = _db_id(env, model, cell, info, messages)
            continue
        field = model.fields[head]
        try:
            if not cell:
                values[head] = [(5,)] if field.type == "many2many" else False
            elif len(path) == 1:
                values[head], warnings = _scalar(env, model, field, cell)
                for warning in warnings:
                    messages.append(_log(info, "warning", field, ImportValueError(warning)))
            elif field.type in ("many2one", "many2many") and path[1] in ("id", ".id"):
                values[head] = _reference(env, field, path[1], cell)
            else:
                raise ImportValueError("Can not create Many-To-One records indirectly, import the field separately")
        except ImportValueError as exc:
            messages.append(_log(info, "error", field, exc))
    return xid, dbid, values


def _log(info, kind, field, exc) -> dict:
    """``_convert_records._log``: the technical name in ``field``, the label in the message and ``field_name``."""
    text = str(exc.args[0])
    message = {
        **info,
        "type": kind,
        "field": field.name,
        "message": text % {"field": field.string} if "%(field)s" in text else text,
    }
    if len(exc.args) > 1:
        extra = dict(exc.args[1]) if isinstance(exc.args[1], dict) else {}
        extra["field_name"] = field.string
        message.update(extra)
    return message


def _scalar(env, model, field, cell):
    kind = field.type
    if kind == "boolean":
        text = cell.lower()  # a non-text cell fails here, as in ir.fields.converter._str_to_boolean
        if text in TRUES:
            return True, []
        if text in FALSES:
            return False, []
        return True, [f"Unknown value '{cell}' for boolean field '%(field)s', assuming 'yes'"]
    if kind == "integer":
        try:
            return int(cell), []
        except (TypeError, ValueError):
            raise ImportValueError(f"'{cell}' does not seem to be an integer for field '%(field)s'") from None
    if kind in ("float", "monetary"):
        try:
            return float(cell), []
        except (TypeError, ValueError):
            raise ImportValueError(f"'{cell}' does not seem to be a number for field '%(field)s'") from None
    if kind == "selection":
        for key, label in field.selection:
            if str(cell).lower() in (str(key).lower(), label.lower()):
                return key, []
        raise ImportValueError(
            f"Value '{cell}' not found in selection field '%(field)s'",
            {"moreinfo": [label for _key, label in field.selection]},
        )
    if kind in ("date", "datetime"):
        try:
            return env.convert(model, field, cell), []
        except ValueError:
            what = "date" if kind == "date" else "datetime"
            raise ImportValueError(
                f"'{cell}' does not seem to be a valid {what} for field '%(field)s'",
                {"moreinfo": "Use the format '2012-12-31'"},
            ) from None
    if kind == "many2one":
        return _by_name(env, field, cell), []
    if kind == "many2many":
        return [(6, 0, [_by_name(env, field, name.strip()) for name in str(cell).split(",") if name.strip()])], []
    return cell, []


def _by_name(env, field, name):
    comodel = env.models[field.comodel]
    needle = str(name)
    for row in env.store.tables[field.comodel].values():
        if env.display_name(comodel.name, row) == needle and (not comodel.has_active or row.get("active")):
            return row["id"]
    raise ImportValueError(
        f"No matching record found for name '{name}' in field '%(field)s'", {"moreinfo": _possible_values(field)}
    )


def _reference(env, field, subfield, cell):
    refs = [part.strip() for part in str(cell).split(",")] if field.type == "many2many" else [str(cell)]
    ids = []
    for ref in refs:
        if not ref:
            continue
        if subfield == ".id":
            try:
                rid = int(ref)
            except ValueError:
                raise ImportValueError(
                    f"Invalid database id '{ref}' for the field '%(field)s'", {"moreinfo": _possible_values(field)}
                ) from None
            if env.store.get(field.comodel, rid) is None:
                raise ImportValueError(
                    f"No matching record found for database id '{ref}' in field '%(field)s'",
                    {"moreinfo": _possible_values(field)},
                )
            ids.append(rid)
            continue
        if ref.lower() in FALSES:  # _str_to_boolean(value) is falsy: an explicit "no reference"
            continue
        xmlid = ref if "." in ref else f"__import__.{ref}"
        found = env.store.xmlid_lookup(xmlid)
        if found and env.store.get(found[0], found[1]) is not None:
            if found[0] != field.comodel:
                raise ValueError(f"Invalid external ID {xmlid}: expected model {field.comodel!r}, found {found[0]!r}")
            ids.append(found[1])
            continue
        raise ImportValueError(
            f"No matching record found for external id '{ref}' in field '%(field)s'",
            {"moreinfo": _possible_values(field)},
        )
    if field.type == "many2many":
        return [(6, 0, ids)]
    return ids[0] if ids else False


def _db_id(env, model, cell, info, messages):
    if not cell:
        return None
    try:
        rid = int(cell)
    except (TypeError, ValueError):
        rid = None
    if rid is None or env.store.get(model.name, rid) is None:
        messages.append({**info, "type": "error", "field": ".id", "message": f"Unknown database identifier '{cell}'"})
        return None
    return rid


def _possible_values(field) -> dict:
    return {
        "name": "Possible Values",
        "type": "ir.actions.act_window",
        "target": "new",
        "view_mode": "list,form",
        "views": [[False, "list"], [False, "form"]],
        "context": {"create": False},
        "help": "See all possible values",
        "res_model": field.comodel,
        "domain": [],
    }


def _pg_message(model, exc: IntegrityViolation) -> dict:
    """``PGERROR_TO_OE`` in odoo/models.py."""
    if exc.kind == "not_null":
        if exc.model is not model:
            return {"message": f"Missing required value for the field '{exc.field}'"}
        field = model.fields[exc.field]
        return {"message": f"Missing required value for the field '{field.string}' ({exc.field})", "field": exc.field}
    if exc.kind == "unique" and exc.model is model and exc.columns:
        labels = [model.fields[c].string for c in exc.columns]
        if len(exc.columns) == 1:
            return {
                "message": f"The value for the field '{exc.columns[0]}' already exists (this is probably "
                f"'{labels[0]}' in the current model).",
                "field": exc.columns[0],
            }
        return {
            "message": f"The values for the fields '{', '.join(exc.columns)}' already exist (they are probably "
            f"'{', '.join(labels)}' in the current model).",
            "field": exc.columns[0],
        }
    if exc.kind == "check" and exc.model is model:
        return {"message": f"'{exc.text}'"}
    return {"message": str(exc)}
