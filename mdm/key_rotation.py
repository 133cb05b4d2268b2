"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEY (``manage.py rotate_encryption_keys``).

Where ciphertext lives:

- every ``EncryptedTextField`` column of every model, found by field class: supplier bank accounts (and their
  simple-history rows, which keep former accounts), a syndication target's secret, whatever comes next;
- Fernet tokens inside JSON columns: bank numbers sealed in source-record, quarantine and outbox payloads
  (``{"sealed": <token>, "last4": ...}``, ``mdm.payload_secrets``) and the encrypted new numbers a change request
  carries (``iban_encrypted`` / ``account_number_encrypted``), in the live and historical rows.

Each table is read in primary-key batches; each batch is re-read under a row lock and written in its own
transaction, so the command can be stopped and run again. A value already under the first key is left alone
(``crypto.rotate``), so a second run changes nothing. Rows are written with a plain UPDATE: re-encryption is
not a change of the data, so it makes no history rows and no outbox events and leaves ``updated_at`` as it was.
A value no configured key can read is reported (table, primary key, column) and left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models, transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from mdm import crypto
from mdm.fields import EncryptedTextField

FERNET_TOKEN = re.compile(r"^gAAAAA[A-Za-z0-9_\-]{40,}={0,2}$")
"""A whole string that is a Fernet token (version byte 0x80, then a timestamp: base64 ``gAAAAA``)."""
FERNET_MARK = "gAAAAA"
SEALED_KEYS = ("sealed",)
ENCRYPTED_SUFFIX = "_encrypted"
SKIPPED_MODELS = {"mdm.auditevent"}  # append-only, and never holds ciphertext


@dataclass
class ColumnReport:
    table: str
    column: str
    kind: str  # "encrypted" or "json"
    scanned: int = 0
    rotated: int = 0
    current: int = 0
    unreadable: list = field(default_factory=list)  # primary keys

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    def as_dict(self) -> dict:
        return {
            "scanned": self.scanned,
            "rotated": self.rotated,
            "current": self.current,
            "unreadable": len(self.unreadable),
        }


def encrypted_columns() -> list[tuple[type[models.Model], models.Field]]:
    """Every ``EncryptedTextField`` of every installed model, historical models included."""
    return [
        (model, f)
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedTextField)
    ]


def json_columns() -> list[tuple[type[models.Model], models.Field]]:
    """Every JSON column that may hold sealed values (all of them but the append-only audit log)."""
    return [
        (model, f)
        for model in apps.get_models()
        if model._meta.label_lower not in SKIPPED_MODELS
        for f in model._meta.concrete_fields
        if isinstance(f, models.JSONField)
    ]


def _batches(model, column: str, *, extra_filter=None, batch_size: int):
    """Primary keys of ``model`` in ascending batches (optionally only rows whose ``column`` text has a token)."""
    base = model._base_manager.order_by("pk")
    if extra_filter is not None:
        base = base.annotate(_rotation_text=Cast(column, TextField())).filter(_rotation_text__contains=FERNET_MARK)
    last = None
    while True:
        qs = base if last is None else base.filter(pk__gt=last)
        pks = list(qs.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return
        yield pks
        last = pks[-1]


def rotate_encrypted_column(model, f, *, dry_run: bool, batch_size: int, progress: Callable[[str], None]):
    report = ColumnReport(model._meta.db_table, f.column, "encrypted")
    raw = Cast(f.name, TextField())  # the stored ciphertext, not the decrypted value
    for pks in _batches(model, f.name, batch_size=batch_size):
        with transaction.atomic():
            rows = (
                model._base_manager.select_for_update()
                .filter(pk__in=pks)
                .annotate(_cipher=raw)
                .values_list("pk", "_cipher")
            )
            for pk, token in rows:
                if not token:
                    continue
                report.scanned += 1
                try:
                    new = crypto.rotate(token)
                except crypto.DecryptionError:
                    report.unreadable.append(pk)
                    continue
                if new is None:
                    report.current += 1
                    continue
                report.rotated += 1
                if not dry_run:
                    model._base_manager.filter(pk=pk).update(**{f.name: Value(new, output_field=TextField())})
        progress(f"{report.name}: {report.scanned} values read, {report.rotated} re-encrypted")
    return report


def _rotate_json(node, report: ColumnReport, pk, *, secret: bool = False):
    """``(new node, changed)``: every Fernet token in ``node`` rotated; unreadable secrets noted on ``report``."""
    if isinstance(node, dict):
        changed = False
        out = {}
        for key, value in node.items():
            is_secret = key in SEALED_KEYS or (isinstance(key, str) and key.endswith(ENCRYPTED_SUFFIX))
            out[key], child_changed = _rotate_json(value, report, pk, secret=is_secret)
            changed = changed or child_changed
        return out, changed
    if isinstance(node, list):
        changed = False
        out = []
        for value in node:
            new, child_changed = _rotate_json(value, report, pk)
            out.append(new)
            changed = changed or child_changed
        return out, changed
    if isinstance(node, str) and FERNET_TOKEN.match(node):
        try:
            new = crypto.rotate(node)
        except crypto.DecryptionError:
            if secret:  # text that only looks like a token elsewhere is not ours to judge
                report.unreadable.append(pk)
            return node, False
        report.scanned += 1
        if new is None:
            report.current += 1
            return node, False
        report.rotated += 1
        return new, True
    return node, False


def rotate_json_column(model, f, *, dry_run: bool, batch_size: int, progress: Callable[[str], None]):
    report = ColumnReport(model._meta.db_table, f.column, "json")
    for pks in _batches(model, f.name, extra_filter=True, batch_size=batch_size):
        with transaction.atomic():
            rows = model._base_manager.select_for_update().filter(pk__in=pks).values_list("pk", f.name)
            for pk, value in rows:
                new, changed = _rotate_json(value, report, pk)
                if changed and not dry_run:
                    model._base_manager.filter(pk=pk).update(**{f.name: new})
        progress(f"{report.name}: {report.scanned} sealed values read, {report.rotated} re-encrypted")
    return report


def rotate_all(*, dry_run: bool = False, batch_size: int = 500, progress: Callable[[str], None] = lambda _: None):
    """Re-encrypt every stored ciphertext with the first key; one report per column that holds any."""
    reports = []
    for model, f in encrypted_columns():
        reports.append(rotate_encrypted_column(model, f, dry_run=dry_run, batch_size=batch_size, progress=progress))
    for model, f in json_columns():
        report = rotate_json_column(model, f, dry_run=dry_run, batch_size=batch_size, progress=progress)
        if report.scanned or report.unreadable:
            reports.append(report)
    return reports
