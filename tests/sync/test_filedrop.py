"""File drops on a real directory: atomic files, manifests that match, safe CSV, idempotent retries."""

import csv
import hashlib
import io
import json

import pytest

from sync.adapters.base import DeliveryItem, TransientError
from sync.filedrop import FileDropAdapter, csv_columns
from sync.models import Delivery, OutboxEvent, Subscription, Target
from tests.sync.records import IBAN, drain, make_supplier, supplier  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def drop_target(directory, file_format="jsonl", name=None, **extra):
    return Target.objects.create(
        name=name or f"Drop {file_format}",
        kind=Target.Kind.FILE_DROP,
        directory=str(directory),
        file_format=file_format,
        **extra,
    )


def make_items(payloads, *, entity_type="unit", first_delivery_id=1):
    items = []
    for n, payload in enumerate(payloads):
        object_id = payload.setdefault("id", n + 1)
        payload.setdefault("entity_type", entity_type)
        payload.setdefault("version", 1)
        payload.setdefault("status", "active")
        payload.setdefault("merged_into", None)
        event = OutboxEvent.objects.create(
            entity_type=entity_type,
            object_id=object_id,
            version=payload["version"],
            change_type="update",
            payload=payload,
        )
        items.append(
            DeliveryItem(
                delivery_id=first_delivery_id + n,
                event_id=str(event.event_id),
                entity_type=entity_type,
                object_id=object_id,
                version=payload["version"],
                change_type="update",
                payload=payload,
                correlation_id=f"corr-{n}",
            )
        )
    return items


def units(count=2):
    return [
        {"code": f"U{n}", "name": f"Unit {n}", "dimension": "count", "ratio": None, "is_reference": False}
        for n in range(1, count + 1)
    ]


def files(path):
    return sorted(p.name for p in path.rglob("*") if p.is_file())


def test_jsonl_file_and_manifest_land_atomically(tmp_path):
    target = drop_target(tmp_path)
    items = make_items(units(3))
    outcomes = FileDropAdapter(target).deliver(items)
    names = files(tmp_path)
    assert len(names) == 2 and not any(name.startswith(".") or name.endswith(".tmp") for name in names)
    data_name = next(n for n in names if n.endswith(".jsonl"))
    stem = data_name.removesuffix(".jsonl")
    assert f"{stem}.manifest.json" in names
    assert data_name.startswith("unit-") and len(stem.split("-")[1]) == len("20260101T000000Z")
    assert (tmp_path / "unit" / data_name).is_file()  # one directory per entity type
    assert [o.ok for o in outcomes] == [True] * 3 and {o.target_ref for o in outcomes} == {data_name}

    content = (tmp_path / "unit" / data_name).read_bytes()
    manifest = json.loads((tmp_path / "unit" / f"{stem}.manifest.json").read_text())
    assert manifest["file"] == data_name
    assert manifest["sha256"] == hashlib.sha256(content).hexdigest()
    assert manifest["bytes"] == len(content)
    assert manifest["records"] == 3 and manifest["format"] == "jsonl" and manifest["entity_type"] == "unit"
    assert manifest["event_ids"] == [item.event_id for item in items]
    assert manifest["versions"] == {"1": 1, "2": 1, "3": 1}
    assert manifest["created_at"]

    lines = [json.loads(line) for line in content.decode().splitlines()]
    assert [line["event_id"] for line in lines] == [item.event_id for item in items]
    first = lines[0]
    assert set(first) == {"event_id", "type", "entity", "id", "version", "occurred_at", "correlation_id", "data"}
    assert first["type"] == "unit.update" and first["data"]["code"] == "U1" and first["correlation_id"] == "corr-0"
    assert first["occurred_at"] == OutboxEvent.objects.get(event_id=items[0].event_id).created_at.isoformat()


def test_the_manifest_is_written_after_the_data_file(tmp_path):
    target = drop_target(tmp_path)
    FileDropAdapter(target).deliver(make_items(units(1)))
    (data,) = (tmp_path / "unit").glob("*.jsonl")
    (manifest,) = (tmp_path / "unit").glob("*.manifest.json")
    assert manifest.stat().st_mtime_ns >= data.stat().st_mtime_ns


def test_the_same_batch_retried_replaces_its_file(tmp_path):
    target = drop_target(tmp_path)
    items = make_items(units(2))
    first = FileDropAdapter(target).deliver(items)
    before = files(tmp_path)
    second = FileDropAdapter(target).deliver(items)
    assert files(tmp_path) == before  # same name: replaced, not doubled
    assert first[0].target_ref == second[0].target_ref
    # Other members make another file.
    FileDropAdapter(target).deliver(make_items(units(2), first_delivery_id=50))
    assert len(files(tmp_path)) == 4


def test_csv_has_fixed_columns_flattened_values_and_no_formulas(tmp_path):
    target = drop_target(tmp_path, file_format="csv")
    payloads = [
        {"code": '=HYPERLINK("http://evil")', "name": "+SUM(A1:A9)", "dimension": "count", "is_reference": True},
        {"code": "CS", "name": "-case", "dimension": "count", "ratio": None, "category": None, "note": "@extra"},
    ]
    FileDropAdapter(target).deliver(make_items(payloads))
    (path,) = (tmp_path / "unit").glob("*.csv")
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0] == csv_columns("unit")
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["code"] == '\'=HYPERLINK("http://evil")'
    assert record["name"] == "'+SUM(A1:A9)"
    assert record["is_reference"] == "true" and record["ratio"] == "" and record["type"] == "unit.update"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["name"] == "'-case"
    assert json.loads(second["extra"]) == {"note": "@extra"}  # unknown keys kept, not dropped
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)
    manifest = json.loads(next((tmp_path / "unit").glob("*.manifest.json")).read_text())
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and manifest["format"] == "csv"


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_bank_numbers_are_masked_in_both_formats(tmp_path, supplier, file_format):  # noqa: F811
    target = drop_target(tmp_path, file_format=file_format)
    Subscription.objects.create(target=target, entity_type="supplier")
    figures = drain(target)
    assert figures.get("delivered") == 1, figures
    (path,) = (tmp_path / "supplier").glob(f"*.{file_format}")
    text = path.read_text()
    assert IBAN not in text and "sealed" not in text and IBAN[-4:] in text
    if file_format == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        accounts = json.loads(rows[0]["bank_accounts"])  # lists travel as JSON text
        assert rows[0]["legal_name"] == "Medline Industries, LP"
    else:
        accounts = json.loads(text.splitlines()[0])["data"]["bank_accounts"]
    assert accounts[0]["iban"] == {"last4": IBAN[-4:]}
    delivery = Delivery.objects.get(target=target)
    assert delivery.status == "delivered" and delivery.target_ref == path.name


def test_a_missing_directory_is_transient_and_not_created(tmp_path):
    missing = tmp_path / "mnt" / "erp-share"
    target = drop_target(missing)
    with pytest.raises(TransientError, match="does not exist"):
        FileDropAdapter(target).deliver(make_items(units(1)))
    assert not missing.exists()  # a missing mount is not papered over with a local directory
    with pytest.raises(TransientError):
        FileDropAdapter(target).check()


def test_an_unwritable_directory_is_transient_with_the_reason(tmp_path):
    blocker = tmp_path / "share"
    blocker.write_text("a file where the directory should be")
    target = drop_target(blocker)
    with pytest.raises(TransientError, match="is not a directory"):
        FileDropAdapter(target).deliver(make_items(units(1)))
    # The entity sub-directory can't be made (a file is in the way): the OS's reason is quoted.
    share = tmp_path / "share2"
    share.mkdir()
    (share / "unit").write_text("in the way")
    with pytest.raises(TransientError, match="unit"):
        FileDropAdapter(drop_target(share, name="Drop 2")).deliver(make_items(units(1)))
    assert files(share) == ["unit"]


def test_engine_retries_a_drop_after_the_mount_returns(tmp_path):
    share = tmp_path / "share"
    target = drop_target(share)
    Subscription.objects.create(target=target, entity_type="unit")
    make_items(units(1))  # an event with no delivery yet
    OutboxEvent.objects.update(dispatched_at=None)
    figures = drain(target, rounds=1)
    assert figures.get("retried") == 1, figures
    delivery = Delivery.objects.get(target=target)
    assert delivery.error_kind == "transient" and "does not exist" in delivery.last_error
    share.mkdir()
    Delivery.objects.update(next_attempt_at=delivery.created_at)
    assert drain(target).get("delivered") == 1
    assert len(files(share)) == 2


def test_check_reports_a_writable_directory(tmp_path):
    result = FileDropAdapter(drop_target(tmp_path)).check()
    assert result["directory"] == str(tmp_path) and result["free_bytes"] > 0
    assert files(tmp_path) == []
