"""File drops: one file per batch in ``<directory>/<entity_type>/``, then its manifest.

Names: ``<entity_type>-<YYYYMMDDTHHMMSSZ>-<8 hex>.<csv|jsonl>`` and ``<same stem>.manifest.json``. Both parts come
from the batch's content, not the clock: the timestamp is the newest event's time and the 8 hex digits a hash of
the delivery ids, so a retried batch writes the same name again and replaces the file instead of adding one.

Each file is written to a hidden temporary file in the same directory, flushed to disk (fsync), then renamed
over its final name (``os.replace`` is atomic on one file system), and the directory entry is synced. A reader
never sees half a file. The manifest is written the same way *after* the data file: a consumer should pick up a
data file once its manifest is there, check ``sha256``/``bytes``, and dedupe on ``event_ids`` (a batch retried
with different members can repeat an event in another file).

Formats: JSON Lines, one event per line in the webhook envelope (``sync.webhook.event_envelope``); CSV, a fixed
column order per entity type, nested values as JSON text, cells that a spreadsheet would run as a formula
prefixed with ``'``. Bank account numbers are only ever written as their last four digits.

A missing or unwritable directory is a transient error naming the reason: operations fix the mount and the
engine's retries deliver the batch.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sync.adapters.base import DeliveryItem, Outcome, TargetAdapter, TransientError
from sync.webhook import ENTITY_TYPES, event_envelope, occurred_at_map

ENVELOPE_COLUMNS = ["event_id", "type", "entity", "id", "version", "occurred_at", "correlation_id"]
COMMON_COLUMNS = ["status", "merged_into"]
# The published payload's fields per entity type (see the contract of sync.outbox); anything else goes to "extra".
PAYLOAD_COLUMNS = {
    "unit": ["code", "name", "dimension", "unece_code", "ucum_code", "category", "ratio", "is_reference"],
    "supplier": [
        "legal_name",
        "aliases",
        "duns",
        "uei",
        "ein",
        "vat",
        "gln",
        "hibcc_lic",
        "screening_status",
        "addresses",
        "contacts",
        "bank_accounts",
    ],
    "item": [
        "description",
        "short_name",
        "manufacturer_name",
        "manufacturer_part_number",
        "item_type",
        "unspsc",
        "sterile",
        "latex_free",
        "single_use",
        "implantable",
        "prescription",
        "ndc",
        "gudid_di",
        "gtin",
        "base_unit",
        "content_quantity",
        "content_unit",
        "packaging",
    ],
    "contract": ["number", "supplier_id", "kind", "gpo_name", "start_date", "end_date", "currency"],
    "contract_price": [
        "contract",
        "supplier_id",
        "item_id",
        "unit",
        "price",
        "min_quantity",
        "start_date",
        "end_date",
        "currency",
        "price_per_base_unit",
        "base_unit",
        "min_quantity_base",
    ],
}
SKIPPED_KEYS = {"entity_type", "id", "version"}  # already in the envelope columns
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_columns(entity_type: str) -> list[str]:
    return ENVELOPE_COLUMNS + PAYLOAD_COLUMNS[entity_type] + COMMON_COLUMNS + ["extra"]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    text = str(value)
    # Spreadsheets run cells that start like a formula (as mdm.exports does for the decision log).
    return "'" + text if isinstance(value, str) and text[:1] in FORMULA_STARTS else text


def csv_row(entity_type: str, envelope: dict) -> list[str]:
    data = envelope["data"]
    known = set(PAYLOAD_COLUMNS[entity_type]) | set(COMMON_COLUMNS) | SKIPPED_KEYS
    extra = {key: value for key, value in data.items() if key not in known}
    values = [envelope[column] for column in ENVELOPE_COLUMNS]
    values += [data.get(column) for column in PAYLOAD_COLUMNS[entity_type] + COMMON_COLUMNS]
    values.append(extra or None)
    return [_cell(value) for value in values]


def _write_atomically(path: Path, content: bytes) -> None:
    """Temporary file in the same directory, fsync, rename over ``path``, fsync the directory."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes 0600; consumers usually run as another user
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class FileDropAdapter(TargetAdapter):
    """Writes each batch as one CSV or JSON Lines file plus a manifest under ``target.directory``."""

    entity_types = ENTITY_TYPES

    @property
    def file_format(self) -> str:
        return self.target.file_format or "jsonl"

    def _base(self) -> Path:
        if not self.target.directory:
            raise TransientError(f"The file drop target {self.target} has no directory set.")
        base = Path(self.target.directory)
        # Never create the drop directory itself: a missing mount must not silently fill the local disk.
        if not base.is_dir():
            reason = "is not a directory" if base.exists() else "does not exist (is the share mounted?)"
            raise TransientError(f"File drop directory {base} {reason}.")
        return base

    def _directory(self, entity_type: str) -> Path:
        directory = self._base() / entity_type
        try:
            directory.mkdir(exist_ok=True)
        except OSError as exc:
            raise TransientError(f"Cannot create {directory}: {exc.strerror or exc}.") from exc
        if not os.access(directory, os.W_OK | os.X_OK):
            raise TransientError(f"File drop directory {directory} is not writable by this process.")
        return directory

    def file_stem(self, items: list[DeliveryItem], occurred: dict[str, str]) -> str:
        entity_type = items[0].entity_type
        digest = hashlib.sha256(",".join(str(i) for i in sorted(item.delivery_id for item in items)).encode())
        stamps = [datetime.fromisoformat(occurred[item.event_id]) for item in items if occurred.get(item.event_id)]
        when = max(stamps).astimezone(UTC) if stamps else datetime(1970, 1, 1, tzinfo=UTC)
        return f"{entity_type}-{when:%Y%m%dT%H%M%SZ}-{digest.hexdigest()[:8]}"

    def render(self, entity_type: str, envelopes: list[dict]) -> bytes:
        if self.file_format == "csv":
            buffer = io.StringIO(newline="")
            writer = csv.writer(buffer)
            writer.writerow(csv_columns(entity_type))
            writer.writerows(csv_row(entity_type, envelope) for envelope in envelopes)
            return buffer.getvalue().encode("utf-8")
        lines = (json.dumps(e, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for e in envelopes)
        return "".join(line + "\n" for line in lines).encode("utf-8")

    def deliver(self, items: list[DeliveryItem]) -> list[Outcome]:
        if not items:
            return []
        entity_type = items[0].entity_type
        if any(item.entity_type != entity_type for item in items):  # pragma: no cover - engine contract
            raise ValueError("one entity type per batch")
        directory = self._directory(entity_type)
        occurred = occurred_at_map(items)
        envelopes = [event_envelope(item, occurred.get(item.event_id)) for item in items]
        content = self.render(entity_type, envelopes)
        stem = self.file_stem(items, occurred)
        name = f"{stem}.{self.file_format}"
        manifest = {
            "file": name,
            "entity_type": entity_type,
            "format": self.file_format,
            "records": len(envelopes),
            "sha256": hashlib.sha256(content).hexdigest(),
            "bytes": len(content),
            "created_at": datetime.now(UTC).isoformat(),
            "event_ids": [item.event_id for item in items],
            "versions": {str(item.object_id): item.version for item in items},
        }
        try:
            _write_atomically(directory / name, content)
            _write_atomically(
                directory / f"{stem}.manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
            )
        except OSError as exc:
            raise TransientError(f"Cannot write {directory / name}: {exc.strerror or exc}.") from exc
        request = f"{directory / name} ({len(content)} bytes, {len(envelopes)} records)"
        return [
            Outcome(
                ok=True,
                target_ref=name,
                target_model="file",
                request_excerpt=request,
                sent_payload=envelope["data"],
            )
            for envelope in envelopes
        ]

    def check(self) -> dict:
        """The directory exists and this process can write there (a file is written and removed)."""
        base = self._base()
        probe = base / f".mdm-check-{os.getpid()}.tmp"
        try:
            _write_atomically(probe, b"ok\n")
            probe.unlink()
            usage = os.statvfs(base)
        except OSError as exc:
            raise RuntimeError(f"cannot write in {base}: {exc.strerror or exc}") from exc
        return {"directory": str(base), "free_bytes": usage.f_bavail * usage.f_frsize}
