"""Search domains and ``order`` specs, evaluated in Python with PostgreSQL's semantics as Odoo generates them.

Checked against ``odoo/osv/expression.py`` (16-18; ``odoo/orm/domains.py`` in 19): prefix operators ``&``
(implicit between leaves), ``|`` and ``!``; TRUE/FALSE leaves ``(1, '=', 1)`` / ``(0, '=', 1)``; negative
operators (``!=``, ``not in``, ``not like``, ``not ilike``) also match NULL; ``like``/``ilike`` wrap the value in
``%``, ``=like``/``=ilike`` take it as an SQL pattern; ``=``/``!=`` with ``False`` test for NULL (and for ''
on text fields); a comparison with NULL is false; a string compared with a many2one searches the comodel's
display name (``name_search``); dotted paths follow many2one and x2many fields (any match).
``active_test``: a model with ``active`` gets ``('active', '=', True)`` unless the context says
``active_test: False`` or a leaf already names ``active`` (``BaseModel._where_calc``).
Order: ASC puts NULLs last and DESC first, PostgreSQL's default.
"""

from __future__ import annotations

import re

TERM_OPERATORS = (
    "=",
    "!=",
    "<=",
    "<",
    ">",
    ">=",
    "=?",
    "=like",
    "=ilike",
    "like",
    "not like",
    "ilike",
    "not ilike",
    "in",
    "not in",
)
TEXT_TYPES = ("char", "text", "html", "selection")
_ORDER_RE = re.compile(r"^\s*([a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)?)(\s+(asc|desc))?(\s+nulls\s+(first|last))?\s*$", re.I)


def normalize(domain) -> list:
    """Prefix-notation domain with the implicit ``&`` made explicit."""
    domain = list(domain or [])
    if not domain:
        return []
    result = []
    expected = 1
    for token in domain:
        if expected == 0:  # more leaves than operators: implicit '&'
            result.insert(0, "&")
            expected = 1
        if isinstance(token, list | tuple) and not isinstance(token, str):
            result.append(tuple(token))
            expected -= 1
        elif token in ("&", "|"):
            result.append(token)
            expected += 1
        elif token == "!":
            result.append(token)
        else:
            raise ValueError(f"Invalid domain term {token!r}")
    if expected != 0:
        raise ValueError(f"Invalid domain {domain!r}")
    return result


def mentions(domain: list, fname: str) -> bool:
    return any(isinstance(t, tuple) and len(t) == 3 and t[0] == fname for t in domain)


class Evaluator:
    """``matcher(domain)`` -> a function row -> bool, for one model in one environment."""

    def __init__(self, env, model_name: str):
        self.env = env
        self.model_name = model_name
        self.model = env.models[model_name]

    def matcher(self, domain):
        tree = normalize(domain)
        if not tree:
            return lambda row: True
        for token in tree:
            if isinstance(token, tuple):
                self._check_leaf(token)
        pos = 0

        def build():
            nonlocal pos
            token = tree[pos]
            pos += 1
            if token == "!":
                inner = build()
                return lambda row: not inner(row)
            if token in ("&", "|"):
                left = build()
                right = build()
                if token == "&":
                    return lambda row: left(row) and right(row)
                return lambda row: left(row) or right(row)
            return self._leaf(token)

        return build()

    def _check_leaf(self, leaf):
        if len(leaf) != 3:
            raise ValueError(f"Invalid leaf {leaf!r}")
        path, op, _value = leaf
        if leaf in ((1, "=", 1), (0, "=", 1)):
            return
        if op not in TERM_OPERATORS and op not in ("child_of", "parent_of", "any", "not any"):
            raise ValueError(f"Invalid leaf {leaf!r}")
        if op in ("child_of", "parent_of", "any", "not any"):
            raise NotImplementedError(f"the Odoo test server does not evaluate {op!r} ({leaf!r})")
        model = self.model
        for part in str(path).split("."):
            f = model.fields.get(part)
            if f is None:
                raise ValueError(f"Invalid field {model.name}.{part} in leaf {leaf!r}")
            if f.comodel:
                model = self.env.models[f.comodel]

    def _leaf(self, leaf):
        if leaf == (1, "=", 1):
            return lambda row: True
        if leaf == (0, "=", 1):
            return lambda row: False
        path, op, value = leaf
        parts = str(path).split(".")
        if op == "=?":
            if value is None or value is False:
                return lambda row: True
            op = "="
        test = self._test(parts, op, value)
        return test

    def _test(self, parts, op, value):
        env = self.env
        model = self.model
        fname = parts[0]
        f = model.fields[fname]
        rest = parts[1:]
        if rest:  # follow the relation: true when any related record matches the rest of the path
            sub = Evaluator(env, f.comodel)._test(rest, op, value)
            store = env.store

            def follow(row):
                targets = env.relation_ids(model.name, row, fname)
                if not targets:
                    return op in ("!=", "not in", "not like", "not ilike") or (op == "=" and value in (False, None))
                table = store.tables[f.comodel]
                return any(sub(table[t]) for t in targets if t in table)

            return follow
        if f.type in ("one2many", "many2many"):
            return self._x2many_test(fname, f, op, value)
        if f.type == "many2one" and isinstance(value, str) and op not in ("in", "not in"):
            names = Evaluator(env, f.comodel)
            comodel = env.models[f.comodel]
            name_op = op if op != "!=" else "="
            name_test = names._scalar_test(
                comodel.rec_name if comodel.rec_name in comodel.fields else "id", "char", name_op, value, display=True
            )
            table = env.store.tables[f.comodel]

            def by_name(row):
                target = row.get(fname)
                hit = bool(target) and target in table and name_test(table[target])
                return (not hit) if op in ("!=",) else hit

            return by_name
        return self._scalar_test(fname, f.type, op, value)

    def _x2many_test(self, fname, f, op, value):
        env = self.env
        model_name = self.model.name
        if isinstance(value, str):
            comodel = env.models[f.comodel]
            name_test = Evaluator(env, f.comodel)._scalar_test(
                comodel.rec_name, "char", _positive(op), value, display=True
            )
            table = env.store.tables[f.comodel]

            def by_name(row):
                hit = any(name_test(table[t]) for t in env.relation_ids(model_name, row, fname) if t in table)
                return (not hit) if _negative(op) else hit

            return by_name
        wanted = set(_as_list(value))
        wanted.discard(False)
        wanted.discard(None)

        def test(row):
            ids = set(env.relation_ids(model_name, row, fname))
            if value in (False, None, []) and op in ("=", "in"):
                return not ids
            if value in (False, None, []) and op in ("!=", "not in"):
                return bool(ids)
            hit = bool(ids & wanted)
            return (not hit) if _negative(op) else hit

        return test

    def _scalar_test(self, fname, ftype, op, value, display=False):
        env = self.env
        model_name = self.model.name
        if display:

            def get(row):
                return env.display_name(model_name, row)

        elif fname == "id":

            def get(row):
                return row["id"]

        else:
            field = self.model.fields[fname]
            if field.compute is not None:

                def get(row):
                    return field.compute(env, row)

            else:

                def get(row):
                    return row.get(fname)

        is_text = ftype in TEXT_TYPES

        def is_null(v):
            return v is None or v is False or (is_text and v == "")

        if op in ("=", "!="):
            if value is False or value is None:

                def positive(row):
                    return not get(row) if ftype == "boolean" else is_null(get(row))

                return positive if op == "=" else (lambda row: not positive(row))
            target = _coerce(ftype, value)
            if op == "=":
                return lambda row: _eq(get(row), target, ftype)
            return lambda row: not _eq(get(row), target, ftype)
        if op in ("in", "not in"):
            values = _as_list(value)
            with_null = any(v is False or v is None for v in values)
            targets = [_coerce(ftype, v) for v in values if v is not False and v is not None]

            def member(row):
                v = get(row)
                if v is None or v is False:
                    return with_null if ftype != "boolean" else (with_null or False in targets)
                return any(_eq(v, t, ftype) for t in targets)

            return member if op == "in" else (lambda row: not member(row))
        if op in ("<", "<=", ">", ">="):
            target = _coerce(ftype, value)

            def compare(row):
                v = get(row)
                if v is None or (v is False and ftype != "boolean") or target is None or target is False:
                    return False
                try:
                    if op == "<":
                        return v < target
                    if op == "<=":
                        return v <= target
                    if op == ">":
                        return v > target
                    return v >= target
                except TypeError:
                    return False

            return compare
        # like family
        if value is False or value is None:
            raise ValueError(f"Invalid value {value!r} for operator {op!r}")
        text = str(value)
        if op in ("=like", "=ilike"):
            regex = re.compile(_like_to_regex(text), re.S | (re.I if op == "=ilike" else 0))
        else:
            regex = re.compile(".*" + _like_to_regex(_escape_like(text)) + ".*", re.S | (re.I if "ilike" in op else 0))
        negative = op.startswith("not")

        def like(row):
            v = get(row)
            if v is None or v is False:
                return negative
            hit = regex.fullmatch(str(v)) is not None
            return (not hit) if negative else hit

        return like


def _positive(op):
    return {"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike"}.get(op, op)


def _negative(op):
    return op in ("!=", "not in", "not like", "not ilike")


def _as_list(value):
    if isinstance(value, list | tuple | set):
        return list(value)
    return [value]


def _coerce(ftype, value):
    if ftype in ("float", "monetary") and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if ftype == "many2one" and isinstance(value, list | tuple):
        return value[0] if value else False
    return value


def _eq(v, target, ftype):
    if ftype == "boolean":
        return bool(v) == bool(target)
    if ftype in ("float", "monetary") and isinstance(v, int | float) and isinstance(target, int | float):
        return abs(float(v) - float(target)) < 1e-9
    return v == target


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_to_regex(pattern):
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def parse_order(model, order: str | None) -> list[tuple[str, bool, str | None]]:
    """``"write_date asc, id"`` -> [(field, descending, nulls)]; unknown fields raise like Odoo's ``_order_to_sql``."""
    spec = order or model.order
    result = []
    for part in spec.split(","):
        if not part.strip():
            continue
        match = _ORDER_RE.match(part)
        if not match:
            raise ValueError(
                f'Invalid "order" specified ({spec}). A valid "order" specification is a comma-separated'
                " list of valid field names (optionally followed by asc/desc for the direction)"
            )
        fname = match.group(1).split(".")[0]
        if fname != "id" and fname not in model.fields:
            raise ValueError(f"Invalid field {fname!r} on model {model.name!r}")
        descending = (match.group(4) or "asc").lower() == "desc"
        nulls = (match.group(6) or "").lower() or None
        result.append((fname, descending, nulls))
    if not any(fname == "id" for fname, _d, _n in result):
        result.append(("id", False, None))
    return result


def sort_rows(env, model, rows: list[dict], order: str | None) -> list[dict]:
    keys = parse_order(model, order)
    rows = list(rows)
    for fname, descending, nulls in reversed(keys):
        f = model.fields.get(fname)
        nulls_first = (nulls == "first") if nulls else descending

        def key(row, fname=fname, f=f):
            if fname == "id":
                return (0, row["id"])
            if f.type == "many2one":
                target = row.get(fname)
                if not target:
                    return (1, "")
                target_row = env.store.get(f.comodel, target)
                return (0, env.display_name(f.comodel, target_row).lower() if target_row else "")
            value = f.compute(env, row) if f.compute else row.get(fname)
            if value is None or (value is False and f.type != "boolean"):
                return (1, 0)
            if isinstance(value, str):
                return (0, value.lower())
            return (0, value)

        # PostgreSQL puts NULLs last ascending and first descending; with reverse=True, (1, ...) comes first.
        if nulls_first == descending:
            rows.sort(key=key, reverse=descending)
        else:
            rows.sort(key=lambda row, key=key: (1 - key(row)[0], key(row)[1]), reverse=descending)
    return rows
