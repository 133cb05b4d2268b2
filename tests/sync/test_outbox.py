"""The outbox: an event for every committed golden change, in the same transaction, with a sealed payload."""

import pytest
from django.db import connection, transaction
from django.utils import timezone

from mdm.payload_secrets import unseal
from mdm.services.changes import change_request_approve, change_request_create, merge_propose, retire_propose
from mdm.services.golden import golden_save_child
from suppliers.models import SupplierAlias
from sync.models import OutboxEvent
from tests.sync.records import IBAN

pytestmark = pytest.mark.django_db


def events(entity_type, object_id):
    return list(OutboxEvent.objects.filter(entity_type=entity_type, object_id=object_id).order_by("id"))


def test_create_writes_one_event_with_children_and_sealed_bank_numbers(supplier):
    (event,) = events("supplier", supplier.pk)
    assert (event.change_type, event.version) == ("create", 1)
    assert event.payload["legal_name"] == "Medline Industries, LP"
    assert event.payload["addresses"][0]["city"] == "Northfield"
    account = event.payload["bank_accounts"][0]
    assert account["iban"]["last4"] == "3000" and "sealed" in account["iban"]
    assert unseal(event.payload, ("bank_accounts.*.iban",))["bank_accounts"][0]["iban"] == IBAN
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM sync_outboxevent WHERE id = %s", [event.pk])
        assert IBAN not in str(cursor.fetchone()[0])


def test_approved_change_request_event_carries_version_correlation_and_request(supplier, steward, approver):
    cr = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=supplier.pk,
        actor=steward,
        reason="rename",
        changes={"legal_name": "Medline Industries, L.P."},
    )
    change_request_approve(cr, actor=approver)
    cr.refresh_from_db()
    event = events("supplier", supplier.pk)[-1]
    assert (event.change_type, event.version) == ("update", cr.applied_version)
    assert event.change_request_id == cr.pk
    assert event.correlation_id == cr.correlation_id and len(cr.correlation_id) == 32
    assert event.payload["legal_name"] == "Medline Industries, L.P."
    # the rename keeps the old name as an alias: the child row refreshed the same event, no second one
    assert {"name": "Medline Industries, LP", "kind": "former"} in event.payload["aliases"]
    assert [e.version for e in events("supplier", supplier.pk)] == [1, 2]


def test_no_event_without_the_committed_change(make_supplier):
    with pytest.raises(RuntimeError), transaction.atomic():
        doomed = make_supplier("Rolled Back Inc.")
        assert events("supplier", doomed.pk)
        raise RuntimeError("abort")
    assert not OutboxEvent.objects.filter(payload__legal_name="Rolled Back Inc.").exists()


def test_child_change_without_parent_save_writes_an_event(supplier, steward):
    OutboxEvent.objects.update(dispatched_at=timezone.now())  # the create event went out already
    golden_save_child(SupplierAlias(supplier=supplier, name="MEDLINE IND LP"), actor=steward, reason="alias")
    event = events("supplier", supplier.pk)[-1]
    assert event.change_type == "update" and event.version == supplier.version
    assert len(events("supplier", supplier.pk)) == 2
    assert {"name": "MEDLINE IND LP", "kind": "trading"} in event.payload["aliases"]


def test_retire_and_merge_events(make_supplier, steward, approver):
    keep, dup, old = make_supplier("Cardinal Health"), make_supplier("CARDINAL HEALTH INC"), make_supplier("Old Co")
    change_request_approve(
        retire_propose(entity_type="supplier", object_id=old.pk, actor=steward, reason="out of business"),
        actor=approver,
    )
    assert events("supplier", old.pk)[-1].change_type == "retire"
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    cr = merge_propose(entity_type="supplier", survivor_id=keep.pk, merged_id=dup.pk, actor=steward, reason="dup")
    change_request_approve(cr, actor=approver)
    merged = events("supplier", dup.pk)[-1]
    assert merged.change_type == "merge" and merged.payload["merged_into"] == keep.pk
    assert merged.payload["status"] == "retired"
    survivor = events("supplier", keep.pk)[-1]
    assert survivor.change_type == "update" and survivor.change_request_id == cr.pk
    assert "CARDINAL HEALTH INC" in [a["name"] for a in survivor.payload["aliases"]]


def test_item_unit_and_price_payloads(make_item, make_price, units):
    item = make_item("Nebulizer kit", gtins=("00841470100667", "10841470100664", "20841470100661"))
    price = make_price(item, amount="25.00", unit="BX", min_quantity=2)
    payload = events("item", item.pk)[-1].payload
    assert payload["gtin"] == "00841470100667" and payload["base_unit"]["code"] == "EA"
    assert [(p["unit"]["code"], p["quantity"]) for p in payload["packaging"]] == [("EA", 1), ("BX", 10), ("CS", 100)]
    line = events("contract_price", price.pk)[-1].payload
    assert (line["price"], line["price_per_base_unit"], line["min_quantity_base"]) == ("25", "2.5", "20")
    assert line["supplier_id"] == price.contract.supplier_id and line["currency"] == "USD"
    gram = events("unit", units["G"].pk)[-1].payload
    assert (gram["category"], gram["ratio"], gram["is_reference"]) == ("Weight", "0.001", False)
    assert events("unit", units["EA"].pk)[-1].payload["ratio"] == "1"
    assert events("unit", units["BX"].pk)[-1].payload["ratio"] is None
    assert events("unit", units["ML"].pk)[-1].payload["ratio"] == "0.001"
