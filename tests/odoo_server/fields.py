"""Field and model descriptions: just enough of Odoo's ORM metadata to behave like it over RPC.

A field is stored (a column in the row dict), or computed on read (``compute``: non-stored computed and
related fields such as 16-18's ``product.supplierinfo.product_uom``). Many2one fields keep the comodel id or
False; one2many fields are never stored: they are read through the inverse many2one's index, as Odoo reads
them with a query on the comodel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RELATIONAL = ("many2one", "one2many", "many2many")


@dataclass
class Field:
    name: str
    type: str
    string: str = ""
    required: bool = False
    readonly: bool = False
    comodel: str | None = None
    inverse_name: str | None = None  # one2many: the comodel's many2one back to us
    selection: tuple[tuple[str, str], ...] = ()
    default: Any = None  # a value, or a callable(env) -> value
    ondelete: str | None = None  # many2one: "cascade", "restrict" or "set null"
    store: bool = True
    compute: Callable | None = None  # non-stored: compute(env, row) -> value
    writable_compute: bool = False  # a non-stored field with an inverse handled by the model's hooks

    def __post_init__(self):
        if not self.string:
            self.string = self.name.replace("_id", "").replace("_", " ").title()
        if self.type == "many2one" and self.ondelete is None:
            # odoo/fields.py Many2one.setup: a required many2one defaults to ondelete='restrict'
            self.ondelete = "restrict" if self.required else "set null"
        if self.type == "one2many" or self.compute is not None:
            self.store = False

    @property
    def relational(self) -> bool:
        return self.type in RELATIONAL

    def empty(self):
        return [] if self.type in ("one2many", "many2many") else False

    def describe(self) -> dict:
        """The ``fields_get`` description (a subset of Odoo's attributes)."""
        info = {
            "type": self.type,
            "string": self.string,
            "required": self.required,
            "readonly": self.readonly or (self.compute is not None and not self.writable_compute),
            "store": self.store,
            "searchable": self.store or self.type == "one2many",
            "sortable": self.store,
        }
        if self.comodel:
            info["relation"] = self.comodel
        if self.inverse_name:
            info["relation_field"] = self.inverse_name
        if self.type == "selection":
            info["selection"] = [list(option) for option in self.selection]
        return info


@dataclass
class SqlConstraint:
    """A unique or check constraint enforced as PostgreSQL would (``_sql_constraints``/``models.Constraint``)."""

    name: str  # the constraint name without the table prefix, e.g. "unique_number"
    kind: str  # "unique" or "check"
    message: str
    columns: tuple[str, ...] = ()
    key: Callable | None = None  # unique: row -> hashable key, or None when a column is NULL (no conflict)
    check: Callable | None = None  # check: row -> bool


@dataclass
class Model:
    name: str
    description: str
    fields: dict[str, Field] = field(default_factory=dict)
    order: str = "id"
    rec_name: str = "name"
    constraints: list[SqlConstraint] = field(default_factory=list)
    display_name: Callable | None = None  # (env, row) -> str
    # hooks, each optional: see models.py
    prepare_create: Callable | None = None  # (env, vals) -> None, mutates vals before defaults are checked
    prepare_write: Callable | None = None  # (env, ids, vals) -> None
    after_create: Callable | None = None  # (env, ids, vals_list)
    after_write: Callable | None = None  # (env, ids, vals)
    python_constraints: list[Callable] = field(default_factory=list)  # (env, ids, fnames) raising ValidationError
    before_unlink: Callable | None = None  # (env, ids)
    rpc_private: bool = False  # ir.model.data: only check_object_reference is open to the integration user
    indexes: dict[str, Callable] = field(default_factory=dict)  # extra lookups: name -> row -> key or None

    @property
    def table(self) -> str:
        return self.name.replace(".", "_")

    @property
    def has_active(self) -> bool:
        return "active" in self.fields

    def add(self, *fields: Field) -> Model:
        for f in fields:
            self.fields[f.name] = f
        return self
