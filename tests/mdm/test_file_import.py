"""manage.py source_records_import: CSV and XLSX, per-row report, nothing half-written."""

import csv

import pytest
from django.core.management import CommandError, call_command

from mdm.models import IngestBatch, QuarantinedRecord, SourceRecord
from mdm.services.file_import import row_to_payload


def write_csv(path, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_report(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_row_to_payload_unflattens_dotted_columns_and_lists():
    ext, payload = row_to_payload(
        {
            "external_id": "42",
            "code": "CS",
            "aliases": "Case | case of 12",
            "packaging.0.unit": "EA",
            "packaging.0.quantity": "1",
            "packaging.1.unit": "BX",
            "packaging.1.quantity": 100.0,
            "empty": "  ",
        },
        id_column="external_id",
    )
    assert ext == "42"
    assert payload == {
        "code": "CS",
        "aliases": ["Case", "case of 12"],
        "packaging": [{"unit": "EA", "quantity": "1"}, {"unit": "BX", "quantity": "100"}],
    }


@pytest.mark.django_db
def test_csv_import_reports_every_row(tmp_path, odoo):
    path = write_csv(
        tmp_path / "units.csv",
        [
            {"external_id": "1", "code": "EA", "name": "Each", "dimension": "count", "aliases": "each|EACH"},
            {"external_id": "2", "code": "BX", "name": "", "dimension": "count", "aliases": ""},
            {"external_id": "3", "code": "MG", "name": "Milligram", "dimension": "weight", "aliases": ""},
        ],
    )
    call_command("source_records_import", str(path), system="odoo-prod", entity_type="unit", verbosity=0)
    report = read_report(tmp_path / "units.csv.report.csv")
    assert [(r["row"], r["outcome"]) for r in report] == [("2", "stored"), ("3", "rejected"), ("4", "rejected")]
    assert report[1]["errors"] == "name: This field is required."
    assert report[2]["errors"].startswith("dimension:") and "weight" in report[2]["errors"]
    assert SourceRecord.objects.count() == 1
    assert QuarantinedRecord.objects.count() == 2
    assert IngestBatch.objects.get().channel == "file"

    # Same file again: nothing new.
    call_command("source_records_import", str(path), system="odoo-prod", entity_type="unit", verbosity=0)
    assert SourceRecord.objects.count() == 1 and QuarantinedRecord.objects.count() == 2


@pytest.mark.django_db
def test_xlsx_import(tmp_path, odoo):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Units"
    sheet.append(["external_id", "code", "name", "dimension"])
    sheet.append([101, "CS", "Case", "count"])
    sheet.append([102, "BX", "Box", "count"])
    workbook.save(tmp_path / "units.xlsx")
    call_command(
        "source_records_import", str(tmp_path / "units.xlsx"), system="odoo-prod", entity_type="unit", verbosity=0
    )
    assert sorted(SourceRecord.objects.values_list("external_id", flat=True)) == ["101", "102"]


@pytest.mark.django_db
def test_duplicate_ids_refuse_the_whole_file(tmp_path, odoo):
    path = write_csv(
        tmp_path / "dup.csv",
        [
            {"external_id": "1", "code": "EA", "name": "Each", "dimension": "count"},
            {"external_id": "1", "code": "BX", "name": "Box", "dimension": "count"},
        ],
    )
    with pytest.raises(CommandError, match="missing or duplicate external_id; nothing imported"):
        call_command("source_records_import", str(path), system="odoo-prod", entity_type="unit", verbosity=0)
    assert SourceRecord.objects.count() == 0 and IngestBatch.objects.count() == 0
    report = read_report(tmp_path / "dup.csv.report.csv")
    assert report == [
        {"row": "3", "external_id": "1", "outcome": "refused", "errors": "external_id: duplicate of row 2."}
    ]


@pytest.mark.django_db
def test_bad_arguments_are_clear(tmp_path, odoo):
    path = write_csv(tmp_path / "u.csv", [{"id": "1", "code": "EA"}])
    with pytest.raises(CommandError, match="no 'external_id' column"):
        call_command("source_records_import", str(path), system="odoo-prod", entity_type="unit", verbosity=0)
    with pytest.raises(CommandError, match="Unknown source system 'nope'"):
        call_command("source_records_import", str(path), system="nope", entity_type="unit", verbosity=0)
    with pytest.raises(CommandError, match="unknown entity type 'widget'"):
        call_command("source_records_import", str(path), system="odoo-prod", entity_type="widget", verbosity=0)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(CommandError, match="Unsupported file type '.json'"):
        call_command("source_records_import", str(tmp_path / "x.json"), system="odoo-prod", entity_type="unit")


@pytest.mark.django_db
def test_server_error_mid_file_leaves_nothing(tmp_path, odoo, settings, monkeypatch):
    settings.INGEST_MAX_BATCH = 2
    path = write_csv(
        tmp_path / "u.csv",
        [{"external_id": str(i), "code": f"U{i}", "name": "x", "dimension": "count"} for i in range(5)],
    )
    from mdm.services import file_import

    real = file_import.source_records_ingest
    calls = []

    def fail_on_third_chunk(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("connection lost")
        return real(**kwargs)

    monkeypatch.setattr(file_import, "source_records_ingest", fail_on_third_chunk)
    with pytest.raises(RuntimeError):
        call_command("source_records_import", str(path), system="odoo-prod", entity_type="unit", verbosity=0)
    assert SourceRecord.objects.count() == 0 and IngestBatch.objects.count() == 0
