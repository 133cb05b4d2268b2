"""The models and fields of each Odoo version (16-19), as ``fields_get`` would list them, with their rules.

Read in odoo/odoo through the code index (which holds one version of each file, noted below) and checked
against /work/shared/ODOO.md, which wins where they differ:

- ``addons/uom/models/uom_uom.py`` (a 16/17 copy, and 19/master copies): 16-18 ``uom.category`` and
  ``uom.uom`` (``category_id`` required, ondelete restrict; ``factor`` default 1; ``factor_inv`` computed, a
  create/write with ``factor_inv`` stores ``1/factor_inv``; ``rounding`` default 0.01; ``uom_type`` default
  'reference'; check constraints ``factor_gt_zero``, ``rounding_gt_zero``, ``factor_reference_is_one``; one
  reference unit per category, ``_check_category_reference_uniqueness``; ``_order = "factor DESC, id"``).
  19: no categories: ``relative_factor`` (required, default 1, ``CHECK (relative_factor!=0)``),
  ``relative_uom_id`` (ondelete cascade), ``factor`` stored, computed recursively (relative_factor x the
  reference's factor), ``rounding`` computed, ``related_uom_ids``, ``parent_path``, ``sequence``;
  ``_order = 'sequence, relative_uom_id, id'``.
- ``addons/product/models/product_supplierinfo.py`` (the master copy) and 16-18 copies found by
  ``related='product_tmpl_id.uom_po_id'``: no ``active`` field in any version (so ``action_archive`` fails its
  assertion and a load with an ``active`` column fails "Invalid field"); 16-18 ``product_uom`` = related
  ``product_tmpl_id.uom_po_id``, read-only and not stored: written values are ignored; 19 ``product_uom_id``
  stored, editable, required, defaulting to the template's ``uom_id`` (ODOO.md's name; the master copy calls
  it ``uom_id``); ``partner_id`` required, ondelete cascade; ``product_tmpl_id`` ondelete cascade (required
  in master); ``min_qty`` default 0 (1 in master); ``delay`` default 1; ``discount`` (ODOO.md: 17+);
  ``_sanitize_vals`` fills ``product_tmpl_id`` from ``product_id``.
- ``addons/product/models/product_product.py`` (17+ copies): barcodes unique among active variants through
  ``_check_barcode_uniqueness`` -> ValidationError "Barcode(s) already assigned:\n\n- Barcode "x" already
  assigned to product(s): ..." (within a company, with the access note), not a SQL constraint. The template
  fields follow ODOO.md's table (16/17 ``detailed_type`` consu/service/product driving the stored ``type``;
  18/19 ``type`` consu/service/combo and ``is_storable``; ``uom_id`` required with the Units default;
  ``uom_po_id`` required 16-18, following ``uom_id`` and checked by ``_check_uom``; ``categ_id`` required with
  the "All" default 16-18, optional in 19) and Odoo's ``product_template.py`` as remembered, not re-read here.
- ``res.partner`` / ``res.partner.bank``: ODOO.md's fields; ``check_name`` ("Contacts require a name"),
  ``unique(sanitized_acc_number, partner_id)`` "The combination Account Number/Partner must be unique." and
  ``sanitized_acc_number = re.sub(r'\\W+', '', acc_number).upper()`` are from ``res_partner.py``/``res_bank.py``
  as remembered, not re-read here.
"""

from __future__ import annotations

import re

from . import errors
from .fields import Field, Model, SqlConstraint


def char(name, string="", **kw):
    return Field(name, "char", string, **kw)


def boolean(name, string="", **kw):
    return Field(name, "boolean", string, **kw)


def integer(name, string="", **kw):
    return Field(name, "integer", string, **kw)


def floating(name, string="", **kw):
    return Field(name, "float", string, **kw)


def m2o(name, comodel, string="", **kw):
    return Field(name, "many2one", string, comodel=comodel, **kw)


def o2m(name, comodel, inverse, string="", **kw):
    return Field(name, "one2many", string, comodel=comodel, inverse_name=inverse, **kw)


def selection(name, options, string="", **kw):
    return Field(name, "selection", string, selection=tuple(options), **kw)


def new_model(name, description, *fields, **kw) -> Model:
    model = Model(name, description, **kw)
    model.add(
        integer("id", "ID", readonly=True),
        Field("create_date", "datetime", "Created on", readonly=True),
        Field("write_date", "datetime", "Last Updated on", readonly=True),
        m2o("create_uid", "res.users", "Created by", readonly=True),
        m2o("write_uid", "res.users", "Last Updated by", readonly=True),
        char("display_name", "Display Name", compute=lambda env, row, n=name: env.display_name(n, row)),
    )
    model.add(*fields)
    return model


def _ref(xmlid):
    def default(env):
        found = env.store.xmlid_lookup(xmlid)
        return found[1] if found else False

    return default


def _company_currency(env):
    company = env.store.get("res.company", 1)
    return company["currency_id"] if company else False


def _related(model_field, target_model, target_field):
    """A non-stored related field: ``model_field.target_field`` read from the target row."""

    def compute(env, row):
        target = row.get(model_field)
        if not target:
            return False
        target_row = env.store.get(target_model, target)
        return target_row.get(target_field, False) if target_row else False

    return compute


# -- base ------------------------------------------------------------------------------------------------------------
def base_models(version: int) -> list[Model]:
    partner = new_model(
        "res.partner",
        "Contact",
        char("name", "Name"),
        char("complete_name", "Complete Name", compute=lambda env, row: env.display_name("res.partner", row)),
        boolean("is_company", "Is a Company", default=False),
        selection(
            "company_type",
            [("person", "Individual"), ("company", "Company")],
            "Company Type",
            compute=lambda env, row: "company" if row.get("is_company") else "person",
        ),
        selection(
            "type",
            [
                ("contact", "Contact"),
                ("invoice", "Invoice Address"),
                ("delivery", "Delivery Address"),
                ("other", "Other Address"),
            ],
            "Address Type",
            default="contact",
        ),
        m2o("parent_id", "res.partner", "Related Company"),
        o2m("child_ids", "res.partner", "parent_id", "Contact"),
        char("ref", "Reference"),
        char("vat", "Tax ID"),
        char("company_registry", "Company ID"),
        char("email", "Email"),
        char("phone", "Phone"),
        char("website", "Website Link"),
        char("street", "Street"),
        char("street2", "Street2"),
        char("city", "City"),
        char("zip", "Zip"),
        m2o("country_id", "res.country", "Country", ondelete="restrict"),
        o2m("bank_ids", "res.partner.bank", "partner_id", "Banks"),
        m2o("company_id", "res.company", "Company"),
        boolean("active", "Active", default=True),
        integer("supplier_rank", "Supplier Rank", default=0),
        integer("customer_rank", "Customer Rank", default=0),
        Field("comment", "html", "Notes"),
        order="complete_name ASC, id DESC",
        display_name=_partner_display_name,
    )
    if version < 19:
        partner.add(char("mobile", "Mobile"))
    partner.constraints.append(
        SqlConstraint(
            "check_name",
            "check",
            "Contacts require a name",
            check=lambda row: row.get("type") != "contact" or bool(row.get("name")),
        )
    )
    bank = new_model(
        "res.partner.bank",
        "Bank Accounts",
        char("acc_number", "Account Number", required=True),
        char("sanitized_acc_number", "Sanitized Account Number", readonly=True),
        char("acc_holder_name", "Account Holder Name"),
        m2o("partner_id", "res.partner", "Account Holder", required=True, ondelete="cascade"),
        m2o("bank_id", "res.bank", "Bank"),
        char("bank_name", "Name", compute=_related("bank_id", "res.bank", "name")),
        m2o("currency_id", "res.currency", "Currency"),
        m2o("company_id", "res.company", "Company"),
        boolean("active", "Active", default=True),
        boolean("allow_out_payment", "Send Money", default=False),
        order="id",
        rec_name="acc_number",
        prepare_create=_sanitize_acc_number,
        prepare_write=lambda env, ids, vals: _sanitize_acc_number(env, vals),
    )
    bank.constraints.append(
        SqlConstraint(
            "unique_number",
            "unique",
            "The combination Account Number/Partner must be unique.",
            columns=("sanitized_acc_number", "partner_id"),
            key=lambda row: (
                (row["sanitized_acc_number"], row["partner_id"])
                if row.get("sanitized_acc_number") and row.get("partner_id")
                else None
            ),
        )
    )
    return [
        partner,
        bank,
        new_model(
            "res.bank",
            "Bank",
            char("name", "Name", required=True),
            char("bic", "Bank Identifier Code"),
            m2o("country", "res.country", "Country"),
            boolean("active", "Active", default=True),
            order="name",
        ),
        new_model(
            "res.country",
            "Country",
            char("name", "Country Name", required=True),
            char("code", "Country Code"),
            m2o("currency_id", "res.currency", "Currency"),
            integer("phone_code", "Country Calling Code"),
            order="name",
        ),
        new_model(
            "res.currency",
            "Currency",
            char("name", "Currency", required=True),
            char("symbol", "Symbol"),
            floating("rounding", "Rounding Factor", default=0.01),
            boolean("active", "Active", default=True),
            order="active desc, name",
        ),
        new_model(
            "res.company",
            "Companies",
            char("name", "Company Name", required=True),
            m2o("partner_id", "res.partner", "Partner", required=True),
            m2o("currency_id", "res.currency", "Currency", required=True),
            m2o("country_id", "res.country", "Country"),
            order="name",
        ),
        new_model(
            "res.users",
            "User",
            char("login", "Login", required=True),
            char("name", "Name"),
            m2o("partner_id", "res.partner", "Related Partner", required=True, ondelete="restrict"),
            m2o("company_id", "res.company", "Company"),
            boolean("active", "Active", default=True),
            order="name, login",
        ),
        new_model(
            "ir.model.data",
            "Model Data",
            char("name", "External Identifier", required=True),
            char("module", "Module", required=True),
            char("model", "Model Name", required=True),
            integer("res_id", "Record ID"),
            char("complete_name", "Complete ID"),
            rpc_private=True,
            order="module, model, name",
        ),
    ]


def _partner_display_name(env, row):
    name = row.get("name") or ""
    parent = row.get("parent_id")
    if parent and not row.get("is_company"):
        parent_row = env.store.get("res.partner", parent)
        if parent_row:
            return f"{parent_row.get('name') or ''}, {name}"
    return name


def _sanitize_acc_number(env, vals):
    if "acc_number" in vals:
        number = vals["acc_number"]
        vals["sanitized_acc_number"] = re.sub(r"\W+", "", str(number)).upper() if number else False


# -- units -----------------------------------------------------------------------------------------------------------
def uom_models(version: int) -> list[Model]:
    if version >= 19:
        uom = new_model(
            "uom.uom",
            "Product Unit of Measure",
            char("name", "Unit Name", required=True),
            integer("sequence", "Sequence", default=10),
            floating("relative_factor", "Contains", required=True, default=1.0),
            floating("rounding", "Rounding Precision", compute=lambda env, row: 0.01),
            boolean("active", "Active", default=True),
            m2o("relative_uom_id", "uom.uom", "Reference Unit", ondelete="cascade"),
            o2m("related_uom_ids", "uom.uom", "relative_uom_id", "Related UoMs"),
            floating("factor", "Absolute Quantity", readonly=True),
            char("parent_path", "Parent Path", readonly=True),
            order="sequence, relative_uom_id, id",
            after_create=lambda env, ids, vals_list: _uom19_recompute(env, ids, vals_list),
            after_write=lambda env, ids, vals: _uom19_recompute(env, ids, [vals] * len(ids)),
        )
        uom.constraints.append(
            SqlConstraint(
                "_factor_gt_zero",
                "check",
                "The conversion ratio for a unit of measure cannot be 0!",
                check=lambda row: row.get("relative_factor") != 0,
            )
        )
        return [uom]
    category = new_model(
        "uom.category",
        "Product UoM Categories",
        char("name", "Unit of Measure Category", required=True),
        o2m("uom_ids", "uom.uom", "category_id"),
        order="id",
    )
    uom = new_model(
        "uom.uom",
        "Product Unit of Measure",
        char("name", "Unit of Measure", required=True),
        m2o("category_id", "uom.category", "Category", required=True, ondelete="restrict"),
        floating("factor", "Ratio", required=True, default=1.0),
        floating(
            "factor_inv",
            "Bigger Ratio",
            compute=lambda env, row: 1.0 / row["factor"] if row.get("factor") else 0.0,
            writable_compute=True,
        ),
        floating("rounding", "Rounding Precision", required=True, default=0.01),
        boolean("active", "Active", default=True),
        selection(
            "uom_type",
            [
                ("bigger", "Bigger than the reference Unit of Measure"),
                ("reference", "Reference Unit of Measure for this category"),
                ("smaller", "Smaller than the reference Unit of Measure"),
            ],
            "Type",
            required=True,
            default="reference",
        ),
        floating("ratio", "Combined Ratio", compute=_uom_ratio, writable_compute=True),
        order="factor DESC, id",
        prepare_create=lambda env, vals: _uom_inverse(env, None, vals),
        prepare_write=lambda env, ids, vals: _uom_inverse(env, ids, vals),
        python_constraints=[_uom_reference_unique],
    )
    uom.constraints += [
        SqlConstraint(
            "factor_gt_zero",
            "check",
            "The conversion ratio for a unit of measure cannot be 0!",
            check=lambda row: row.get("factor") != 0,
        ),
        SqlConstraint(
            "rounding_gt_zero",
            "check",
            "The rounding precision must be strictly positive.",
            check=lambda row: (row.get("rounding") or 0) > 0,
        ),
        SqlConstraint(
            "factor_reference_is_one",
            "check",
            "The reference unit must have a conversion factor equal to 1.",
            check=lambda row: row.get("uom_type") != "reference" or row.get("factor") == 1.0,
        ),
    ]
    return [category, uom]


def _uom_ratio(env, row):
    if row.get("uom_type") == "reference":
        return 1.0
    if row.get("uom_type") == "bigger":
        return 1.0 / row["factor"] if row.get("factor") else 0.0
    return row.get("factor") or 0.0


def _uom_inverse(env, ids, vals):
    """``factor_inv`` and ``ratio`` are computed fields whose writes land on ``factor`` (uom_uom.py create/write
    and ``_set_ratio``)."""
    if "factor_inv" in vals:
        factor_inv = vals.pop("factor_inv")
        vals["factor"] = (1.0 / float(factor_inv)) if factor_inv else 0.0
    if "ratio" in vals:
        ratio = float(vals.pop("ratio") or 0.0)
        if ratio == 0:
            raise errors.ValidationError("The value of ratio could not be Zero")
        uom_type = vals.get("uom_type")
        if uom_type is None and ids:
            uom_type = env.store.get("uom.uom", ids[0]).get("uom_type")
        uom_type = uom_type or "reference"
        vals["factor"] = 1.0 if uom_type == "reference" else (1.0 / ratio if uom_type == "bigger" else ratio)


def _uom_reference_unique(env, ids, fnames):
    if fnames is not None and (
        ("uom_type" in fnames and env.store.get("uom.uom", ids[0]).get("uom_type") == "reference")
        or env.context.get("allow_to_change_reference")
    ):
        return
    categories = {env.store.get("uom.uom", i)["category_id"] for i in ids if env.store.get("uom.uom", i)}
    for category in sorted(c for c in categories if c):
        members = [env.store.get("uom.uom", i) for i in env.store.lookup("uom.uom", "m2o:category_id", category)]
        references = sum(1 for m in members if m.get("uom_type") == "reference")
        name = env.store.get("uom.category", category)["name"]
        if references > 1:
            raise errors.ValidationError(f"UoM category {name} should only have one reference unit of measure.")
        if references == 0 and members:
            raise errors.ValidationError(f"UoM category {name} should have a reference unit of measure.")


def _uom19_recompute(env, ids, vals_list):
    """19's stored ``factor``: relative_factor x the reference unit's factor, recomputed down the tree; a factor
    written explicitly is kept (Odoo protects fields being written from recomputation)."""
    store = env.store
    explicit = {rid for rid, vals in zip(ids, vals_list, strict=False) if "factor" in (vals or {})}
    todo = list(ids)
    seen = set()
    while todo:
        rid = todo.pop(0)
        row = store.get("uom.uom", rid)
        if row is None:
            continue
        chain, parent = {rid}, row.get("relative_uom_id")
        path = [rid]
        while parent:
            if parent in chain:
                raise errors.ValidationError("Recursion Detected.")
            chain.add(parent)
            path.append(parent)
            parent_row = store.get("uom.uom", parent)
            parent = parent_row.get("relative_uom_id") if parent_row else False
        parent_row = store.get("uom.uom", row["relative_uom_id"]) if row.get("relative_uom_id") else None
        factor = (
            row["factor"]
            if rid in explicit and rid not in seen
            else ((row.get("relative_factor") or 0.0) * (parent_row["factor"] if parent_row else 1.0))
        )
        parent_path = "/".join(str(i) for i in reversed(path)) + "/"
        if row.get("factor") != factor or row.get("parent_path") != parent_path:
            store.put("uom.uom", rid, {**row, "factor": factor, "parent_path": parent_path})
        seen.add(rid)
        todo.extend(sorted(store.lookup("uom.uom", "m2o:relative_uom_id", rid)))
