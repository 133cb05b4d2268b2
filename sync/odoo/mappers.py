"""Published hub payloads -> rows for Odoo's ``load``, per Odoo version (16, 17, 18, 19+).

Every row carries an ``id`` column with the record's external id (``__mdm__.<entity>_<id>``), so ``load``
creates the record the first time and updates the same record afterwards: resending is harmless. Related
records go by external id through ``<field>/id`` columns; values are in import format (strings, booleans
"1"/"0", dates ``YYYY-MM-DD``, decimals as the hub wrote them).

What maps to what
-----------------
supplier -> ``res.partner`` (``__mdm__.supplier_<id>``): name = legal name, is_company, vat, ref = DUNS,
    company_registry = EIN, email/phone = the first contact that has one, street/street2/city/zip and
    country (``base.<alpha-2>``) from the order-from address (else headquarters, remit-to, the first one),
    supplier_rank 1, active. Bank accounts -> ``res.partner.bank`` (``__mdm__.supplier_bank_<bank id>``):
    acc_number = the IBAN or account number (unsealed only here; masked in everything kept or logged),
    acc_holder_name, partner. Accounts the hub sent before and no longer has are archived by the adapter.
unit -> ``uom.uom``. Standard units (each, dozen, g, kg, L, mL, m, cm, mm, m², hour, lb, oz, ...) map onto
    Odoo's own records by their xmlid (``uom.product_uom_unit``...) and are never written or archived. Other
    units with a ratio: 16-18 ``category_id`` (Unit, Weight, Volume, Length / Distance, Surface, Working
    Time), ``uom_type`` bigger/smaller and ``factor`` = reference units per this unit (Box of 100 -> 0.01;
    Odoo's working-time reference is the 8-hour day); 19 ``relative_factor`` = the hub's ratio and
    ``relative_uom_id`` = the category's reference unit (Box of 100 -> 100 x Units). A unit without a ratio
    (item-specific packaging: BX, CS) has no place in Odoo's unit tables and is refused (``MappingError``).
item -> ``product.template`` (``__mdm__.item_<id>``): name = description, default_code = manufacturer part
    number, barcode = base-level GTIN, uom_id (16-18 also uom_po_id) = the base unit, categ_id = All (16-18),
    product type (16/17 ``detailed_type`` "product" when Odoo offers storable products, else "consu"; 18/19
    ``type`` "consu" + ``is_storable``), purchase_ok, active, company_id when the target names a company.
contract_price -> ``product.supplierinfo`` (``__mdm__.contract_price_<id>``): partner, product template,
    price = price per base unit (so every Odoo version agrees whatever unit the contract priced in),
    min_qty = minimum quantity in base units, currency ``base.<CUR>``, date_start/date_end, product_code =
    contract number, 19 also product_uom_id = the base unit.

Retire and merge: the record is loaded with ``active`` 0 (archived, never unlinked). ``product.supplierinfo``
has no ``active`` field in 16-19 (checked in addons/product/models/product_supplierinfo.py), so a retired
price line is ended instead: ``date_end`` = yesterday (or its own end date if that is earlier); if a target's
model does have ``active``, that is used.

``sent_payload`` (kept in the key map for reconciliation) = the row's columns and values as sent, without
``id``; bank numbers masked. Keys starting with ``_`` are connector notes, not Odoo fields
(``_bank_accounts``: the bank rows sent with a supplier). ``compared_fields(sent_payload)`` gives
``{odoo field: expected value}`` with ``x/id`` columns as field ``x`` and an external id as value.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext

from mdm.crypto import mask

MODULE = "__mdm__"

MODELS = {
    "supplier": "res.partner",
    "unit": "uom.uom",
    "item": "product.template",
    "contract_price": "product.supplierinfo",
}
BANK_MODEL = "res.partner.bank"

#: Hub unit code -> Odoo's own xmlids for it, first existing wins (Odoo renamed a few across versions; checked
#: in addons/uom/data/uom_data.xml: 16-18 have no millilitre, 19 adds ``product_uom_milliliter``). Odoo's "Days"
#: is an 8-hour working day, so the hub's 24-hour DAY is deliberately not mapped onto it.
STANDARD_UNITS: dict[str, tuple[str, ...]] = {
    "EA": ("uom.product_uom_unit",),
    "DZ": ("uom.product_uom_dozen",),
    "G": ("uom.product_uom_gram",),
    "KG": ("uom.product_uom_kgm",),
    "LB": ("uom.product_uom_lb",),
    "OZ": ("uom.product_uom_oz",),
    "ML": ("uom.product_uom_milliliter",),
    "L": ("uom.product_uom_litre",),
    "M3": ("uom.product_uom_cubic_meter",),
    "FOZ": ("uom.product_uom_floz",),
    "GAL": ("uom.product_uom_gal",),
    "MM": ("uom.product_uom_millimeter",),
    "CM": ("uom.product_uom_cm",),
    "M": ("uom.product_uom_meter",),
    "IN": ("uom.product_uom_inch",),
    "FT": ("uom.product_uom_foot",),
    "YD": ("uom.product_uom_yard",),
    "M2": ("uom.uom_square_meter", "uom.product_uom_square_meter"),
    "HR": ("uom.product_uom_hour",),
}
#: UN/ECE Rec 20 code -> hub code, for units whose hub code differs from the shipped list.
UNECE_STANDARD = {
    "C62": "EA", "H87": "EA", "EA": "EA", "DZN": "DZ", "GRM": "G", "KGM": "KG", "LBR": "LB", "ONZ": "OZ",
    "MLT": "ML", "LTR": "L", "MTQ": "M3", "OZA": "FOZ", "GLL": "GAL", "MMT": "MM", "CMT": "CM", "MTR": "M",
    "INH": "IN", "FOT": "FT", "YRD": "YD", "MTK": "M2", "HUR": "HR",
}  # fmt: skip

#: Hub category -> (16-18 uom.category xmlid, how many hub reference units Odoo's reference unit is,
#: 19 xmlids of the reference unit). Hub references: each, kg, L, m, m², hour; Odoo 16-18 agree except
#: Working Time, whose reference is the 8-hour day.
CATEGORIES: dict[str, tuple[str, Decimal, tuple[str, ...]]] = {
    "Unit": ("uom.product_uom_categ_unit", Decimal(1), ("uom.product_uom_unit",)),
    "Weight": ("uom.product_uom_categ_kgm", Decimal(1), ("uom.product_uom_kgm",)),
    "Volume": ("uom.product_uom_categ_vol", Decimal(1), ("uom.product_uom_litre",)),
    "Length": ("uom.uom_categ_length", Decimal(1), ("uom.product_uom_meter",)),
    "Surface": ("uom.uom_categ_surface", Decimal(1), ("uom.uom_square_meter", "uom.product_uom_square_meter")),
    "Time": ("uom.uom_categ_wtime", Decimal(8), ("uom.product_uom_hour",)),
}

#: Odoo's country xmlids are ``base.<alpha-2 lower>`` except the United Kingdom: ``base.uk`` (code GB), as in
#: odoo/addons/base/data/res_country_data.xml.
COUNTRY_XMLIDS = {"gb": "uk"}

ADDRESS_PREFERENCE = ("order_from", "headquarters", "remit_to", "ship_from", "other")


class MappingError(Exception):
    """The payload can't be expressed at this target: a permanent refusal with a reason for the steward."""


def xmlid(entity: str, object_id) -> str:
    return f"{MODULE}.{entity}_{object_id}"


def bank_xmlid(bank_id) -> str:
    return f"{MODULE}.supplier_bank_{bank_id}"


def _bool(value) -> str:
    return "1" if value else "0"


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _decimal(text) -> Decimal:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError) as exc:
        raise MappingError(f"not a number: {text!r}") from exc


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _divide(numerator: Decimal, denominator: Decimal) -> str:
    with localcontext() as ctx:
        ctx.prec = 15
        return _plain(numerator / denominator)


@dataclass
class Row:
    """One ``load`` row: the model, the external id and the other columns (import-format strings)."""

    model: str
    external_id: str
    values: dict[str, str]
    shown: dict[str, str] = field(default_factory=dict)
    """Columns whose value is secret -> what may be kept or shown instead (masked)."""

    def sent(self) -> dict:
        return {**self.values, **self.shown}

    def secrets(self) -> list[str]:
        return [self.values[column] for column in self.shown if self.values.get(column)]


@dataclass
class Mapped:
    entity_type: str
    object_id: int
    model: str
    row: Row | None = None
    standard_xmlid: str = ""
    """A standard unit: Odoo's own record, never written."""
    banks: list[Row] = field(default_factory=list)
    survivor_xmlid: str = ""
    """A merged record: the survivor's external id at the target."""

    @property
    def external_id(self) -> str:
        return self.standard_xmlid or (self.row.external_id if self.row else "")

    def sent_payload(self) -> dict:
        payload = self.row.sent() if self.row else {"_standard": self.standard_xmlid}
        if self.entity_type == "supplier":
            payload["_bank_accounts"] = [{"id": bank.external_id, **bank.sent()} for bank in self.banks]
        return payload


class TargetInfo:
    """What the mapper may ask about the target. The default assumes Odoo as documented; the adapter's
    subclass answers from the live server (external ids that exist, ``fields_get``)."""

    def xmlid_exists(self, xmlid: str) -> bool:
        return True

    def has_field(self, model: str, name: str) -> bool | None:
        """True/False when known, None when the target could not say."""
        return None

    def selection(self, model: str, name: str) -> list[str] | None:
        return None


def compared_fields(sent_payload: dict) -> dict:
    """``{odoo field: value as sent}`` for reconciliation: ``x/id`` columns become field ``x`` (value: an
    external id), ``x/.id`` field ``x`` (a database id); connector notes (``_...``) are left out."""
    fields = {}
    for column, value in (sent_payload or {}).items():
        if column.startswith("_") or column == "id":
            continue
        fields[column.split("/", 1)[0]] = value
    return fields


class Mapper:
    """Odoo 16 and 17 (``detailed_type``, ``uom_po_id``, uom categories)."""

    major = 16
    type_columns = ("detailed_type",)
    has_uom_po = True
    has_uom_categories = True
    requires_category = True
    supplierinfo_uom_column = ""

    def __init__(self, *, company_id: int | None = None, target: TargetInfo | None = None, today=None):
        self.company_id = company_id
        self.target = target or TargetInfo()
        self.today = today or datetime.date.today()

    # -- helpers -------------------------------------------------------------------------------------------------
    def _first_existing(self, candidates: tuple[str, ...]) -> str:
        for candidate in candidates:
            if self.target.xmlid_exists(candidate):
                return candidate
        return ""

    @staticmethod
    def ref(refs: dict, entity: str, object_id) -> str:
        """The external id of a record this one refers to (the key map's, else the hub's own naming)."""
        held = refs.get((entity, object_id)) if object_id is not None else None
        external = getattr(held, "external_id", "") if held is not None else ""
        return external or xmlid(entity, object_id)

    def _company(self, values: dict) -> None:
        if self.company_id:
            values["company_id/.id"] = str(self.company_id)

    def map(self, entity_type: str, payload: dict, *, refs: dict | None = None, archive: bool = False) -> Mapped:
        method = getattr(self, f"map_{entity_type}", None)
        if method is None:
            raise MappingError(f"Odoo targets don't take {entity_type} records")
        return method(payload, refs or {}, archive)

    # -- supplier ------------------------------------------------------------------------------------------------
    @staticmethod
    def _address(addresses: list[dict]) -> dict:
        for kind in ADDRESS_PREFERENCE:
            for address in addresses:
                if address.get("kind") == kind:
                    return address
        return addresses[0] if addresses else {}

    def map_supplier(self, payload: dict, refs: dict, archive: bool) -> Mapped:
        contacts = payload.get("contacts") or []
        address = self._address(payload.get("addresses") or [])
        country = COUNTRY_XMLIDS.get(_text(address.get("country")).lower(), _text(address.get("country")).lower())
        values = {
            "name": _text(payload.get("legal_name")),
            "is_company": "1",
            "vat": _text(payload.get("vat")),
            "ref": _text(payload.get("duns")),
            "company_registry": _text(payload.get("ein")),
            "email": next((_text(c.get("email")) for c in contacts if c.get("email")), ""),
            "phone": next((_text(c.get("phone")) for c in contacts if c.get("phone")), ""),
            "street": _text(address.get("line1")),
            "street2": _text(address.get("line2")),
            "city": _text(address.get("city")),
            "zip": _text(address.get("postal_code")),
            "country_id/id": f"base.{country}" if country else "",
            "supplier_rank": "1",
            "active": _bool(not archive),
        }
        if not values["name"]:
            raise MappingError(f"supplier {payload.get('id')} has no legal name")
        partner = xmlid("supplier", payload["id"])
        banks = []
        for account in payload.get("bank_accounts") or []:
            raw = account.get("iban") or account.get("account_number")
            if isinstance(raw, dict):  # a programming error, never data: the adapter unseals first
                raise MappingError(f"bank account {account.get('id')} reached the mapper still sealed")
            number = _text(raw)
            if not number:
                continue
            bank = {
                "acc_number": number,
                "acc_holder_name": _text(account.get("holder_name")),
                "partner_id/id": partner,
            }
            if self.target.has_field(BANK_MODEL, "active") is not False:
                bank["active"] = "1"
            banks.append(Row(BANK_MODEL, bank_xmlid(account["id"]), bank, shown={"acc_number": mask(number)}))
        survivor = self.ref(refs, "supplier", payload["merged_into"]) if payload.get("merged_into") else ""
        return Mapped(
            "supplier",
            payload["id"],
            MODELS["supplier"],
            Row(MODELS["supplier"], partner, values),
            banks=banks,
            survivor_xmlid=survivor,
        )

    # -- unit ----------------------------------------------------------------------------------------------------
    def standard_unit(self, payload: dict) -> str:
        code = _text(payload.get("code")).upper()
        candidates = STANDARD_UNITS.get(code) or STANDARD_UNITS.get(
            UNECE_STANDARD.get(_text(payload.get("unece_code")).upper(), "")
        )
        return self._first_existing(candidates) if candidates else ""

    def _unit_values(self, payload: dict, category: str, ratio: Decimal) -> dict:
        odoo_category, reference_size, _references = CATEGORIES[category]
        factor = _divide(reference_size, ratio)
        return {
            "name": _text(payload.get("name")) or _text(payload.get("code")),
            "category_id/id": odoo_category,
            # one reference per category, and it is Odoo's own: an equal-sized unit of ours counts as bigger
            "uom_type": "bigger" if ratio >= reference_size else "smaller",
            "factor": factor,
        }

    def map_unit(self, payload: dict, refs: dict, archive: bool) -> Mapped:
        standard = self.standard_unit(payload)
        if standard:
            return Mapped("unit", payload["id"], MODELS["unit"], standard_xmlid=standard)
        category, ratio = payload.get("category"), payload.get("ratio")
        if not ratio or category not in CATEGORIES:
            raise MappingError(
                f"unit {payload.get('code')} ({payload.get('name')}) has no fixed size in a unit category "
                f"(category {category or 'none'}, ratio {ratio or 'none'}): item-specific packaging like a box or "
                "case is not an Odoo unit of measure. Items are sent in their base unit and prices per base unit, "
                "so this unit is not needed at Odoo."
            )
        ratio = _decimal(ratio)
        if ratio <= 0:
            raise MappingError(f"unit {payload.get('code')} has a ratio of {ratio}")
        values = self._unit_values(payload, category, ratio)
        values["active"] = _bool(not archive)
        return Mapped("unit", payload["id"], MODELS["unit"], Row(MODELS["unit"], xmlid("unit", payload["id"]), values))

    # -- item ----------------------------------------------------------------------------------------------------
    def _product_type(self, values: dict) -> None:
        offered = self.target.selection(MODELS["item"], "detailed_type")
        values["detailed_type"] = "product" if offered and "product" in offered else "consu"

    def map_item(self, payload: dict, refs: dict, archive: bool) -> Mapped:
        base = payload.get("base_unit") or {}
        if not base.get("id"):
            raise MappingError(f"item {payload.get('id')} has no base unit")
        unit = self.ref(refs, "unit", base["id"])
        values = {
            "name": _text(payload.get("description")) or _text(payload.get("short_name")),
            "default_code": _text(payload.get("manufacturer_part_number")),
            "barcode": _text(payload.get("gtin")),
            "uom_id/id": unit,
        }
        if self.has_uom_po:
            values["uom_po_id/id"] = unit
        if self.requires_category:
            values["categ_id/id"] = "product.product_category_all"
        self._product_type(values)
        values["purchase_ok"] = "1"
        values["active"] = _bool(not archive)
        self._company(values)
        return Mapped("item", payload["id"], MODELS["item"], Row(MODELS["item"], xmlid("item", payload["id"]), values))

    # -- contract price ------------------------------------------------------------------------------------------
    def map_contract_price(self, payload: dict, refs: dict, archive: bool) -> Mapped:
        if payload.get("price_per_base_unit") in (None, ""):
            unit = (payload.get("unit") or {}).get("code")
            base = (payload.get("base_unit") or {}).get("code")
            raise MappingError(
                f"contract price {payload.get('id')} has no price per base unit ({unit} does not convert to the "
                f"item's base unit {base}); Odoo vendor prices are sent per base unit, so it can't be sent"
            )
        contract = payload.get("contract") or {}
        currency = _text(payload.get("currency") or contract.get("currency")).upper()
        date_end = _text(payload.get("end_date"))
        values = {
            "partner_id/id": self.ref(refs, "supplier", payload.get("supplier_id")),
            "product_tmpl_id/id": self.ref(refs, "item", payload.get("item_id")),
            "price": _text(payload["price_per_base_unit"]),
            "min_qty": _text(payload.get("min_quantity_base")) or "0",
            "currency_id/id": f"base.{currency}" if currency else "",
            "date_start": _text(payload.get("start_date")),
            "date_end": date_end,
            "product_code": _text(contract.get("number")),
        }
        if self.supplierinfo_uom_column:
            base = payload.get("base_unit") or {}
            values[self.supplierinfo_uom_column] = self.ref(refs, "unit", base.get("id")) if base.get("id") else ""
        if self.target.has_field(MODELS["contract_price"], "active"):
            values["active"] = _bool(not archive)
        elif archive:
            yesterday = (self.today - datetime.timedelta(days=1)).isoformat()
            values["date_end"] = min(date_end, yesterday) if date_end else yesterday
        self._company(values)
        external = xmlid("contract_price", payload["id"])
        return Mapped(
            "contract_price", payload["id"], MODELS["contract_price"], Row(MODELS["contract_price"], external, values)
        )


class Mapper17(Mapper):
    major = 17


class Mapper18(Mapper):
    """``type`` consu/service/combo plus ``is_storable`` (with the stock app) replace ``detailed_type``."""

    major = 18

    def _product_type(self, values: dict) -> None:
        values["type"] = "consu"
        if self.target.has_field(MODELS["item"], "is_storable") is not False:
            values["is_storable"] = "1"


class Mapper19(Mapper18):
    """No uom categories (``relative_factor`` + ``relative_uom_id``), no ``uom_po_id``, optional ``categ_id``,
    ``product.supplierinfo.product_uom_id`` stored and required."""

    major = 19
    has_uom_po = False
    has_uom_categories = False
    requires_category = False
    supplierinfo_uom_column = "product_uom_id/id"

    def _unit_values(self, payload: dict, category: str, ratio: Decimal) -> dict:
        _odoo_category, _size, references = CATEGORIES[category]
        reference = self._first_existing(references)
        if not reference:
            raise MappingError(f"this Odoo has none of {', '.join(references)} (the {category} reference unit)")
        return {
            "name": _text(payload.get("name")) or _text(payload.get("code")),
            "relative_factor": _plain(ratio),
            "relative_uom_id/id": reference,
        }


MAPPERS = {16: Mapper, 17: Mapper17, 18: Mapper18, 19: Mapper19}


def mapper_for(major: int, **kwargs) -> Mapper:
    """The mapper for an Odoo major version (later versions than 19 get 19's until told otherwise)."""
    if major < 16:
        raise MappingError(f"Odoo {major} is not supported (16 and later are)")
    return MAPPERS.get(major, Mapper19)(**kwargs)
