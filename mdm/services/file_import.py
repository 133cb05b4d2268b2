"""Import source records from a CSV or XLSX file, with a per-row report.

Columns are the payload fields of the entity type (docs/ingest-payloads.md). Nested values use dotted
column names (``packaging.0.unit``, ``addresses.0.city``); list-of-text fields take ``|``-separated
values (``aliases``). Empty cells are left out. The whole file is one transaction: a server error
leaves nothing behind, while rows that fail validation are reported and kept in quarantine.
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from mdm.models import IngestBatch, SourceSystem
from mdm.services.ingest import IngestBatchError, source_records_ingest

LIST_SEPARATOR = "|"
LIST_FIELDS = {"aliases"}
MAX_FILE_BYTES = 200 * 1024 * 1024


class FileImportError(Exception):
    """The file can't be imported at all (unreadable, no external_id column, duplicate ids); nothing written."""

    def __init__(self, message: str, row_errors: list[dict] | None = None):
        self.row_errors = row_errors or []
        super().__init__(message)


@dataclass
class RowReport:
    row: int  # 1-based line in the file, header = 1
    external_id: str
    outcome: str
    errors: str = ""


@dataclass
class FileImportReport:
    rows: list[RowReport] = field(default_factory=list)
    batches: list[IngestBatch] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(r.outcome == outcome for r in self.rows)

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["row", "external_id", "outcome", "errors"])
            for r in self.rows:
                writer.writerow([r.row, r.external_id, r.outcome, r.errors])


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # catalogs exported from Excel on Windows
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    yield from csv.DictReader(io.StringIO(text), dialect=dialect)


def _read_xlsx(path: Path, sheet: str | None) -> Iterator[dict[str, Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
    except KeyError:
        raise FileImportError(
            f"Sheet '{sheet}' not found; the workbook has: {', '.join(workbook.sheetnames)}."
        ) from None
    rows = worksheet.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
    for values in rows:
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        yield dict(zip(header, values, strict=False))


def read_rows(path: Path, *, sheet: str | None = None) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if not path.exists():
        raise FileImportError(f"File not found: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FileImportError(f"File is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it.")
    if suffix in {".xlsx", ".xlsm"}:
        return list(_read_xlsx(path, sheet))
    if suffix in {".csv", ".txt", ".tsv"}:
        return list(_read_csv(path))
    raise FileImportError(f"Unsupported file type '{suffix}': use .csv or .xlsx.")


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 100 as 100.0; GTINs and quantities must not grow a '.0'
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if hasattr(value, "date") else value.isoformat()
    text = str(value).strip()
    return text or None


def row_to_payload(row: dict[str, Any], *, id_column: str) -> tuple[str, dict[str, Any]]:
    """Turn a flat row into (external_id, nested payload)."""
    payload: dict[str, Any] = {}
    external_id = _cell(row.get(id_column))
    for column, raw in row.items():
        if column is None or column == id_column:
            continue
        value = _cell(raw)
        if value is None:
            continue
        parts = str(column).strip().split(".")
        if len(parts) == 1 and parts[0] in LIST_FIELDS:
            value = [part.strip() for part in str(value).split(LIST_SEPARATOR) if part.strip()]
        target: Any = payload
        for position, part in enumerate(parts):
            last = position == len(parts) - 1
            next_is_index = not last and parts[position + 1].isdigit()
            if isinstance(target, list):
                index = int(part)
                while len(target) <= index:
                    target.append({})
                if last:
                    target[index] = value
                else:
                    target = target[index]
                continue
            if last:
                target[part] = value
            else:
                target = target.setdefault(part, [] if next_is_index else {})
    for key, value in payload.items():
        if isinstance(value, list):
            payload[key] = [v for v in value if v not in ({}, None)]
    return (str(external_id) if external_id is not None else ""), payload


def _format_errors(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        out = []
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_format_errors(value, name))
        return out
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [f"{prefix}: {e}" if prefix else e for e in errors]
        out = []
        for index, value in enumerate(errors):
            if value:
                out.extend(_format_errors(value, f"{prefix}[{index}]"))
        return out
    return [f"{prefix}: {errors}"]


def source_records_import_file(
    *,
    path: Path,
    system: SourceSystem,
    entity_type: str,
    actor=None,
    id_column: str = "external_id",
    sheet: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> FileImportReport:
    """Import every row of a CSV/XLSX file as source records of ``entity_type`` for ``system``."""
    rows = read_rows(Path(path), sheet=sheet)
    if not rows:
        raise FileImportError("The file has no data rows.")
    if id_column not in rows[0]:
        raise FileImportError(
            f"The file has no '{id_column}' column (columns: {', '.join(map(str, rows[0].keys()))}); "
            "every row needs its id in the source system."
        )
    parsed = [row_to_payload(row, id_column=id_column) for row in rows]
    seen: dict[str, int] = {}
    problems = []
    for index, (external_id, _) in enumerate(parsed):
        line = index + 2
        if not external_id:
            problems.append({"row": line, "external_id": "", "errors": f"{id_column}: this column is empty."})
        elif external_id in seen:
            problems.append(
                {
                    "row": line,
                    "external_id": external_id,
                    "errors": f"{id_column}: duplicate of row {seen[external_id]}.",
                }
            )
        else:
            seen[external_id] = line
    if problems:
        raise FileImportError(
            f"{len(problems)} row(s) have a missing or duplicate {id_column}; nothing imported.", problems
        )

    report = FileImportReport()
    chunk = settings.INGEST_MAX_BATCH
    with transaction.atomic():
        for start in range(0, len(parsed), chunk):
            part = parsed[start : start + chunk]
            try:
                result = source_records_ingest(
                    system=system,
                    entity_type=entity_type,
                    records=[{"external_id": ext, "payload": payload} for ext, payload in part],
                    actor=actor,
                    channel=IngestBatch.Channel.FILE,
                    filename=Path(path).name,
                )
            except IngestBatchError as exc:
                raise FileImportError(f"Rows {start + 2}-{start + len(part) + 1}: {exc}") from exc
            report.batches.append(result.batch)
            for r in result.results:
                report.rows.append(
                    RowReport(
                        row=start + r.index + 2,
                        external_id=r.external_id,
                        outcome=r.outcome,
                        errors="; ".join(_format_errors(r.errors)),
                    )
                )
            if progress:
                progress(len(part))
    return report
