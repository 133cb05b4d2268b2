"""GPO and distributor price files (CSV/XLSX) into source records with a per-row report; all rows or none."""

import csv
import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from contracts.models import ContractPrice
from contracts.price_file import contract_prices_import_file
from items.services import item_create
from mdm.models import Crosswalk, IngestBatch, QuarantinedRecord, SourceRecord
from mdm.services.file_import import FileImportError
from mdm.services.golden import golden_create_from_source

# A real GUDID package hierarchy (Pulmodyne Blom tracheostomy tube, shared/data/gudid_2016_sample):
# 00841470100667 each -> 10841470100664 (10 each) -> 20841470100661 (100 of those).
EACH, TEN, HUNDRED = "00841470100667", "10841470100664", "20841470100661"
HEADER = [
    "Contract Number",
    "Supplier",
    "Vendor #",
    "GTIN",
    "Mfr Part #",
    "Description",
    "UOM",
    "Contract Price",
    "Tier Min Qty",
    "Effective Date",
    "Expiration Date",
    "Currency",
]


def gpo_rows(changes: dict | None = None) -> list[list]:
    """A Vantage-style GPO file: one contract, a tube by GTIN in two tiers, a catheter by part number."""
    rows = [
        ["VHPA-MS-2601", "PULMODYNE INC", "V4001", TEN, "313-71-015", "TRACH TUBE 7.5MM", "PK", "41.50", "1"],
        ["VHPA-MS-2601", "PULMODYNE INC", "V4001", TEN, "313-71-015", "TRACH TUBE 7.5MM", "PK", "39.84", "10"],
        ["VHPA-MS-2601", "PULMODYNE INC", "V4001", "", "CX-220/B", "SUCTION CATHETER 14FR", "EA", "1.2500", "1"],
    ]
    rows = [row + ["2026-01-01", "2028-12-31", "USD"] for row in rows]
    for (index, column), value in (changes or {}).items():
        rows[index][HEADER.index(column)] = value
    return rows


def write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def units_for_files(steward, units, gpo):
    """The file's units: EA, and PK, which this GPO also writes as "PKG"."""
    from uom.services import unit_create

    return units | {
        "PK": unit_create(
            code="PK", name="Pack", dimension="count", aliases=["PKG"], system=gpo, actor=steward, reason="test"
        )
    }


def nothing_written():
    return (
        SourceRecord.objects.count(),
        IngestBatch.objects.count(),
        QuarantinedRecord.objects.count(),
        Crosswalk.objects.count(),
    ) == (0, 0, 0, 0)


@pytest.mark.django_db
class TestImport:
    def test_gpo_csv_becomes_source_records_with_a_report(self, tmp_path, gpo, units_for_files, steward):
        path = write_csv(tmp_path / "vhpa-2026.csv", gpo_rows())
        report = contract_prices_import_file(path=path, system=gpo, gpo_name="Vantage Health", actor=steward)
        assert [(r.row, r.outcome, r.errors) for r in report.rows] == [
            (2, "stored", ""),
            (3, "stored", ""),
            (4, "stored", ""),
        ]
        assert report.rows[0].external_id == f"VHPA-MS-2601:gtin:{TEN}:PK:1:2026-01-01"
        assert report.rows[2].external_id == "VHPA-MS-2601:mpn:CX220B:EA:1:2026-01-01"
        assert (report.suppliers, report.contracts) == ({"stored": 1}, {"stored": 1})
        assert report.summary() == (
            "3 price rows: 3 stored, 0 unchanged, 0 rejected; contracts: 1 stored; suppliers: 1 stored."
        )
        contract = SourceRecord.objects.get(entity_type="contract", external_id="VHPA-MS-2601")
        assert contract.standardized == {
            "number": "VHPA-MS-2601",
            "supplier": "V4001",
            "supplier_name": "PULMODYNE INC",
            "kind": "gpo",
            "gpo_name": "Vantage Health",
            "start_date": "2026-01-01",
            "end_date": "2028-12-31",
            "currency": "USD",
        }
        tier = SourceRecord.objects.get(entity_type="contract_price", external_id=report.rows[1].external_id)
        assert {k: tier.standardized[k] for k in ("contract", "item_gtin", "unit", "price", "min_quantity")} == {
            "contract": "VHPA-MS-2601",
            "item_gtin": TEN,
            "unit": "PK",
            "price": "39.8400",
            "min_quantity": 10,
        }
        assert {b.entity_type for b in IngestBatch.objects.all()} == {"supplier", "contract", "contract_price"}
        assert set(IngestBatch.objects.values_list("filename", flat=True)) == {"vhpa-2026.csv"}

    def test_the_same_file_again_changes_nothing(self, tmp_path, gpo, units_for_files):
        path = write_csv(tmp_path / "prices.csv", gpo_rows())
        contract_prices_import_file(path=path, system=gpo)
        again = contract_prices_import_file(path=path, system=gpo)
        assert [r.outcome for r in again.rows] == ["unchanged"] * 3
        assert (again.suppliers, again.contracts) == ({"unchanged": 1}, {"unchanged": 1})
        changed = contract_prices_import_file(
            path=write_csv(tmp_path / "prices-2.csv", gpo_rows({(1, "Contract Price"): "38.00"})), system=gpo
        )
        assert [r.outcome for r in changed.rows] == ["unchanged", "stored", "unchanged"]

    def test_xlsx_with_number_and_date_cells(self, tmp_path, gpo, units_for_files):
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(HEADER)
        for row in gpo_rows():
            cells = list(row)
            cells[HEADER.index("Contract Price")] = float(cells[HEADER.index("Contract Price")])
            cells[HEADER.index("Tier Min Qty")] = int(cells[HEADER.index("Tier Min Qty")])
            cells[HEADER.index("Effective Date")] = dt.datetime(2026, 1, 1)
            cells[HEADER.index("Expiration Date")] = dt.date(2028, 12, 31)
            if cells[HEADER.index("GTIN")]:
                cells[HEADER.index("GTIN")] = int(cells[HEADER.index("GTIN")])  # Excel drops the leading zero
            sheet.append(cells)
        workbook.save(tmp_path / "prices.xlsx")
        report = contract_prices_import_file(path=tmp_path / "prices.xlsx", system=gpo)
        assert [r.outcome for r in report.rows] == ["stored"] * 3
        prices = sorted(r.standardized["price"] for r in SourceRecord.objects.filter(entity_type="contract_price"))
        assert prices == ["1.2500", "39.8400", "41.5000"]  # what was typed, not 41.499999...
        [tier] = [
            r for r in SourceRecord.objects.filter(entity_type="contract_price") if r.standardized["min_quantity"] == 10
        ]
        assert tier.standardized["item_gtin"] == TEN and tier.standardized["start_date"] == "2026-01-01"

    def test_a_default_currency_and_alias_units(self, tmp_path, gpo, units_for_files):
        header = [column for column in HEADER if column != "Currency"]
        rows = [row[:-1] for row in gpo_rows({(0, "UOM"): "PKG"})]
        report = contract_prices_import_file(
            path=write_csv(tmp_path / "p.csv", rows, header), system=gpo, currency="usd", kind="distributor"
        )
        assert report.count("stored") == 3
        first = SourceRecord.objects.get(entity_type="contract_price", external_id=report.rows[0].external_id)
        assert (first.standardized["unit"], first.standardized["currency"]) == ("PK", "USD")
        contract = SourceRecord.objects.get(entity_type="contract")
        assert contract.standardized["kind"] == "distributor"

    def test_golden_prices_from_the_file_find_items_by_gtin_and_part_number(
        self, tmp_path, gpo, units_for_files, steward
    ):
        tube = item_create(
            data={
                "description": "Blom tracheostomy tube",
                "item_type": "med_surg",
                "manufacturer_part_number": "313-71-015",
                "base_unit": "EA",
                "packaging": [
                    {"unit": "EA", "quantity": 1, "gtin": EACH},
                    {"unit": "PK", "quantity": 10, "gtin": TEN},
                    {"unit": "CS", "quantity": 100, "gtin": HUNDRED},
                ],
            },
            actor=steward,
            reason="test",
        )
        catheter = item_create(
            data={
                "description": "Suction catheter 14 Fr",
                "item_type": "med_surg",
                "manufacturer_part_number": "cx 220 b",
                "base_unit": "EA",
            },
            actor=steward,
            reason="test",
        )
        report = contract_prices_import_file(path=write_csv(tmp_path / "p.csv", gpo_rows()), system=gpo)

        def golden(entity_type, external_id):
            record = SourceRecord.objects.get(entity_type=entity_type, external_id=external_id, is_current=True)
            return golden_create_from_source(record, actor=steward)

        golden("supplier", "V4001")
        contract = golden("contract", "VHPA-MS-2601")
        prices = [golden("contract_price", row.external_id) for row in report.rows]
        assert [(p.item, p.contract, p.unit.code, p.min_quantity) for p in prices] == [
            (tube, contract, "PK", 1),
            (tube, contract, "PK", 10),
            (catheter, contract, "EA", 1),
        ]
        assert [p.price_per_base_unit for p in prices] == [Decimal("4.15"), Decimal("3.984"), Decimal("1.25")]
        assert ContractPrice.objects.count() == 3

    def test_an_item_nobody_knows_is_a_clear_error_at_golden_creation(self, tmp_path, gpo, units_for_files, steward):
        report = contract_prices_import_file(path=write_csv(tmp_path / "p.csv", gpo_rows()), system=gpo)
        for entity_type, ext in (("supplier", "V4001"), ("contract", "VHPA-MS-2601")):
            golden_create_from_source(SourceRecord.objects.get(entity_type=entity_type, external_id=ext), actor=steward)
        from django.core.exceptions import ValidationError

        record = SourceRecord.objects.get(entity_type="contract_price", external_id=report.rows[0].external_id)
        with pytest.raises(ValidationError) as caught:
            golden_create_from_source(record, actor=steward)
        assert caught.value.message_dict["item"][0].endswith(
            f"No golden item has GTIN {TEN} or manufacturer part number '313-71-015' either."
        )


@pytest.mark.django_db
class TestBadFiles:
    """Each refused with the row, the column and the reason; nothing written (no records, batches, quarantine)."""

    @pytest.mark.parametrize(
        ("changes", "row", "message"),
        [
            ({(1, "Contract Price"): "-39.84"}, 3, "Contract Price: A price cannot be negative."),
            ({(2, "Currency"): "XYZ"}, 4, "Currency: 'XYZ' is not an ISO 4217 currency code (e.g. USD, EUR)."),
            ({(0, "UOM"): "PALLET"}, 2, "UOM: Unknown unit 'PALLET': not a hub unit code and not an alias known"),
            (
                {(2, "Effective Date"): "2026-06-30", (2, "Expiration Date"): "2026-01-01"},
                4,
                "Expiration Date: The end date 2026-01-01 is before the start date 2026-06-30; it must be on or after it.",
            ),
            (
                {(1, "Tier Min Qty"): "1", (1, "Effective Date"): "2027-01-01"},
                3,
                "Tier Min Qty: the tier from 1 PK overlaps the tier from 1 PK on row 2 for the same contract "
                "VHPA-MS-2601, item and unit from 2027-01-01 to 2028-12-31; an order must fall in one tier.",
            ),
            ({(0, "Effective Date"): "01/01/2026"}, 2, "Effective Date: '01/01/2026' is not a date: write it as"),
            ({(0, "GTIN"): "10841470100665"}, 2, "GTIN: GTIN '10841470100665' has a wrong check digit: expected 4"),
            ({(2, "Mfr Part #"): ""}, 4, "GTIN / Mfr Part #: give the item's GTIN or manufacturer part number."),
            ({(2, "Contract Price"): ""}, 4, "Contract Price: this cell is empty."),
            (
                {(2, "Supplier"): "OWENS & MINOR", (2, "Vendor #"): "V5002"},
                4,
                "Vendor #: contract VHPA-MS-2601 is given V4001 on row 2 and V5002 here",
            ),
            (
                {(2, "Currency"): "EUR"},
                4,
                "Currency: contract VHPA-MS-2601 is given USD on row 2 and EUR here; a contract has one supplier",
            ),
        ],
    )
    def test_refused_with_a_clear_message(self, tmp_path, gpo, units_for_files, changes, row, message):
        path = write_csv(tmp_path / "bad.csv", gpo_rows(changes))
        with pytest.raises(FileImportError) as caught:
            contract_prices_import_file(path=path, system=gpo)
        assert str(caught.value) == "1 of 3 row(s) have errors; nothing imported."
        [problem] = caught.value.row_errors
        assert problem["row"] == row
        assert message in problem["errors"], problem["errors"]
        assert nothing_written()

    def test_overlapping_stated_tier_ranges(self, tmp_path, gpo, units_for_files):
        header = [*HEADER, "Tier Max Qty"]
        rows = [r + [m] for r, m in zip(gpo_rows({(1, "Tier Min Qty"): "5"}), ["10", "20", ""], strict=True)]
        with pytest.raises(FileImportError) as caught:
            contract_prices_import_file(path=write_csv(tmp_path / "t.csv", rows, header), system=gpo)
        [problem] = caught.value.row_errors
        assert "Tier Min Qty: the tier 5-20 PK overlaps the tier 1-10 PK on row 2" in problem["errors"]
        assert nothing_written()
        rows[1][HEADER.index("Tier Min Qty")] = "11"
        report = contract_prices_import_file(path=write_csv(tmp_path / "ok.csv", rows, header), system=gpo)
        assert report.count("stored") == 3

    def test_every_bad_row_is_reported_at_once(self, tmp_path, gpo, units_for_files):
        rows = gpo_rows({(0, "Contract Price"): "-1", (2, "Currency"): "DOLLARS"})
        with pytest.raises(FileImportError) as caught:
            contract_prices_import_file(path=write_csv(tmp_path / "bad.csv", rows), system=gpo)
        assert [e["row"] for e in caught.value.row_errors] == [2, 4]
        assert nothing_written()

    def test_missing_columns(self, tmp_path, gpo, units_for_files):
        header = [c for c in HEADER if c not in ("UOM", "GTIN", "Mfr Part #")]
        rows = [[v for c, v in zip(HEADER, r, strict=True) if c in header] for r in gpo_rows()]
        with pytest.raises(FileImportError) as caught:
            contract_prices_import_file(path=write_csv(tmp_path / "cols.csv", rows, header), system=gpo)
        assert "Missing column(s): UOM, GTIN or Manufacturer Part Number." in str(caught.value)
        assert nothing_written()

    def test_a_bad_default_currency(self, tmp_path, gpo, units_for_files):
        with pytest.raises(FileImportError, match="Default currency: 'EURO' is not an ISO 4217 currency code"):
            contract_prices_import_file(path=write_csv(tmp_path / "p.csv", gpo_rows()), system=gpo, currency="EURO")
        assert nothing_written()


@pytest.mark.django_db
class TestCommand:
    def test_import_writes_the_report(self, tmp_path, gpo, units_for_files, capsys):
        path = write_csv(tmp_path / "vhpa.csv", gpo_rows())
        call_command("contract_prices_import", str(path), "--system", "gpo-prices", "--gpo-name", "Vantage")
        assert "3 price rows: 3 stored" in capsys.readouterr().out
        with open(tmp_path / "vhpa.csv.report.csv", encoding="utf-8") as fh:
            report = list(csv.DictReader(fh))
        assert [(r["row"], r["outcome"]) for r in report] == [("2", "stored"), ("3", "stored"), ("4", "stored")]

    def test_refused_file_writes_the_errors(self, tmp_path, gpo, units_for_files):
        path = write_csv(tmp_path / "bad.csv", gpo_rows({(1, "Contract Price"): "-1"}))
        with pytest.raises(CommandError, match="nothing imported. See .*bad.csv.report.csv"):
            call_command("contract_prices_import", str(path), "--system", "gpo-prices")
        with open(tmp_path / "bad.csv.report.csv", encoding="utf-8") as fh:
            [refused] = list(csv.DictReader(fh))
        assert (refused["row"], refused["outcome"]) == ("3", "refused")
        assert "A price cannot be negative." in refused["errors"]
        assert nothing_written()

    def test_unknown_system(self, tmp_path, db):
        with pytest.raises(CommandError, match="Unknown source system 'nobody'"):
            call_command("contract_prices_import", str(tmp_path / "x.csv"), "--system", "nobody")
