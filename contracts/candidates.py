"""Reading the candidate price lines of a lookup: one round trip, and the item's packaging kept per process.

The query is written out rather than built by the ORM: building it cost more than running it, and a
lookup's budget is a few milliseconds (``bench/prices.py``). See :mod:`contracts.lookup` for the rules.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Context, Decimal

from django.db import connection

from contracts.choices import CONTRACT_KIND_PRECEDENCE, ContractKind
from contracts.models import PER_BASE_UNIT_PLACES, Contract, ContractPrice
from mdm.choices import RecordStatus
from uom.conversions import ConversionError, Packaging, packaging_for_item

KIND_NAMES = {ContractKind.LOCAL: "local", ContractKind.GPO: "GPO", ContractKind.DISTRIBUTOR: "distributor"}


class PriceLookupError(ValueError):
    """Bad input to a lookup: ``field`` (``item``, ``supplier``, ``qty``, ``unit``, ``date``, ``currency``) and why."""

    def __init__(self, field: str, message: str, code: str = "invalid"):
        super().__init__(message)
        self.field, self.message, self.code = field, message, code


@dataclass
class Candidate:
    """One price line the lookup considered, with its outcome (``chosen`` or why not) in ``why``."""

    id: int
    price: Decimal
    min_quantity: int
    start_date: dt.date
    end_date: dt.date
    status: str
    price_per_base_unit: Decimal | None
    unit: str
    base_unit: str | None
    contract_id: int
    contract_number: str
    contract_kind: str
    contract_status: str
    contract_start_date: dt.date
    contract_end_date: dt.date
    currency: str
    supplier_id: int
    supplier_name: str
    quantity_in_unit: Decimal | None = None
    outcome: str = ""
    why: str = ""

    @property
    def rank(self) -> int:
        return CONTRACT_KIND_PRECEDENCE.get(self.contract_kind, len(CONTRACT_KIND_PRECEDENCE) + 1)

    @property
    def extended_amount(self) -> Decimal | None:
        """The order's amount at this price: price x quantity in the price's unit (exact, not rounded)."""
        return None if self.quantity_in_unit is None else self.price * self.quantity_in_unit

    def sort_key(self):
        return (self.rank, self.price_per_base_unit, -self.start_date.toordinal(), self.id)

    def label(self) -> str:
        kind = KIND_NAMES.get(self.contract_kind, self.contract_kind)
        return f"{kind} contract {self.contract_number} ({self.supplier_name})"


def _candidate_sql(supplier: bool) -> str:
    """The item (with its packaging fingerprint) left-joined to its price lines in effect on a day.

    Written out rather than built by the ORM: building the query cost more than running it (the lookup's
    budget is a few milliseconds). No row: no such item. One row with a null price id: no candidate.
    """
    from items.models import Item, ItemPackagingLevel
    from suppliers.models import Supplier
    from uom.models import Unit

    tables = {
        "item": Item._meta.db_table,
        "level": ItemPackagingLevel._meta.db_table,
        "price": ContractPrice._meta.db_table,
        "contract": Contract._meta.db_table,
        "supplier": Supplier._meta.db_table,
        "unit": Unit._meta.db_table,
    }
    only_supplier = "AND c.supplier_id = %s" if supplier else ""
    # Table names come from the models' metadata; every value is a query parameter.
    return f"""
        SELECT i.version, i.updated_at, i.levels, i.levels_updated_at, x.*
        FROM (
            SELECT i.id, i.version, i.updated_at,
                   (SELECT COUNT(*) FROM {tables["level"]} l WHERE l.item_id = i.id) AS levels,
                   (SELECT MAX(l.updated_at) FROM {tables["level"]} l WHERE l.item_id = i.id) AS levels_updated_at
            FROM {tables["item"]} i
            WHERE i.id = %s
        ) i
        LEFT JOIN (
            SELECT p.id, p.price, p.min_quantity, p.start_date, p.end_date, p.status, p.price_per_base_unit,
                   u.code AS unit_code, bu.code AS base_unit_code, c.id AS contract_id, c.number, c.kind,
                   c.status AS contract_status, c.start_date AS contract_start, c.end_date AS contract_end,
                   c.currency, c.supplier_id, s.legal_name
            FROM {tables["price"]} p
            JOIN {tables["contract"]} c ON c.id = p.contract_id
            JOIN {tables["supplier"]} s ON s.id = c.supplier_id
            JOIN {tables["unit"]} u ON u.id = p.unit_id
            LEFT JOIN {tables["unit"]} bu ON bu.id = p.base_unit_id
            WHERE p.item_id = %s AND p.start_date <= %s AND p.end_date >= %s AND p.status <> %s {only_supplier}
        ) x ON 1 = 1
        ORDER BY x.id
    """  # noqa: S608


_SQL: dict[bool, str] = {}
_PACKAGINGS: dict[int, tuple[tuple, Packaging]] = {}
_PACKAGINGS_MAX = 100_000
_REAL_DIGITS = Context(prec=15)  # SQLite keeps decimals as 8-byte floats: 15 significant digits are exact


def _decimal(value, places: int) -> Decimal | None:
    """A NUMERIC column as Decimal: PostgreSQL returns Decimal, SQLite a float or an int."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return _REAL_DIGITS.create_decimal_from_float(value).quantize(Decimal(1).scaleb(-places))
    return Decimal(value).quantize(Decimal(1).scaleb(-places))


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def fetch_candidates(item_id: int, on_date: dt.date, supplier_id: int | None) -> tuple[Packaging, list[Candidate]]:
    """The item's packaging and its candidate price lines, in one query (plus one on a packaging cache miss).

    The packaging comes from ``uom.conversions.packaging_for_item`` and is kept per process, keyed by a
    fingerprint read in the same query (the item's version and update time, its packaging levels' count
    and latest update), so a change made by any process is seen by the next lookup.
    """
    supplier = supplier_id is not None
    if supplier not in _SQL:
        _SQL[supplier] = _candidate_sql(supplier)
    params = [item_id, item_id, on_date, on_date, RecordStatus.RETIRED, *([supplier_id] if supplier else [])]
    with connection.cursor() as cursor:
        cursor.execute(_SQL[supplier], params)
        rows = cursor.fetchall()
    if not rows:
        raise PriceLookupError("item", f"There is no item {item_id}.", "unknown_item")
    fingerprint = tuple(str(value) for value in rows[0][:4])
    cached = _PACKAGINGS.get(item_id)
    if cached is not None and cached[0] == fingerprint:
        packaging = cached[1]
    else:
        try:
            packaging = packaging_for_item(item_id)
        except ConversionError as exc:
            raise PriceLookupError("item", f"Item {item_id} has no usable packaging: {exc}", exc.code) from None
        if len(_PACKAGINGS) >= _PACKAGINGS_MAX:
            _PACKAGINGS.clear()
        _PACKAGINGS[item_id] = (fingerprint, packaging)
    candidates = [
        Candidate(
            id=row[4],
            price=_decimal(row[5], 4),
            min_quantity=row[6],
            start_date=_day(row[7]),
            end_date=_day(row[8]),
            status=row[9],
            price_per_base_unit=_decimal(row[10], PER_BASE_UNIT_PLACES),
            unit=row[11],
            base_unit=row[12],
            contract_id=row[13],
            contract_number=row[14],
            contract_kind=row[15],
            contract_status=row[16],
            contract_start_date=_day(row[17]),
            contract_end_date=_day(row[18]),
            currency=row[19],
            supplier_id=row[20],
            supplier_name=row[21],
        )
        for row in rows
        if row[4] is not None
    ]
    return packaging, candidates


def price_candidates(*, item_id: int, on_date: dt.date, supplier_id: int | None = None) -> list[Candidate]:
    """The item's non-retired price lines in effect on ``on_date`` (inclusive dates), with contract and supplier.

    One query on the ``(item, start_date, end_date)`` index. Raises :class:`PriceLookupError` for an unknown item.
    """
    return fetch_candidates(item_id, on_date, supplier_id)[1]
