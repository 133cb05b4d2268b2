"""What a fresh Odoo database with contacts, purchase and stock holds, per version, with Odoo's external ids.

- ``odoo/addons/base/data/res_country_data.xml``: countries are ``base.<lower-case ISO code>`` except the United
  Kingdom, which is ``base.uk`` (code GB): there is no ``base.gb``. Codes are stored upper case.
- currencies (``res_currency_data.xml``, as remembered): ``base.EUR`` is id 1 and ``base.USD`` id 2; the main
  company (``base.main_company``, partner ``base.main_partner``) uses USD here.
- ``addons/uom/data/uom_data.xml``: 16-18 categories and units with their factors (1 reference unit = factor
  units, so Dozens is 1/12 with ``factor_inv`` 12, g is 1000); 19 the relative tree (the file
  stored for this check is the later master branch: it has no Dozens, which 19.0's ``_unprotected_uom_xml_ids``
  still names, so Dozens is added as 12 Units).
- ``product.product_category_all`` "All"; users ``base.user_root`` (id 1, OdooBot, inactive), ``base.user_admin``
  (id 2, Mitchell Admin, partner 3), then the integration user (id 6, partner 4): as a fresh database has them.
"""

from __future__ import annotations

import pycountry

UOM_CATEGORIES = [
    ("product_uom_categ_unit", "Unit"),
    ("product_uom_categ_kgm", "Weight"),
    ("uom_categ_wtime", "Working Time"),
    ("uom_categ_length", "Length / Distance"),
    ("uom_categ_surface", "Surface"),
    ("product_uom_categ_vol", "Volume"),
]

# (xmlid, name, category xmlid, uom_type, factor) -- "bigger" units are given by factor_inv in the data file
UOMS_16 = [
    ("product_uom_unit", "Units", "product_uom_categ_unit", "reference", 1.0),
    ("product_uom_dozen", "Dozens", "product_uom_categ_unit", "bigger", 1 / 12),
    ("product_uom_day", "Days", "uom_categ_wtime", "reference", 1.0),
    ("product_uom_hour", "Hours", "uom_categ_wtime", "smaller", 8.0),
    ("product_uom_meter", "m", "uom_categ_length", "reference", 1.0),
    ("product_uom_millimeter", "mm", "uom_categ_length", "smaller", 1000.0),
    ("product_uom_km", "km", "uom_categ_length", "bigger", 1 / 1000),
    ("product_uom_cm", "cm", "uom_categ_length", "smaller", 100.0),
    ("uom_square_meter", "m²", "uom_categ_surface", "reference", 1.0),
    ("product_uom_litre", "L", "product_uom_categ_vol", "reference", 1.0),
    ("product_uom_cubic_meter", "m³", "product_uom_categ_vol", "bigger", 1 / 1000),
    ("product_uom_kgm", "kg", "product_uom_categ_kgm", "reference", 1.0),
    ("product_uom_gram", "g", "product_uom_categ_kgm", "smaller", 1000.0),
    ("product_uom_ton", "t", "product_uom_categ_kgm", "bigger", 1 / 1000),
    ("product_uom_lb", "lb", "product_uom_categ_kgm", "smaller", 2.20462),
    ("product_uom_oz", "oz", "product_uom_categ_kgm", "smaller", 35.274),
    ("product_uom_inch", "in", "uom_categ_length", "smaller", 39.3701),
    ("product_uom_foot", "ft", "uom_categ_length", "smaller", 3.28084),
    ("product_uom_yard", "yd", "uom_categ_length", "smaller", 1.09361),
    ("product_uom_mile", "mi", "uom_categ_length", "bigger", 1 / 1609.34),
    ("uom_square_foot", "ft²", "uom_categ_surface", "smaller", 10.76391),
    ("product_uom_floz", "fl oz (US)", "product_uom_categ_vol", "smaller", 33.814),
    ("product_uom_qt", "qt (US)", "product_uom_categ_vol", "smaller", 1.05669),
    ("product_uom_gal", "gal (US)", "product_uom_categ_vol", "bigger", 1 / 3.78541),
    ("product_uom_cubic_inch", "in³", "product_uom_categ_vol", "smaller", 61.0237),
    ("product_uom_cubic_foot", "ft³", "product_uom_categ_vol", "bigger", 1 / 28.3168),
]

# (xmlid, name, relative_factor, relative_uom xmlid or None, active)
UOMS_19 = [
    ("product_uom_unit", "Units", 1.0, None, True),
    ("product_uom_dozen", "Dozens", 12.0, "product_uom_unit", True),
    ("product_uom_pack_6", "Pack of 6", 6.0, "product_uom_unit", True),
    ("product_uom_hour", "Hours", 1.0, None, True),
    ("product_uom_day", "Days", 8.0, "product_uom_hour", True),
    ("product_uom_millimeter", "mm", 1.0, None, True),
    ("product_uom_meter", "m", 1000.0, "product_uom_millimeter", True),
    ("uom_square_meter", "m²", 1.0, None, True),
    ("product_uom_litre", "L", 1.0, None, True),
    ("product_uom_gram", "g", 1.0, None, True),
    ("product_uom_kgm", "kg", 1000.0, "product_uom_gram", True),
    ("product_uom_ton", "Ton", 1000.0, "product_uom_kgm", True),
    ("product_uom_inch", "inch", 0.0254, "product_uom_meter", False),
    ("product_uom_foot", "foot", 0.3048, "product_uom_meter", False),
    ("product_uom_square_foot", "ft²", 0.092903, "uom_square_meter", False),
    ("product_uom_lb", "lb", 0.453592, "product_uom_kgm", False),
]

CURRENCIES = [
    ("EUR", "€", True),
    ("USD", "$", True),
    ("GBP", "£", False),
    ("CAD", "$", False),
    ("CHF", "CHF", False),
    ("JPY", "¥", False),
    ("AUD", "$", False),
    ("MXN", "$", False),
]


def country_xmlid(alpha_2: str) -> str:
    code = alpha_2.lower()
    return "base.uk" if code == "gb" else f"base.{code}"


def seed(db) -> None:
    """Fill a new database (outside any transaction: no journal, as module data is installed)."""
    store = db.store
    when = db.seed_time

    def put(model, rid, xmlid=None, **values):
        row = {"id": rid, "create_date": when, "write_date": when, "create_uid": 1, "write_uid": 1}
        for fname, f in db.models[model].fields.items():
            if f.store and fname not in row:
                row[fname] = values.pop(
                    fname,
                    []
                    if f.type == "many2many"
                    else (0 if f.type == "integer" else (0.0 if f.type == "float" else False)),
                )
        if values:
            raise KeyError(f"seed: unknown fields {sorted(values)} on {model}")
        store.put(model, rid, row)
        store.next_id[model] = max(store.next_id[model], rid + 1)
        if xmlid:
            module, _dot, name = xmlid.partition(".")
            store.set_xmlid(module, name, model, rid)
        return rid

    for rid, (code, symbol, active) in enumerate(CURRENCIES, start=1):
        put("res.currency", rid, f"base.{code}", name=code, symbol=symbol, rounding=0.01, active=active)
    countries = sorted(
        ((c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries),
        key=lambda c: country_xmlid(c[0]),
    )
    if not any(code == "XK" for code, _name in countries):
        countries.append(("XK", "Kosovo"))
    for rid, (code, name) in enumerate(countries, start=1):
        put(
            "res.country",
            rid,
            country_xmlid(code),
            name=name,
            code=code.upper(),
            currency_id=2 if code == "US" else False,
        )
    us = store.xmlid_lookup("base.us")[1]

    put(
        "res.partner",
        1,
        "base.main_partner",
        name="My Company",
        is_company=True,
        company_id=1,
        active=True,
        type="contact",
        country_id=us,
    )
    put("res.partner", 2, "base.partner_root", name="OdooBot", active=False, type="contact")
    put("res.partner", 3, "base.partner_admin", name="Mitchell Admin", active=True, type="contact", company_id=1)
    put("res.partner", 4, None, name=db.user_name, active=True, type="contact", company_id=1)
    put("res.company", 1, "base.main_company", name="My Company", partner_id=1, currency_id=2, country_id=us)
    put("res.users", 1, "base.user_root", login="__system__", name="OdooBot", partner_id=2, company_id=1, active=False)
    put(
        "res.users", 2, "base.user_admin", login="admin", name="Mitchell Admin", partner_id=3, company_id=1, active=True
    )
    put("res.users", db.uid, None, login=db.login, name=db.user_name, partner_id=4, company_id=1, active=True)

    put("product.category", 1, "product.product_category_all", name="All")

    if db.version >= 19:
        ids = {}
        for rid, (xmlid, name, relative, parent, active) in enumerate(UOMS_19, start=1):
            ids[xmlid] = rid
            parent_id = ids[parent] if parent else False
            parent_row = store.get("uom.uom", parent_id) if parent_id else None
            factor = relative * (parent_row["factor"] if parent_row else 1.0)
            path = f"{parent_row['parent_path']}{rid}/" if parent_row else f"{rid}/"
            put(
                "uom.uom",
                rid,
                f"uom.{xmlid}",
                name=name,
                relative_factor=relative,
                relative_uom_id=parent_id,
                factor=factor,
                parent_path=path,
                active=active,
                sequence=10,
            )
    else:
        categories = {}
        for rid, (xmlid, name) in enumerate(UOM_CATEGORIES, start=1):
            categories[xmlid] = put("uom.category", rid, f"uom.{xmlid}", name=name)
        for rid, (xmlid, name, category, uom_type, factor) in enumerate(UOMS_16, start=1):
            put(
                "uom.uom",
                rid,
                f"uom.{xmlid}",
                name=name,
                category_id=categories[category],
                uom_type=uom_type,
                factor=factor,
                rounding=0.01,
                active=True,
            )
