"""Inbound pull from Odoo: vendors, products and vendor prices changed since the last pull become source records.

``pull_target(target)`` reads, per Odoo model and in this order, ``res.partner`` (vendors: ``supplier_rank`` > 0),
``product.template`` and ``product.supplierinfo``, archived records included, oldest change first, and stores each
record through the ordinary ingest service (``mdm.services.ingest.source_records_ingest``) as a source record of
the target's source system (external id = the Odoo record id). Ingest is idempotent (same system, external id
and payload hash = ``unchanged``) and quarantines payloads that fail validation with per-field reasons.

Watermarks (``sync.models.Watermark``, one per target and model) hold the ``write_date`` and id of the last
record stored. Odoo keeps ``write_date`` with microseconds (the transaction's ``now()``) but answers in whole
seconds, so a second is treated as a bucket: the next page is "a later second, or the same second with a
higher id" (``write_date >= s + 1s`` or ``s <= write_date < s + 1s and id > last_id``). Odoo sorts a second's
records by their hidden microseconds, not by id, so when a page ends inside a second the rest of that second is
read in id order before moving on: no record is skipped and paging always advances, even when one import
transaction wrote thousands of records with the very same timestamp. The watermark moves in the same database
transaction that stores a page's records: a crash repeats at most one page, which ingest then finds unchanged.
The watermark also stays out of the last few minutes (``SETTLE_SECONDS``): Odoo stamps a record with the time
its transaction began, so a long import commits records "in the past"; recent records are stored at once and
read again by the next pull, which ingest finds unchanged unless they changed.

Records the hub created at Odoo itself (its ``__mdm__.*`` external ids, known through the key map) are skipped
and counted (``skipped_own``); reconciliation (``sync.reconcile``) watches those.

Mapping (the inverse of ``sync.odoo.mappers``):

- vendor -> supplier: name -> legal_name; vat -> vat (an EIN-shaped value -> ein: US databases keep the EIN in
  the Tax ID field); ref -> duns and company_registry -> ein when they look like one (otherwise they are
  internal codes, kept in the raw payload only); email/phone/mobile -> one contact named after the vendor;
  street/street2/city/zip/country -> an ``order_from`` address (the address Odoo prints on purchase orders) when
  street, city and country are there; active bank accounts -> bank_accounts (an IBAN-shaped number as iban;
  another number only with an ABA routing number, from ``l10n_us``'s ``aba_routing``, else it is left out and
  listed masked). Ingest seals the numbers before storing anything.
- product -> item: name -> description; default_code -> manufacturer_part_number; barcode -> the base-level
  GTIN; uom_id -> base_unit (the hub's code when the unit came from the hub or is one of Odoo's standard units
  of ``sync.odoo.mappers.STANDARD_UNITS``, else Odoo's unit name, which the unit registry resolves as an alias); item_type ``med_surg`` (Odoo has no such field). Services and combos
  are not items: skipped and counted (``skipped_other``).
- vendor price -> contract_price, under one derived contract per vendor and currency (``contract`` source
  record ``vendor_prices:<partner id>:<currency>``, kind ``local``: prices agreed with the vendor): item = the
  product template's id, unit = the price's unit, price with 4 decimals, min_quantity = min_qty (at least 1),
  dates = date_start/date_end, open ends as 2000-01-01 and 2099-12-31 (the derived contract's own dates).
  Prices pointing at a product the hub created name the item by its GTIN and part number too, so the price
  finds its golden item. A contract or price whose supplier or item is not linked to a golden record yet stays
  a source record until it is (``contracts.services``).

Every payload also carries an ``odoo`` key (model, id, active and the values that had no hub field), which
validation ignores and stewards see.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from mdm.choices import IngestOutcome, SourceKind
from mdm.crypto import mask
from mdm.models import IngestBatch, SourceSystem
from mdm.services.ingest import IngestBatchError, source_records_ingest
from sync.models import KeyMap, SyncRun, Target, Watermark
from sync.odoo.client import ARCHIVED_TOO, OdooClient
from sync.odoo.errors import OdooError
from sync.odoo.mappers import STANDARD_UNITS

log = logging.getLogger(__name__)

PAGE_SIZE = 500
#: Records written this recently (by the hub's clock) are stored but the watermark waits for them: an Odoo
#: transaction commits with the write_date it started with (an HTTP request may run 120 s), and another edit may
#: land in the same second. Five minutes also absorbs modest clock skew between the two servers.
SETTLE_SECONDS = 300
VENDORS, PRODUCTS, PRICES = "res.partner", "product.template", "product.supplierinfo"
#: Pull order: prices refer to vendors and products.
PULL_MODELS = (VENDORS, PRODUCTS, PRICES)
ENTITY_OF = {VENDORS: "supplier", PRODUCTS: "item", PRICES: "contract_price"}
DOMAINS = {VENDORS: [["supplier_rank", ">", 0]], PRODUCTS: [], PRICES: []}

#: Fields read per model; the ones a version lacks (``mobile`` in 19, ``detailed_type`` in 18+...) are dropped
#: after asking ``fields_get``.
FIELDS = {
    VENDORS: (
        "name", "vat", "ref", "company_registry", "email", "phone", "mobile",
        "street", "street2", "city", "zip", "country_id", "bank_ids", "active", "write_date",
    ),
    PRODUCTS: ("name", "default_code", "barcode", "uom_id", "type", "detailed_type", "active", "write_date"),
    PRICES: (
        "partner_id", "product_tmpl_id", "product_code", "product_name", "price", "min_qty", "currency_id",
        "date_start", "date_end", "product_uom", "product_uom_id", "write_date",
    ),
}  # fmt: skip
BANK_FIELDS = ("acc_number", "acc_holder_name", "aba_routing", "partner_id")

DEFAULT_ITEM_TYPE = "med_surg"
NOT_ITEMS = {"service", "combo"}
PRICE_CONTRACT_KIND = "local"
OPEN_START, OPEN_END = "2000-01-01", "2099-12-31"
ODOO_TRUST_RANK = 1  # as the demo's odoo-prod: the ERP is the most trusted source

_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_EIN = re.compile(r"^\d{2}-?\d{7}$")
_DUNS = re.compile(r"^\d{2}-?\d{3}-?\d{4}$")
_SECOND = "%Y-%m-%d %H:%M:%S"


# -- small helpers ------------------------------------------------------------------------------------------------
def _text(value) -> str:
    return "" if value is None or value is False else str(value).strip()


def _m2o(value) -> tuple[int | None, str]:
    """``(id, display name)`` of an Odoo many2one value (``[id, name]`` or ``False``)."""
    if isinstance(value, list | tuple) and value:
        return int(value[0]), str(value[1]) if len(value) > 1 else ""
    if isinstance(value, int) and not isinstance(value, bool) and value:
        return value, ""
    return None, ""


def _decimal4(value) -> str:
    """A float from Odoo as the decimal string the hub stores (4 places, so the payload hash is stable)."""
    try:
        return format(Decimal(str(value)).quantize(Decimal("0.0001")), "f")
    except (InvalidOperation, ValueError):
        return str(value)


def _quantity(value):
    """Odoo's float ``min_qty`` as the hub's integer tier (0 = from the first one); a fraction stays as it is
    and is refused by validation with its reason."""
    try:
        number = Decimal(str(value or 0))
    except InvalidOperation:
        return value
    if number <= 0:
        return 1
    return int(number) if number == number.to_integral_value() else float(number)


def _second(row: dict) -> str:
    return _text(row.get("write_date"))[:19]


def _next_second(write_date: str) -> str:
    return (dt.datetime.strptime(write_date, _SECOND) + dt.timedelta(seconds=1)).strftime(_SECOND)


def after_watermark(write_date: str, last_id: int) -> list:
    """The domain of records written after ``(write_date, last_id)``, ``write_date`` taken as a whole second."""
    if not write_date:
        return [["id", ">", last_id]] if last_id else []
    later = _next_second(write_date)
    return [
        "|",
        ["write_date", ">=", later],
        "&",
        "&",
        ["write_date", ">=", write_date],
        ["write_date", "<", later],
        ["id", ">", int(last_id)],
    ]


def _within_second(second: str, after_id: int) -> list:
    return [["write_date", ">=", second], ["write_date", "<", _next_second(second)], ["id", ">", int(after_id)]]


def _last_second_mark(rows: list[dict]) -> tuple[str, int]:
    """(second, highest id in it) of the last second of ``rows``, a page holding that whole second."""
    last = _second(rows[-1])
    return last, max(row["id"] for row in rows if _second(row) == last)


def pages(
    client: OdooClient,
    model: str,
    fields: Sequence[str],
    *,
    domain: Sequence = (),
    since: tuple[str, int] = ("", 0),
    page_size: int = PAGE_SIZE,
    limit: int | None = None,
    settled_before: str = "",
) -> Iterator[tuple[list[dict], tuple[str, int]]]:
    """Pages of records changed after ``since``, oldest first, archived included: ``(rows, watermark)``.

    ``watermark`` is where the next pull starts once ``rows`` are stored. It never moves into a second at or
    after ``settled_before`` ('YYYY-MM-DD HH:MM:SS'; '' = no limit): a transaction still running at Odoo commits
    its records with the write_date it started with, and another edit can land in the current second, so recent
    records are read (and stored) now and read again next time. ``limit`` caps the records read.
    """
    fields = list(dict.fromkeys([*fields, "id", "write_date"]))
    write_date, last_id = since[0] or "", int(since[1] or 0)
    mark = (write_date, last_id)
    left = limit

    def settled(second: str) -> bool:
        return not settled_before or second < settled_before

    def read(extra, order, size):
        return client.search_read(model, [*extra, *domain], fields, limit=size, order=order, context=ARCHIVED_TOO)

    def whole_seconds(rows: list[dict]) -> tuple[str, int]:
        kept = [row for row in rows if settled(_second(row))]
        return _last_second_mark(kept) if kept else mark

    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        rows = read(after_watermark(write_date, last_id), "write_date asc, id asc", size)
        if not rows:
            return
        if len(rows) < size:  # every record after the watermark is here, whole seconds included
            mark = whole_seconds(rows)
            yield rows, mark
            return
        # A full page may end inside a second: take the complete seconds before it, then that second by id.
        last = _second(rows[-1])
        head = [row for row in rows if _second(row) != last]
        if head:
            mark = whole_seconds(head)
            yield head, mark
            if left is not None:
                left -= len(head)
        cursor = last_id if last == write_date else 0
        while left is None or left > 0:
            size = page_size if left is None else min(page_size, left)
            chunk = read(_within_second(last, cursor), "id asc", size)
            if not chunk:
                break
            cursor = chunk[-1]["id"]
            if settled(last):
                mark = (last, cursor)
            yield chunk, mark
            if left is not None:
                left -= len(chunk)
            if len(chunk) < size:
                break
        write_date, last_id = last, cursor


# -- context ------------------------------------------------------------------------------------------------------
class Inbound:
    """What mapping Odoo records needs: the client, the target's key map, caches (countries, units, fields)."""

    def __init__(self, target: Target, client: OdooClient, system: SourceSystem):
        self.target, self.client, self.system = target, client, system
        self._fields: dict[str, set | None] = {}
        self._countries: dict[int, str] = {}
        self._units: dict[int, str] = {}
        self._standard_units_read = False

    def available(self, model: str, wanted: Sequence[str]) -> list[str]:
        """The fields of ``wanted`` this Odoo's ``model`` has (all of them when ``fields_get`` is refused)."""
        if model not in self._fields:
            try:
                self._fields[model] = set(self.client.fields_get(model, ("type",)))
            except OdooError as exc:
                if exc.transient:
                    raise
                log.warning("fields_get on %s refused (%s): reading the usual fields", model, exc)
                self._fields[model] = None
        known = self._fields[model]
        return [name for name in wanted if known is None or name in known]

    def own(self, model: str, ids) -> dict[str, KeyMap]:
        """Key map entries of records the hub wrote at this target, by Odoo id (as a string)."""
        refs = [str(i) for i in ids if i]
        if not refs:
            return {}
        keys = KeyMap.objects.filter(target=self.target, target_model=model, target_ref__in=refs)
        return {key.target_ref: key for key in keys}

    def countries(self, ids) -> dict[int, str]:
        missing = sorted({i for i in ids if i and i not in self._countries})
        if missing:
            for row in self.client.read("res.country", missing, ["code"]):
                self._countries[row["id"]] = _text(row.get("code")).upper()
        return self._countries

    def units(self, uoms) -> dict[int, str]:
        """Odoo unit id -> the hub's unit code: units the hub sent (key map), then Odoo's standard units by xmlid;
        "" for the others."""
        from uom.models import Unit

        missing = sorted({i for i in uoms if i and i not in self._units})
        if missing:
            keys = list(
                KeyMap.objects.filter(
                    target=self.target,
                    entity_type="unit",
                    target_model="uom.uom",
                    target_ref__in=[str(i) for i in missing],
                ).values_list("target_ref", "object_id")
            )
            codes = dict(Unit.objects.filter(pk__in=[object_id for _, object_id in keys]).values_list("pk", "code"))
            for ref, object_id in keys:
                if object_id in codes:
                    self._units.setdefault(int(ref), codes[object_id])
        if any(i not in self._units for i in missing) and not self._standard_units_read:
            self._standard_units_read = True  # Odoo's own units ("Units", "Dozens"...) by their xmlids, once
            known = set(Unit.objects.filter(code__in=STANDARD_UNITS).values_list("code", flat=True))
            for code, xmlids in STANDARD_UNITS.items():
                found = (
                    next((rid for rid in map(self.client.xmlid_to_id, xmlids) if rid), None) if code in known else None
                )
                if found:
                    self._units.setdefault(found, code)
        for uom_id in missing:
            self._units.setdefault(uom_id, "")  # not the hub's: its Odoo name goes to the unit registry
        return self._units

    def unit_code(self, value) -> str:
        uom_id, name = _m2o(value)
        if uom_id is None:
            return ""
        return self.units([uom_id]).get(uom_id) or name

    def banks(self, partner_rows: list[dict]) -> dict[int, list[dict]]:
        ids = sorted({i for row in partner_rows for i in (row.get("bank_ids") or [])})
        if not ids:
            return {}
        fields = self.available("res.partner.bank", BANK_FIELDS)
        by_partner = defaultdict(list)
        for row in sorted(self.client.read("res.partner.bank", ids, fields), key=lambda r: r["id"]):
            partner_id, _ = _m2o(row.get("partner_id"))
            by_partner[partner_id].append(row)
        return by_partner


# -- mapping: Odoo records -> source payloads ---------------------------------------------------------------------
def _supplier_payloads(ctx: Inbound, rows: list[dict]) -> list[dict]:
    countries = ctx.countries([_m2o(r.get("country_id"))[0] for r in rows])
    banks = ctx.banks(rows)
    records = []
    for row in rows:
        name = _text(row.get("name"))
        payload: dict = {"legal_name": name}
        extra: dict = {"model": VENDORS, "id": row["id"], "active": bool(row.get("active", True))}
        vat, ref, registry_no = _text(row.get("vat")), _text(row.get("ref")), _text(row.get("company_registry"))
        if registry_no and _EIN.match(registry_no):
            payload["ein"] = registry_no
        elif registry_no:
            extra["company_registry"] = registry_no
        if vat and _EIN.match(vat) and "ein" not in payload:
            payload["ein"] = vat
        elif vat and _EIN.match(vat):
            extra["vat"] = vat
        elif vat:
            payload["vat"] = vat
        if ref and _DUNS.match(ref):
            payload["duns"] = ref.replace("-", "")
        elif ref:
            extra["ref"] = ref
        email = _text(row.get("email"))
        phone = _text(row.get("phone")) or _text(row.get("mobile"))
        if email or phone:
            payload["contacts"] = [{"name": name or email, "email": email, "phone": phone}]
        country = countries.get(_m2o(row.get("country_id"))[0] or 0, "")
        street, city = _text(row.get("street")), _text(row.get("city"))
        if street and city and country:
            payload["addresses"] = [
                {
                    "kind": "order_from",
                    "line1": street,
                    "line2": _text(row.get("street2")),
                    "city": city,
                    "postal_code": _text(row.get("zip")),
                    "country": country,
                }
            ]
        elif street or city or country:
            extra["address"] = {"street": street, "city": city, "zip": _text(row.get("zip")), "country": country}
        accounts, left_out = [], []
        for bank in banks.get(row["id"], []):
            number = _text(bank.get("acc_number")).replace(" ", "").upper()
            holder = _text(bank.get("acc_holder_name")) or name
            routing = _text(bank.get("aba_routing"))
            if _IBAN.match(number):
                accounts.append({"holder_name": holder, "iban": number})
            elif number and routing:
                accounts.append({"holder_name": holder, "aba_routing": routing, "account_number": number})
            elif number:
                left_out.append(mask(number))
        if accounts:
            payload["bank_accounts"] = accounts
        if left_out:
            extra["bank_accounts_left_out"] = left_out  # masked: no IBAN and no ABA routing number at Odoo
        payload["odoo"] = extra
        records.append({"external_id": str(row["id"]), "payload": payload})
    return records


def _item_payloads(ctx: Inbound, rows: list[dict]) -> tuple[list[dict], int]:
    ctx.units([_m2o(r.get("uom_id"))[0] for r in rows])
    records, skipped = [], 0
    for row in rows:
        kind = _text(row.get("type")) or _text(row.get("detailed_type"))
        if kind in NOT_ITEMS:
            skipped += 1
            continue
        unit = ctx.unit_code(row.get("uom_id"))
        payload: dict = {
            "description": _text(row.get("name")),
            "manufacturer_part_number": _text(row.get("default_code")),
            "item_type": DEFAULT_ITEM_TYPE,
            "base_unit": unit,
        }
        barcode = _text(row.get("barcode"))
        if barcode:
            payload["packaging"] = [{"unit": unit, "quantity": 1, "gtin": barcode}]
        payload["odoo"] = {"model": PRODUCTS, "id": row["id"], "active": bool(row.get("active", True)), "type": kind}
        records.append({"external_id": str(row["id"]), "payload": payload})
    return records, skipped


def contract_external_id(partner_id: int, currency: str) -> str:
    return f"vendor_prices:{partner_id}:{currency}"


def _price_payloads(ctx: Inbound, rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(contracts, prices): one derived contract per vendor and currency, then the price lines."""
    ctx.units([_m2o(r.get("product_uom_id") or r.get("product_uom"))[0] for r in rows])
    hub_products = ctx.own(PRODUCTS, [_m2o(r.get("product_tmpl_id"))[0] for r in rows])
    contracts: dict[str, dict] = {}
    prices = []
    for row in rows:
        partner_id, _partner_name = _m2o(row.get("partner_id"))
        product_id, _product_name = _m2o(row.get("product_tmpl_id"))
        currency = _m2o(row.get("currency_id"))[1].upper()
        contract = contract_external_id(partner_id or 0, currency)
        if contract not in contracts:
            contracts[contract] = {
                "external_id": contract,
                "payload": {
                    "number": f"{ctx.system.name[:60]} vendor prices {partner_id} {currency}".strip(),
                    "supplier": str(partner_id or ""),
                    "kind": PRICE_CONTRACT_KIND,
                    "start_date": OPEN_START,
                    "end_date": OPEN_END,
                    "currency": currency,
                    "odoo": {"derived_from": PRICES, "partner_id": partner_id},
                },
            }
        payload: dict = {
            "contract": contract,
            "item": str(product_id or ""),
            "unit": ctx.unit_code(row.get("product_uom_id") or row.get("product_uom")),
            "price": _decimal4(row.get("price") or 0),
            "min_quantity": _quantity(row.get("min_qty")),
            "start_date": _text(row.get("date_start")) or OPEN_START,
            "end_date": _text(row.get("date_end")) or OPEN_END,
            "currency": currency,
        }
        held = hub_products.get(str(product_id))
        if held is not None:  # a product the hub sent: name the golden item by what was sent
            sent = held.last_payload or {}
            if sent.get("barcode"):
                payload["item_gtin"] = sent["barcode"]
            if sent.get("default_code"):
                payload["item_part_number"] = sent["default_code"]
        payload["odoo"] = {
            "model": PRICES,
            "id": row["id"],
            "partner_id": partner_id,
            "product_code": _text(row.get("product_code")),
            "product_name": _text(row.get("product_name")),
        }
        prices.append({"external_id": str(row["id"]), "payload": payload})
    return list(contracts.values()), prices


def map_records(ctx: Inbound, model: str, rows: list[dict]) -> tuple[list[tuple[str, list[dict]]], int]:
    """Odoo records of ``model`` -> ``([(entity_type, ingest records), ...], skipped)`` in ingest order."""
    if model == VENDORS:
        return [("supplier", _supplier_payloads(ctx, rows))], 0
    if model == PRODUCTS:
        records, skipped = _item_payloads(ctx, rows)
        return [("item", records)], skipped
    if model == PRICES:
        contracts, prices = _price_payloads(ctx, rows)
        return [("contract", contracts), ("contract_price", prices)], 0
    raise ValueError(f"the inbound pull does not read {model}")


def ingest_mapped(ctx: Inbound, batches, *, actor=None, match: bool | None = None, filename: str = "") -> dict:
    """Store mapped records (one ingest call per entity type); returns ``{entity_type: [RecordResult]}``."""
    results = {}
    for entity_type, records in batches:
        if not records:
            results[entity_type] = []
            continue
        result = source_records_ingest(
            system=ctx.system,
            entity_type=entity_type,
            records=records,
            actor=actor,
            channel=IngestBatch.Channel.ODOO,
            filename=filename,
            max_batch=max(len(records), 1),
            match=match,
        )
        results[entity_type] = result.results
    return results


# -- the pull -----------------------------------------------------------------------------------------------------
def source_system_for(target: Target) -> SourceSystem:
    """The target's source system; created (kind odoo, the ERP's trust rank) and remembered when not set."""
    if target.source_system_id:
        return target.source_system
    name = (slugify(target.name) or f"odoo-target-{target.pk}")[:100]
    system, _created = SourceSystem.objects.get_or_create(
        name=name,
        defaults={
            "kind": SourceKind.ODOO,
            "trust_rank": ODOO_TRUST_RANK,
            "description": f"Odoo at {target.url} (database {target.database}): vendors, products and vendor "
            f"prices pulled by target '{target.name}'.",
        },
    )
    target.source_system = system
    target.save(update_fields=["source_system", "updated_at"])
    return system


def _blank(model: str) -> dict:
    figures = {"fetched": 0, "stored": 0, "unchanged": 0, "skipped_own": 0, "rejected": 0}
    if model == PRODUCTS:
        figures["skipped_other"] = 0
    return figures


def _count(figures: dict, results) -> None:
    for result in results:
        key = {IngestOutcome.STORED: "stored", IngestOutcome.UNCHANGED: "unchanged"}.get(result.outcome, "rejected")
        figures[key] = figures.get(key, 0) + 1


def pull_target(
    target: Target,
    *,
    actor=None,
    limit: int | None = None,
    page_size: int = PAGE_SIZE,
    settle_seconds: int = SETTLE_SECONDS,
    models=PULL_MODELS,
) -> SyncRun:
    """Pull vendors, products and vendor prices changed at ``target`` (an Odoo target) since the last pull.

    Returns the ``SyncRun`` (kind ``pull``) with figures per model: ``fetched`` (read from Odoo), ``stored``
    (new source record versions), ``unchanged``, ``skipped_own`` (records the hub created there), ``rejected``
    (quarantined with their reasons); products also ``skipped_other`` (services, combos), and the derived
    vendor-price contracts under ``contracts``. ``limit`` caps the records read per model in this run. Records
    written in the last ``settle_seconds`` are stored now and read again by the next pull (see ``pages``).
    An Odoo error (down, a serialization failure, an access error) stops the run: it is marked failed with
    the message and the model's watermark stays where the last stored page left it.
    """
    if target.kind != Target.Kind.ODOO or not target.inbound:
        raise ValueError(f"target {target} is not an Odoo target with inbound pulls on")
    run = SyncRun.objects.create(
        target=target, kind=SyncRun.Kind.PULL, figures={model: _blank(model) for model in models}
    )
    client = OdooClient.from_target(target)
    model = ""
    try:
        system = source_system_for(target)
        ctx = Inbound(target, client, system)
        run.figures["contracts"] = {"stored": 0, "unchanged": 0, "rejected": 0}
        settled_before = ""
        if settle_seconds:
            settled_before = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settle_seconds)).strftime(_SECOND)
        for model in models:
            _pull_model(ctx, run, model, actor=actor, limit=limit, page_size=page_size, settled_before=settled_before)
    except (OdooError, IngestBatchError) as exc:
        return _failed(run, model, exc)
    except Exception as exc:
        _failed(run, model, exc)
        raise
    finally:
        client.close()
    run.status = "done"
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "figures"])
    return run


def _failed(run: SyncRun, model: str, exc: Exception) -> SyncRun:
    message = f"{model}: {exc}" if model else str(exc)
    log.warning("inbound pull from %s failed: %s", run.target, message)
    run.status = "failed"
    run.error = message[:4000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "figures"])
    if model:
        Watermark.objects.filter(target=run.target, model=model).update(
            last_error=message[:4000], last_run_at=run.finished_at
        )
    return run


def _pull_model(ctx: Inbound, run: SyncRun, model: str, *, actor, limit, page_size, settled_before) -> None:
    watermark, _ = Watermark.objects.get_or_create(target=ctx.target, model=model)
    figures = run.figures.setdefault(model, _blank(model))
    fields = ctx.available(model, FIELDS[model])
    fetched = 0
    for rows, mark in pages(
        ctx.client,
        model,
        fields,
        domain=DOMAINS[model],
        since=(watermark.write_date, watermark.last_id),
        page_size=page_size,
        limit=limit,
        settled_before=settled_before,
    ):
        own = ctx.own(model, [row["id"] for row in rows])
        keep = [row for row in rows if str(row["id"]) not in own]
        batches, skipped = map_records(ctx, model, keep)
        with transaction.atomic():
            results = ingest_mapped(ctx, batches, actor=actor, filename=f"{ctx.target.name}: {model}")
            fetched += len(rows)
            figures["fetched"] += len(rows)
            figures["skipped_own"] += len(rows) - len(keep)
            if skipped:
                figures["skipped_other"] = figures.get("skipped_other", 0) + skipped
            for entity_type, entity_results in results.items():
                _count(run.figures["contracts"] if entity_type == "contract" else figures, entity_results)
            watermark.write_date, watermark.last_id = mark
            watermark.last_run_at, watermark.last_count, watermark.last_error = timezone.now(), fetched, ""
            watermark.save()
            run.save(update_fields=["figures"])
    Watermark.objects.filter(pk=watermark.pk).update(last_run_at=timezone.now(), last_count=fetched, last_error="")
