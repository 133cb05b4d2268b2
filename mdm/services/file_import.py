"""Import source records from a CSV or XLSX file, with a per-row report.

Columns are the payload fields of the entity type (docs/ingest-payloads.md). Nested values use dotted
column names (``packaging.0.unit``, ``addresses.0.city``); list-of-text fields take ``|``-separated
values (``aliases``). Empty cells are left out. The whole file is one transaction: a server error
leaves nothing behind, while rows that fail validation are reported and kept in quarantine.
"""

import csv
import io
import zipfile
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

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx"}
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, and other legacy Office files
#: What a browser or client may declare for each kind (Windows browsers label .csv as application/vnd.ms-excel).
DECLARED_TYPES = {
    "csv": {
        "text/csv",
        "text/plain",
        "text/tab-separated-values",
        "application/csv",
        "application/vnd.ms-excel",
        "application/octet-stream",
    },
    "xlsx": {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/zip",
        "application/octet-stream",
    },
}
PREFERRED_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MACRO_CONTENT_TYPE = "application/vnd.ms-excel.sheet.macroEnabled"


class FileImportError(Exception):
    """The file can't be imported at all (unreadable, no external_id column, duplicate ids); nothing written."""

    def __init__(self, message: str, row_errors: list[dict] | None = None):
        self.row_errors = row_errors or []
        super().__init__(message)


class FileRefused(FileImportError):
    """The file is refused before anything parses it: too large (``status_code`` 413) or not the type its name or
    declared Content-Type says (415). An HTTP entry point answers with ``status_code`` and the message."""

    def __init__(self, message: str, *, status_code: int):
        self.status_code = status_code
        super().__init__(message)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def _check_xlsx(path: Path) -> None:
    """A real Office Open XML workbook, without macros, that does not expand beyond the uncompressed limit.

    The sizes come from the zip's directory; Python's zipfile stops each member at its declared size, so openpyxl
    can never inflate more than the sum checked here.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
                raise FileRefused(
                    f"'{path.name}' is a ZIP archive but not an Excel workbook (no [Content_Types].xml and xl/ "
                    "parts). Save it from Excel as .xlsx, or export CSV.",
                    status_code=415,
                )
            limit = settings.MDM_IMPORT_MAX_UNCOMPRESSED_BYTES
            expanded = sum(m.file_size for m in members)
            if expanded > limit:
                raise FileRefused(
                    f"'{path.name}' expands to {_mb(expanded)} when unzipped, more than the {_mb(limit)} allowed "
                    "(MDM_IMPORT_MAX_UNCOMPRESSED_BYTES): refused unread. Split the workbook or export CSV.",
                    status_code=413,
                )
            content_types = archive.read("[Content_Types].xml")[:1_000_000]
    except zipfile.BadZipFile:
        raise FileRefused(
            f"'{path.name}' is damaged: it starts like a workbook but is not a readable ZIP archive.", status_code=415
        ) from None
    if "xl/vbaProject.bin" in names or MACRO_CONTENT_TYPE.encode().lower() in content_types.lower():
        raise FileRefused(
            f"'{path.name}' is a macro-enabled workbook: refused. Save it as 'Excel Workbook (.xlsx)' without macros.",
            status_code=415,
        )


def _check_csv(path: Path) -> None:
    if b"\x00" in path.read_bytes():
        raise FileRefused(
            f"'{path.name}' contains NUL bytes: it is a binary file, not CSV text. Export the data as CSV "
            "(UTF-8) from the application that made it.",
            status_code=415,
        )


def inspect_file(path: Path, *, declared_type: str | None = None) -> str:
    """Check an import file before it is parsed; return its kind, ``"csv"`` or ``"xlsx"``.

    Refuses (``FileRefused``) a file over ``MDM_IMPORT_MAX_BYTES`` (413); a type other than CSV/XLSX, a
    macro-enabled workbook, a legacy .xls, content that is not what the file name says (an .xlsx renamed .csv),
    a zip bomb, and a ``declared_type`` (the upload's Content-Type) that does not match the content (415).
    """
    path = Path(path)
    if not path.exists():
        raise FileImportError(f"File not found: {path}")
    limit = settings.MDM_IMPORT_MAX_BYTES
    size = path.stat().st_size
    if size > limit:
        raise FileRefused(
            f"'{path.name}' is {_mb(size)}; imports are limited to {_mb(limit)} (MDM_IMPORT_MAX_BYTES). "
            "Split the file.",
            status_code=413,
        )
    suffix = path.suffix.lower()
    if suffix == ".xlsm":
        raise FileRefused(
            f"'{path.name}' is a macro-enabled workbook (.xlsm): refused. Save it as 'Excel Workbook (.xlsx)'.",
            status_code=415,
        )
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        raise FileRefused(f"Unsupported file type '{suffix}': use .csv or .xlsx.", status_code=415)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE2_MAGIC):
        raise FileRefused(
            f"'{path.name}' is a legacy Excel 97-2003 (.xls) file: save it as .xlsx or CSV.", status_code=415
        )
    is_zip = head.startswith(ZIP_MAGIC)
    if suffix in XLSX_SUFFIXES:
        if not is_zip:
            raise FileRefused(
                f"'{path.name}' is named .xlsx but is not an Excel workbook (no ZIP container). If it is CSV text, "
                "name it .csv.",
                status_code=415,
            )
        _check_xlsx(path)
        kind = "xlsx"
    else:
        if is_zip:
            raise FileRefused(
                f"'{path.name}' is named {suffix} but is a ZIP archive (an Excel workbook renamed?). Name it .xlsx "
                "if it is a workbook, or export CSV.",
                status_code=415,
            )
        _check_csv(path)
        kind = "csv"
    if declared_type:
        media_type = declared_type.split(";", 1)[0].strip().lower()
        if media_type not in DECLARED_TYPES[kind]:
            raise FileRefused(
                f"'{path.name}' was sent as {media_type} but its content is {kind.upper()}: send it as "
                f"{PREFERRED_TYPES[kind]}, or check that the right file was picked.",
                status_code=415,
            )
    return kind


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
        try:
            text = raw.decode("cp1252")  # catalogs exported from Excel on Windows
        except UnicodeDecodeError:
            raise FileRefused(
                f"'{path.name}' is neither UTF-8 nor Windows-1252 text: export it as 'CSV UTF-8'.", status_code=415
            ) from None
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


def read_rows(path: Path, *, sheet: str | None = None, declared_type: str | None = None) -> list[dict[str, Any]]:
    """The file's rows as dicts (header -> value), after ``inspect_file`` accepted it."""
    path = Path(path)
    if inspect_file(path, declared_type=declared_type) == "xlsx":
        return list(_read_xlsx(path, sheet))
    return list(_read_csv(path))


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
