"""Products per version: categories, templates with their one variant, vendor prices (see models.py for what
was checked in Odoo's source)."""

from __future__ import annotations

from . import errors
from .fields import Field, Model
from .models import (
    _company_currency,
    _ref,
    _related,
    base_models,
    boolean,
    char,
    floating,
    integer,
    m2o,
    new_model,
    o2m,
    selection,
    uom_models,
)


def build_models(version: int) -> dict[str, Model]:
    models = [*base_models(version), *uom_models(version), *product_models(version)]
    return {model.name: model for model in models}


def product_models(version: int) -> list[Model]:
    category = new_model(
        "product.category",
        "Product Category",
        char("name", "Name", required=True),
        m2o("parent_id", "product.category", "Parent Category", ondelete="cascade"),
        o2m("child_id", "product.category", "parent_id", "Child Categories"),
        char("complete_name", "Complete Name", compute=_category_complete_name),
        order="complete_name",
        display_name=_category_complete_name,
    )
    template = new_model(
        "product.template",
        "Product",
        char("name", "Name", required=True),
        char("default_code", "Internal Reference"),
        char("barcode", "Barcode"),
        Field("description", "html", "Description"),
        char("description_purchase", "Purchase Description"),
        floating("list_price", "Sales Price", default=1.0),
        floating("standard_price", "Cost", default=0.0),
        boolean("sale_ok", "Can be Sold", default=True),
        boolean("purchase_ok", "Can be Purchased", default=True),
        boolean("active", "Active", default=True),
        m2o(
            "uom_id",
            "uom.uom",
            "Unit of Measure" if version < 19 else "Unit",
            required=True,
            default=_ref("uom.product_uom_unit"),
        ),
        m2o("company_id", "res.company", "Company"),
        o2m("seller_ids", "product.supplierinfo", "product_tmpl_id", "Vendors"),
        o2m("product_variant_ids", "product.product", "product_tmpl_id", "Products"),
        m2o(
            "product_variant_id",
            "product.product",
            "Product",
            compute=lambda env, row: min(
                env.store.lookup("product.product", "m2o:product_tmpl_id", row["id"]), default=False
            ),
        ),
        order="name, id",
        display_name=_product_display_name,
        prepare_create=lambda env, vals: _template_prepare(env, None, vals),
        prepare_write=lambda env, ids, vals: _template_prepare(env, ids, vals),
        after_create=_template_after_create,
        after_write=_template_after_write,
        python_constraints=[_check_barcode_uniqueness],
        indexes={"barcode": lambda row: row.get("barcode") or None},
    )
    if version < 19:
        template.add(
            m2o(
                "categ_id",
                "product.category",
                "Product Category",
                required=True,
                default=_ref("product.product_category_all"),
            ),
            m2o(
                "uom_po_id",
                "uom.uom",
                "Purchase Unit of Measure" if version < 18 else "Purchase Unit",
                required=True,
                default=_ref("uom.product_uom_unit"),
            ),
        )
        template.python_constraints.append(_check_uom)
    else:
        template.add(
            m2o("categ_id", "product.category", "Product Category"),
            Field("uom_ids", "many2many", "Packagings", comodel="uom.uom"),
        )
    if version < 18:
        kinds = [("consu", "Consumable"), ("service", "Service"), ("product", "Storable Product")]
        template.add(
            selection("detailed_type", kinds, "Product Type", required=True, default="consu"),
            selection("type", kinds, "Type", default="consu"),
        )
    else:
        template.add(
            selection(
                "type",
                [("consu", "Goods"), ("service", "Service"), ("combo", "Combo")],
                "Product Type",
                required=True,
                default="consu",
            ),
            boolean("is_storable", "Track Inventory", default=False),
        )
    variant = new_model(
        "product.product",
        "Product Variant",
        m2o("product_tmpl_id", "product.template", "Product Template", required=True, ondelete="cascade"),
        char("name", "Name", compute=_related("product_tmpl_id", "product.template", "name")),
        char("default_code", "Internal Reference"),
        char("barcode", "Barcode"),
        boolean("active", "Active", default=True),
        m2o("uom_id", "uom.uom", "Unit of Measure", compute=_related("product_tmpl_id", "product.template", "uom_id")),
        order="default_code, name, id",
        display_name=_product_display_name,
    )
    supplierinfo = new_model(
        "product.supplierinfo",
        "Supplier Pricelist",
        m2o("partner_id", "res.partner", "Vendor", required=True, ondelete="cascade"),
        char("product_name", "Vendor Product Name"),
        char("product_code", "Vendor Product Code"),
        integer("sequence", "Sequence", default=1),
        floating("min_qty", "Quantity", required=True, default=1.0 if version >= 19 else 0.0),
        floating("price", "Price" if version < 19 else "Unit Price", required=True, default=0.0),
        m2o("company_id", "res.company", "Company", default=lambda env: 1),
        m2o("currency_id", "res.currency", "Currency", required=True, default=_company_currency),
        Field("date_start", "date", "Start Date"),
        Field("date_end", "date", "End Date"),
        m2o("product_id", "product.product", "Product Variant"),
        m2o("product_tmpl_id", "product.template", "Product Template", ondelete="cascade", required=version >= 19),
        integer("delay", "Delivery Lead Time" if version < 19 else "Lead Time", required=True, default=1),
        order="sequence, min_qty desc, price, id",
        rec_name="partner_id",
        display_name=lambda env, row: (
            env.display_name("res.partner", env.store.get("res.partner", row["partner_id"]))
            if row.get("partner_id")
            else ""
        ),
        prepare_create=lambda env, vals: _supplierinfo_prepare(env, vals),
        prepare_write=lambda env, ids, vals: _supplierinfo_prepare(env, vals, creating=False),
    )
    if version >= 17:
        supplierinfo.add(floating("discount", "Discount (%)", default=0.0))
    if version < 19:
        # related='product_tmpl_id.uom_po_id': read-only, not stored; a written value is only cached, i.e. lost
        supplierinfo.add(
            m2o(
                "product_uom",
                "uom.uom",
                "Unit of Measure",
                compute=_related("product_tmpl_id", "product.template", "uom_po_id"),
            )
        )
    else:
        supplierinfo.add(m2o("product_uom_id", "uom.uom", "Unit", required=True))
    return [category, template, variant, supplierinfo]


def _category_complete_name(env, row):
    names = []
    seen = set()
    while row is not None and row["id"] not in seen:
        seen.add(row["id"])
        names.append(row.get("name") or "")
        row = env.store.get("product.category", row["parent_id"]) if row.get("parent_id") else None
    return " / ".join(reversed(names))


def _product_display_name(env, row):
    name = row.get("name")
    if name is None and row.get("product_tmpl_id"):  # a variant: the template's name
        template = env.store.get("product.template", row["product_tmpl_id"])
        name = template.get("name") if template else ""
    code = row.get("default_code")
    return f"[{code}] {name or ''}" if code else (name or "")


def _template_prepare(env, ids, vals):
    """``_sanitize_vals`` (type/detailed_type kept in step, 16/17) and the purchase unit following the unit."""
    if env.version < 18:
        if "type" in vals and "detailed_type" not in vals:
            vals["detailed_type"] = vals["type"]
        if "detailed_type" in vals:
            vals["type"] = vals["detailed_type"]
    if env.version >= 19:
        return
    uom_id = vals.get("uom_id")
    if ids is None:
        if "uom_po_id" not in vals and uom_id:
            vals["uom_po_id"] = uom_id
        return
    if uom_id and "uom_po_id" not in vals:
        for rid in ids:
            row = env.store.get("product.template", rid)
            if _uom_category(env, row.get("uom_po_id")) != _uom_category(env, uom_id):
                vals["uom_po_id"] = uom_id
                break


def _uom_category(env, uom_id):
    row = env.store.get("uom.uom", uom_id) if uom_id else None
    return row.get("category_id") if row else None


def _template_after_create(env, ids, vals_list):
    for rid in ids:
        row = env.store.get("product.template", rid)
        env.create(
            "product.product",
            [
                {
                    "product_tmpl_id": rid,
                    "default_code": row.get("default_code"),
                    "barcode": row.get("barcode"),
                    "active": row.get("active"),
                }
            ],
        )


def _template_after_write(env, ids, vals):
    synced = {k: vals[k] for k in ("default_code", "barcode", "active") if k in vals}
    if not synced:
        return
    for rid in ids:
        variants = sorted(env.store.lookup("product.product", "m2o:product_tmpl_id", rid))
        if variants:
            env.write("product.product", variants, synced)


def _check_uom(env, ids, fnames):
    if fnames is not None and not ({"uom_id", "uom_po_id"} & fnames):
        return
    for rid in ids:
        row = env.store.get("product.template", rid)
        if (
            row
            and row.get("uom_id")
            and row.get("uom_po_id")
            and _uom_category(env, row["uom_id"]) != _uom_category(env, row["uom_po_id"])
        ):
            raise errors.ValidationError(
                "The default Unit of Measure and the purchase Unit of Measure must be in the same category."
            )


def _check_barcode_uniqueness(env, ids, fnames):
    """``product.product._check_barcode_uniqueness``: among active products, 17+ within one company."""
    if fnames is not None and not ({"barcode", "company_id", "active"} & fnames):
        return
    store = env.store
    reported = []
    for rid in ids:
        row = store.get("product.template", rid)
        if not row or not row.get("barcode") or not row.get("active"):
            continue
        clashing = []
        for other_id in sorted(store.lookup("product.template", "barcode", row["barcode"])):
            other = store.get("product.template", other_id)
            if not other.get("active"):
                continue
            if (
                env.version >= 17
                and other.get("company_id")
                and row.get("company_id")
                and other["company_id"] != row["company_id"]
            ):
                continue
            clashing.append(other)
        if len(clashing) > 1 and row["barcode"] not in [b for b, _names in reported]:
            reported.append((row["barcode"], [env.display_name("product.template", r) for r in clashing]))
    if reported:
        lines = "\n".join(
            f'- Barcode "{barcode}" already assigned to product(s): {", ".join(names)}' for barcode, names in reported
        )
        if env.version >= 17:
            lines += "\n\nNote: products that you don't have access to will not be shown above."
        raise errors.ValidationError(f"Barcode(s) already assigned:\n\n{lines}")


def _supplierinfo_prepare(env, vals, creating=True):
    if vals.get("product_id") and not vals.get("product_tmpl_id"):
        variant = env.store.get("product.product", vals["product_id"])
        if variant:
            vals["product_tmpl_id"] = variant["product_tmpl_id"]
    if env.version >= 19 and creating and not vals.get("product_uom_id"):
        template = (
            env.store.get("product.template", vals.get("product_tmpl_id")) if vals.get("product_tmpl_id") else None
        )
        if template:
            vals["product_uom_id"] = template["uom_id"]
