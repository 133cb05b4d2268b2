"""Import files are checked before anything parses them (size, type by name and by content, zip bombs, macros),
and the JSON ingest API refuses oversized and non-JSON bodies with 413 / 415 and a message that says what to do."""

import csv
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from mdm.models import SourceRecord
from mdm.services.file_import import FileRefused, inspect_file, read_rows, source_records_import_file

pytestmark = pytest.mark.django_db

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNITS = [
    {"external_id": "1", "code": "EA", "name": "Each", "dimension": "count"},
    {"external_id": "2", "code": "BX", "name": "Box", "dimension": "count"},
]


def write_csv(path, rows=UNITS):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path, rows=UNITS):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    workbook.save(path)
    return path


def refused(path, status, *words, declared_type=None):
    with pytest.raises(FileRefused) as caught:
        read_rows(path, declared_type=declared_type)
    assert caught.value.status_code == status, caught.value
    message = str(caught.value)
    for word in words:
        assert word in message, message
    return message


# --- files --------------------------------------------------------------------------------------------------------


def test_valid_csv_and_xlsx_still_import(tmp_path, odoo):
    for path in (write_csv(tmp_path / "units.csv"), write_xlsx(tmp_path / "units.xlsx")):
        assert inspect_file(path) == path.suffix[1:]
        report = source_records_import_file(path=path, system=odoo, entity_type="unit")
        assert [r.outcome for r in report.rows] in (["stored", "stored"], ["unchanged", "unchanged"])
    assert SourceRecord.objects.filter(system=odoo).count() == 2
    # What browsers declare for these files is accepted (Windows labels .csv as application/vnd.ms-excel).
    assert inspect_file(tmp_path / "units.csv", declared_type="application/vnd.ms-excel") == "csv"
    assert inspect_file(tmp_path / "units.xlsx", declared_type=f"{XLSX_TYPE}; charset=binary") == "xlsx"


def test_an_oversized_file_is_refused_with_413_naming_the_limit(tmp_path, settings):
    settings.MDM_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    rows = [{**UNITS[0], "external_id": str(n), "name": "x" * 200} for n in range(12_000)]
    message = refused(write_csv(tmp_path / "big.csv", rows), 413, "2 MB", "MDM_IMPORT_MAX_BYTES", "Split")
    assert "big.csv is" not in message and "'big.csv' is 2." in message


def test_a_file_of_another_type_is_refused(tmp_path):
    pdf = tmp_path / "catalog.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    refused(pdf, 415, "Unsupported file type '.pdf'", ".csv or .xlsx")
    xls = tmp_path / "catalog.xlsx"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)  # an Excel 97-2003 file renamed
    refused(xls, 415, "Excel 97-2003")
    text = tmp_path / "units-as.xlsx"
    text.write_text("external_id,code\n1,EA\n")
    refused(text, 415, "not an Excel workbook", "name it .csv")


def test_a_workbook_renamed_csv_is_refused(tmp_path):
    renamed = tmp_path / "units.csv"
    renamed.write_bytes(write_xlsx(tmp_path / "units.xlsx").read_bytes())
    refused(renamed, 415, "is a ZIP archive", ".xlsx")


def test_csv_with_nul_bytes_or_undecodable_bytes_is_refused(tmp_path):
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"external_id,code\n1,E\x00A\n")
    refused(nul, 415, "NUL bytes")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"external_id,code\n1,\x81\x8d\x8f\x90\x9d\n")  # invalid UTF-8, undefined in Windows-1252
    refused(garbage, 415, "UTF-8")


def test_other_zip_archives_are_refused(tmp_path):
    other = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8" + b"\x00" * 100)
    refused(other, 415, "not an Excel workbook")


def test_a_zip_bomb_is_refused_before_openpyxl_reads_it(tmp_path, settings):
    settings.MDM_IMPORT_MAX_UNCOMPRESSED_BYTES = 10 * 1024 * 1024
    bomb = tmp_path / "bomb.xlsx"
    with (
        zipfile.ZipFile(write_xlsx(tmp_path / "base.xlsx")) as source,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data += b" " * (40 * 1024 * 1024)  # 40 MB of blanks deflate to a few dozen KB
            archive.writestr(item.filename, data)
    assert bomb.stat().st_size < 1024 * 1024
    refused(bomb, 413, "expands to 40", "10 MB", "MDM_IMPORT_MAX_UNCOMPRESSED_BYTES")


def test_macro_workbooks_are_refused(tmp_path):
    xlsm = write_xlsx(tmp_path / "prices.xlsm")
    refused(xlsm, 415, "macro-enabled", ".xlsx")
    # The same macros in a file named .xlsx: found by content.
    hidden = tmp_path / "prices.xlsx"
    with zipfile.ZipFile(write_xlsx(tmp_path / "clean.xlsx")) as source, zipfile.ZipFile(hidden, "w") as archive:
        for item in source.infolist():
            archive.writestr(item.filename, source.read(item.filename))
        archive.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"macro" * 100)
    refused(hidden, 415, "macro-enabled")


def test_a_declared_content_type_that_does_not_match_is_refused(tmp_path):
    xlsx = write_xlsx(tmp_path / "units.xlsx")
    refused(xlsx, 415, "sent as text/csv", "its content is XLSX", XLSX_TYPE, declared_type="text/csv")
    csv_file = write_csv(tmp_path / "units.csv")
    refused(csv_file, 415, "sent as application/pdf", "text/csv", declared_type="application/pdf")


def test_the_import_command_says_why_a_file_is_refused(tmp_path, odoo, settings):
    settings.MDM_IMPORT_MAX_BYTES = 10
    path = write_csv(tmp_path / "units.csv")
    with pytest.raises(CommandError, match="imports are limited to"):
        call_command("source_records_import", str(path), system="odoo-prod", entity_type="unit", verbosity=0)
    assert not SourceRecord.objects.exists()


def test_price_files_get_the_same_checks(tmp_path, settings):
    from contracts.price_file import contract_prices_import_file

    renamed = tmp_path / "gpo-prices.csv"
    renamed.write_bytes(write_xlsx(tmp_path / "gpo.xlsx").read_bytes())
    with pytest.raises(FileRefused, match="is a ZIP archive"):
        contract_prices_import_file(path=renamed, system=None)


# --- the JSON ingest API ------------------------------------------------------------------------------------------

URL = "/api/v1/source-records/"


def body(n=1):
    return {
        "system": "odoo-prod",
        "entity_type": "unit",
        "records": [
            {"external_id": str(i), "payload": {"code": f"U{i}", "name": "Unit", "dimension": "count"}}
            for i in range(n)
        ],
    }


def test_ingest_refuses_an_oversized_body_with_413(api, odoo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    response = api.post(URL, json.dumps(body(100)), content_type="application/json")
    assert response.status_code == 413, response.content
    detail = response.json()["detail"]
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in detail and "smaller batches" in detail
    assert not SourceRecord.objects.exists()
    assert api.post(URL, body(2), format="json").status_code == 200  # a small batch still goes in


def test_ingest_refuses_anything_but_json_with_415(api, odoo):
    form = api.post(URL, {"system": "odoo-prod", "entity_type": "unit", "records": "[]"}, format="multipart")
    assert form.status_code == 415, form.content
    assert "application/json" in form.json()["detail"] and "source_records_import" in form.json()["detail"]
    text = api.post(URL, json.dumps(body()), content_type="text/plain")
    assert text.status_code == 415
    assert not SourceRecord.objects.exists()
    assert api.post(URL, json.dumps(body()), content_type="application/json; charset=utf-8").status_code == 200
