"""Import a GPO or distributor price file (CSV or XLSX) into source records, with a per-row report.

A price file is one row per price line, with the columns such files really have (header names are
matched case- and punctuation-insensitively; the first name is the canonical one):

============================  ====================================================================
column                        also accepted as
============================  ====================================================================
Contract Number *             Contract No, Contract #, Contract, Agreement Number
Supplier *                    Supplier Name, Vendor, Vendor Name
Supplier ID                   Supplier Number, Vendor Number, Vendor ID, Vendor # (else the name)
GTIN **                       GTIN-14, UDI-DI, Item GTIN
Manufacturer Part Number **   Mfr Part Number, Mfr Part #, MPN, Catalog Number, Mfr Catalog Number
Manufacturer                  Manufacturer Name, Mfr
Description                   Item Description, Product Description
UOM *                         Unit, Unit of Measure, Price UOM
Price *                       Contract Price, Unit Price, Tier Price
Tier Min Qty                  Min Qty, Minimum Quantity, Tier Minimum, Tier Qty (default 1)
Tier Max Qty                  Max Qty, Maximum Quantity
Start Date *                  Effective Date, Price Start Date, Effective From
End Date *                    Expiration Date, Expiry Date, Price End Date, Effective To
Currency *                    Currency Code (or a default for the whole file)
Contract Start Date           Contract Effective Date (else the earliest price start of the contract)
Contract End Date             Contract Expiration Date (else the latest price end of the contract)
Line ID                       Price ID, Line Number (else contract, item, unit, tier and start)
Facility                      Business Unit, Facility Name, Site (else group-wide: every facility)
============================  ====================================================================

\\* required; \\*\\* at least one of the two on each row. Dates are ``YYYY-MM-DD`` text or date cells,
inclusive at both ends. XLSX number cells are read through their shortest decimal form (what was typed),
text cells exactly; amounts are ``Decimal`` throughout.

The file becomes source records of the importing system: one ``supplier`` per supplier, one ``contract``
per contract number, one ``contract_price`` per row (its item named by GTIN or part number, see
``contracts.serializers.ContractPricePayloadSerializer``). Golden records are made from them later,
as for any source (steward or matching).

**All or nothing**: every row is validated first, with the same payload serializers ingest uses, and
the file as a whole (overlapping tiers, a contract given two suppliers or currencies). Any problem
raises :class:`mdm.services.file_import.FileImportError` with the errors per row and column, and
nothing is written (a price file is one agreement: half of it loaded would price orders wrongly).
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.choices import ContractKind
from contracts.serializers import ContractPayloadSerializer, ContractPricePayloadSerializer
from items.models import part_number_key
from mdm import registry
from mdm.identifiers import clean_currency, clean_gtin
from mdm.models import IngestBatch, SourceSystem
from mdm.services.file_import import FileImportError, FileImportReport, RowReport, read_rows
from mdm.services.ingest import IngestBatchError, source_records_ingest

COLUMNS: dict[str, tuple[str, ...]] = {
    "contract_number": ("Contract Number", "Contract No", "Contract #", "Contract", "Agreement Number"),
    "supplier_name": ("Supplier", "Supplier Name", "Vendor", "Vendor Name"),
    "supplier_id": ("Supplier ID", "Supplier Number", "Vendor Number", "Vendor ID", "Vendor #"),
    "gtin": ("GTIN", "GTIN-14", "UDI-DI", "Item GTIN"),
    "part_number": (
        "Manufacturer Part Number",
        "Mfr Part Number",
        "Mfr Part #",
        "MPN",
        "Catalog Number",
        "Mfr Catalog Number",
    ),
    "manufacturer": ("Manufacturer", "Manufacturer Name", "Mfr"),
    "description": ("Description", "Item Description", "Product Description"),
    "unit": ("UOM", "Unit", "Unit of Measure", "Price UOM"),
    "price": ("Price", "Contract Price", "Unit Price", "Tier Price"),
    "min_quantity": ("Tier Min Qty", "Min Qty", "Minimum Quantity", "Tier Minimum", "Tier Qty"),
    "max_quantity": ("Tier Max Qty", "Max Qty", "Maximum Quantity"),
    "start_date": ("Start Date", "Effective Date", "Price Start Date", "Effective From"),
    "end_date": ("End Date", "Expiration Date", "Expiry Date", "Price End Date", "Effective To"),
    "currency": ("Currency", "Currency Code"),
    "contract_start": ("Contract Start Date", "Contract Effective Date"),
    "contract_end": ("Contract End Date", "Contract Expiration Date"),
    "facility": ("Facility", "Business Unit", "Facility Name", "Site"),
    "line_id": ("Line ID", "Price ID", "Line Number"),
}
REQUIRED = ("contract_number", "supplier_name", "unit", "price", "start_date", "end_date")
_NOT_ALNUM = re.compile(r"[^a-z0-9#]")
# Payload field -> the column its errors are reported against.
_PAYLOAD_COLUMN = {
    "item_gtin": "gtin",
    "item_part_number": "part_number",
    "item_manufacturer": "manufacturer",
    "item_description": "description",
    "unit": "unit",
    "price": "price",
    "min_quantity": "min_quantity",
    "max_quantity": "max_quantity",
    "start_date": "start_date",
    "end_date": "end_date",
    "currency": "currency",
    "contract": "contract_number",
    "item": "gtin",
}


def _header_key(text: Any) -> str:
    return _NOT_ALNUM.sub("", str(text or "").casefold())


_BY_HEADER = {_header_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


@dataclass
class PriceFileReport(FileImportReport):
    """The per-row report (one row per price line) and the suppliers and contracts stored from the file."""

    suppliers: dict[str, int] = field(default_factory=dict)
    contracts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        def counts(outcomes: dict[str, int]) -> str:
            return ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "none"

        return (
            f"{len(self.rows)} price rows: {self.count('stored')} stored, {self.count('unchanged')} unchanged, "
            f"{self.count('rejected')} rejected; contracts: {counts(self.contracts)}; "
            f"suppliers: {counts(self.suppliers)}."
        )


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    price: dict = field(default_factory=dict)
    external_id: str = ""


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        # Excel keeps numbers as binary floats; repr is the shortest decimal that reads back the same,
        # i.e. what was typed (12.5, not 12.4999...). 100.0 becomes 100 so GTINs and tiers stay whole.
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    return text or None


def _map_header(columns: list[Any]) -> tuple[dict[str, str], list[str]]:
    """Canonical name -> the file's header; and the problems (missing or doubled columns)."""
    found: dict[str, str] = {}
    problems = []
    for column in columns:
        name = _BY_HEADER.get(_header_key(column))
        if name is None:
            continue
        if name in found:
            problems.append(f"Columns '{found[name]}' and '{column}' both give the {name.replace('_', ' ')}.")
        found[name] = str(column)
    return found, problems


def _label(header: dict[str, str], name: str) -> str:
    return header.get(name) or COLUMNS[name][0]


def _date(text: Any) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    try:
        return dt.date.fromisoformat(str(text)).isoformat(), None
    except ValueError:
        return None, f"'{text}' is not a date: write it as YYYY-MM-DD (or use a date cell)."


def _flatten(errors: Any) -> list[str]:
    if isinstance(errors, dict):
        return [message for value in errors.values() for message in _flatten(value)]
    if isinstance(errors, list):
        return [message for value in errors for message in _flatten(value)]
    return [str(errors)]


class _Reader:
    """Validates a price file row by row and as a whole; builds the source payloads."""

    def __init__(self, *, system, kind: str, gpo_name: str, currency: str):
        self.system, self.kind, self.gpo_name, self.currency = system, kind, gpo_name, currency
        self.context = {"system": system, "cache": {}}
        self.header: dict[str, str] = {}
        self.contracts: dict[str, dict] = {}  # number -> contract facts and the rows that gave them
        self.suppliers: dict[str, dict] = {}

    def error(self, row: _Row, name: str, message: str) -> None:
        row.errors.append(f"{_label(self.header, name)}: {message}")

    def read_row(self, row: _Row) -> None:
        get = row.values.get
        for name in REQUIRED:
            if get(name) is None:
                self.error(row, name, "this cell is empty.")
        gtin = get("gtin")
        item_ref = None
        if gtin is not None:
            try:
                gtin = clean_gtin(str(gtin))
                item_ref = f"gtin:{gtin}"
            except ValidationError as exc:
                self.error(row, "gtin", " ".join(exc.messages))
                gtin = None
        part = get("part_number")
        if item_ref is None and part is not None and not row.errors:
            item_ref = f"mpn:{part_number_key(part)}"
        if get("gtin") is None and part is None:
            row.errors.append(
                f"{_label(self.header, 'gtin')} / {_label(self.header, 'part_number')}: give the item's GTIN or "
                "manufacturer part number."
            )
        currency = get("currency") or self.currency
        if currency is None:
            self.error(row, "currency", "this cell is empty and the file has no default currency.")
        else:
            try:
                currency = clean_currency(currency)
            except ValidationError as exc:
                self.error(row, "currency", " ".join(exc.messages))
                currency = None
        dates = {}
        for name in ("start_date", "end_date", "contract_start", "contract_end"):
            dates[name], problem = _date(get(name))
            if problem:
                self.error(row, name, problem)
        payload = {
            "contract": get("contract_number"),
            "item": item_ref,
            "unit": get("unit"),
            "price": get("price"),
            "min_quantity": get("min_quantity"),
            "start_date": dates["start_date"],
            "end_date": dates["end_date"],
        }
        optional = {
            "item_gtin": gtin,
            "item_part_number": part,
            "item_manufacturer": get("manufacturer"),
            "item_description": get("description"),
            "max_quantity": get("max_quantity"),
            "currency": currency,
        }
        payload = {key: value for key, value in (payload | optional).items() if value is not None}
        if row.errors:
            return
        serializer = ContractPricePayloadSerializer(data=payload, context=self.context)
        if not serializer.is_valid():
            for key, messages in serializer.errors.items():
                for message in _flatten(messages):
                    self.error(row, _PAYLOAD_COLUMN.get(key, "price"), message)
            return
        row.price = serializer.validated_data
        row.price["_payload"] = payload
        row.external_id = get("line_id") or (
            f"{payload['contract']}:{item_ref}:{row.price['unit']}:{row.price['min_quantity']}:{payload['start_date']}"
        )
        self._contract_facts(row, currency, dates)

    def _contract_facts(self, row: _Row, currency: str, dates: dict) -> None:
        get = row.values.get
        number = str(get("contract_number"))
        supplier_ext = str(get("supplier_id") or get("supplier_name"))
        facts = self.contracts.setdefault(
            number,
            {
                "row": row.line,
                "supplier": supplier_ext,
                "supplier_name": get("supplier_name"),
                "currency": currency,
                "start": dates["contract_start"],
                "end": dates["contract_end"],
                "facility": get("facility"),
                "price_starts": [],
                "price_ends": [],
            },
        )
        for key, value, name in (
            ("supplier", supplier_ext, "supplier_id" if get("supplier_id") else "supplier_name"),
            ("currency", currency, "currency"),
            ("start", dates["contract_start"], "contract_start"),
            ("end", dates["contract_end"], "contract_end"),
            ("facility", get("facility"), "facility"),
        ):
            if facts[key] != value:
                self.error(
                    row,
                    name,
                    f"contract {number} is given {facts[key] or 'none'} on row {facts['row']} and {value or 'none'} "
                    "here; a contract has one supplier, currency, term and facility.",
                )
        facts["price_starts"].append(row.price["start_date"])
        facts["price_ends"].append(row.price["end_date"])
        self.suppliers.setdefault(supplier_ext, {"legal_name": get("supplier_name"), "row": row.line})

    def check_tiers(self, rows: list[_Row]) -> None:
        """Two rows of one contract, item and unit whose tiers overlap on a common day."""
        groups: dict[tuple, list[_Row]] = {}
        for row in rows:
            if row.price:
                key = (row.price["contract"], row.price["item"], row.price["unit"])
                groups.setdefault(key, []).append(row)
        for (contract, _, unit), group in groups.items():
            for position, first in enumerate(group):
                for second in group[position + 1 :]:
                    a, b = first.price, second.price
                    if a["start_date"] > b["end_date"] or b["start_date"] > a["end_date"]:
                        continue
                    if not _tiers_overlap(a, b):
                        continue
                    self.error(
                        second,
                        "min_quantity",
                        f"the tier {_tier(b, unit)} overlaps the tier {_tier(a, unit)} on row {first.line} for the "
                        f"same contract {contract}, item and unit from {max(a['start_date'], b['start_date'])} to "
                        f"{min(a['end_date'], b['end_date'])}; an order must fall in one tier.",
                    )

    def check_contracts(self, rows: list[_Row]) -> dict[str, dict]:
        """The contract payloads; errors go to the rows whose prices fall outside their contract's term."""
        payloads = {}
        for number, facts in self.contracts.items():
            start = facts["start"] or min(facts["price_starts"]).isoformat()
            end = facts["end"] or max(facts["price_ends"]).isoformat()
            payload = {
                "number": number,
                "supplier": facts["supplier"],
                "supplier_name": facts["supplier_name"],
                "kind": self.kind,
                "gpo_name": self.gpo_name,
                "start_date": start,
                "end_date": end,
                "currency": facts["currency"],
            }
            if facts["facility"] is not None:
                payload["facility"] = str(facts["facility"])
            serializer = ContractPayloadSerializer(data=payload, context=self.context)
            if not serializer.is_valid():
                first = next(row for row in rows if row.line == facts["row"])
                for key, messages in serializer.errors.items():
                    name = {"start_date": "contract_start", "end_date": "contract_end", "facility": "facility"}.get(
                        key, "contract_number"
                    )
                    for message in _flatten(messages):
                        self.error(first, name, f"contract {number}: {message}")
                continue
            payloads[number] = payload
            for row in rows:
                if not row.price or row.price["contract"] != number:
                    continue
                if row.price["start_date"].isoformat() < start or row.price["end_date"].isoformat() > end:
                    self.error(
                        row,
                        "start_date",
                        f"the price runs {row.price['start_date']} to {row.price['end_date']}, outside contract "
                        f"{number}'s term {start} to {end}.",
                    )
        return payloads

    def supplier_payloads(self, rows: list[_Row]) -> dict[str, dict]:
        serializer_class = registry.get("supplier").payload_serializer
        payloads = {}
        for ext, facts in self.suppliers.items():
            payload = {"legal_name": facts["legal_name"]}
            serializer = serializer_class(data=payload, context=self.context)
            if not serializer.is_valid():
                first = next(row for row in rows if row.line == facts["row"])
                for message in _flatten(serializer.errors):
                    self.error(first, "supplier_name", message)
                continue
            payloads[ext] = payload
        return payloads


def _tiers_overlap(a: dict, b: dict) -> bool:
    """Same minimum, or a stated maximum that reaches into the other tier."""
    if a["min_quantity"] == b["min_quantity"]:
        return True
    low, high = (a, b) if a["min_quantity"] < b["min_quantity"] else (b, a)
    return low.get("max_quantity") is not None and low["max_quantity"] >= high["min_quantity"]


def _tier(price: dict, unit: str) -> str:
    top = price.get("max_quantity")
    return f"{price['min_quantity']}-{top} {unit}" if top is not None else f"from {price['min_quantity']} {unit}"


def _ingest(system, entity_type: str, records: list[dict], *, actor, filename: str, report) -> list:
    results = []
    chunk = settings.INGEST_MAX_BATCH
    for start in range(0, len(records), chunk):
        part = records[start : start + chunk]
        try:
            result = source_records_ingest(
                system=system,
                entity_type=entity_type,
                records=part,
                actor=actor,
                channel=IngestBatch.Channel.FILE,
                filename=filename,
            )
        except IngestBatchError as exc:
            raise FileImportError(f"{entity_type} records {start + 1}-{start + len(part)}: {exc}") from exc
        report.batches.append(result.batch)
        results.extend(result.results)
    return results


def _outcomes(results) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return counts


def contract_prices_import_file(
    *,
    path: Path,
    system: SourceSystem,
    kind: str = ContractKind.GPO,
    gpo_name: str = "",
    currency: str = "",
    actor=None,
    sheet: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> PriceFileReport:
    """Import a GPO or distributor price file as supplier, contract and contract price source records.

    ``kind`` is the contracts' kind (gpo, distributor, local) and ``gpo_name`` the GPO; ``currency`` is
    the default for rows without one. Raises ``FileImportError`` (with ``row_errors``: row, external id,
    errors naming the column) and writes nothing when any row or the file as a whole is invalid.
    """
    if kind not in ContractKind.values:
        raise FileImportError(f"Unknown contract kind '{kind}'; expected one of {', '.join(ContractKind.values)}.")
    if currency:
        try:
            currency = clean_currency(currency)
        except ValidationError as exc:
            raise FileImportError(f"Default currency: {' '.join(exc.messages)}") from None
    raw_rows = read_rows(Path(path), sheet=sheet)
    if not raw_rows:
        raise FileImportError("The file has no data rows.")
    header, problems = _map_header(list(raw_rows[0].keys()))
    missing = [COLUMNS[name][0] for name in REQUIRED if name not in header]
    if "gtin" not in header and "part_number" not in header:
        missing.append(f"{COLUMNS['gtin'][0]} or {COLUMNS['part_number'][0]}")
    if "currency" not in header and not currency:
        missing.append(f"{COLUMNS['currency'][0]} (or a default currency)")
    if missing or problems:
        columns = ", ".join(str(c) for c in raw_rows[0])
        raise FileImportError(
            " ".join(problems)
            + (f" Missing column(s): {', '.join(missing)}." if missing else "")
            + f" The file's columns: {columns}. Nothing imported."
        )

    reader = _Reader(system=system, kind=kind, gpo_name=gpo_name, currency=currency or None)
    reader.header = header
    rows = [
        _Row(line=index + 2, values={name: _cell(raw.get(column)) for name, column in header.items()})
        for index, raw in enumerate(raw_rows)
    ]
    for row in rows:
        reader.read_row(row)
    seen: dict[str, int] = {}
    for row in rows:
        if row.external_id and row.external_id in seen:
            reader.error(row, "line_id", f"the same price line as row {seen[row.external_id]}.")
        seen.setdefault(row.external_id, row.line)
    reader.check_tiers(rows)
    contracts = reader.check_contracts(rows)
    suppliers = reader.supplier_payloads(rows)
    bad = [row for row in rows if row.errors]
    if bad:
        raise FileImportError(
            f"{len(bad)} of {len(rows)} row(s) have errors; nothing imported.",
            [{"row": row.line, "external_id": row.external_id, "errors": "; ".join(row.errors)} for row in bad],
        )

    filename = Path(path).name
    report = PriceFileReport()
    with transaction.atomic():
        supplier_results = _ingest(
            system,
            "supplier",
            [{"external_id": ext, "payload": payload} for ext, payload in suppliers.items()],
            actor=actor,
            filename=filename,
            report=report,
        )
        contract_results = _ingest(
            system,
            "contract",
            [{"external_id": number, "payload": payload} for number, payload in contracts.items()],
            actor=actor,
            filename=filename,
            report=report,
        )
        price_results = _ingest(
            system,
            "contract_price",
            [{"external_id": row.external_id, "payload": row.price["_payload"]} for row in rows],
            actor=actor,
            filename=filename,
            report=report,
        )
        report.suppliers, report.contracts = _outcomes(supplier_results), _outcomes(contract_results)
        for row, result in zip(rows, price_results, strict=True):
            report.rows.append(
                RowReport(
                    row=row.line,
                    external_id=row.external_id,
                    outcome=result.outcome,
                    errors="; ".join(_flatten(result.errors)),
                )
            )
        if progress:
            progress(len(rows))
    return report
