"""Reconciliation against the Odoo test server (16-19): what the hub delivered is read back and compared; drift
becomes one steward task per target and record, resolved by a re-push, by taking Odoo's values, or by itself
when the record matches again; a record deleted at Odoo is drift too."""

import pytest

from mdm.models import ChangeRequest, Crosswalk, SourceRecord, StewardTask
from sync.models import Delivery, KeyMap, OutboxEvent, SyncRun, Target
from sync.odoo.client import OdooClient
from sync.reconcile import DriftError, drift_adopt, drift_key, drift_repush, expected_columns, reconcile_target
from tests.sync.records import IBAN, drain, odoo_target

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(odoo_server, supplier, make_item, make_price):
    """A supplier, an item and a vendor price delivered to the Odoo test server through the real adapter."""
    item = make_item("Nebulizer kit, adult", part="NEB-100", gtins=("00841470100667", "", ""))
    price = make_price(item, amount="25.00", unit="BX", min_quantity=2)
    target = odoo_target(odoo_server)
    drain(target)
    keys = {k.entity_type: k for k in KeyMap.objects.filter(target=target).exclude(entity_type="unit")}
    assert set(keys) == {"supplier", "item", "contract_price"}
    return target, {"supplier": supplier, "item": item, "contract_price": price}, keys


def open_drift(target, entity_type, object_id):
    return StewardTask.objects.filter(
        kind="sync_drift", status="open", dedupe_key=drift_key(target.pk, entity_type, object_id)
    )


@pytest.mark.parametrize("odoo_server", [16, 17, 18, 19], indirect=True)
def test_what_was_delivered_matches_then_an_edit_in_odoo_is_drift(odoo_server, delivered, steward):
    srv = odoo_server
    target, records, keys = delivered
    everything = KeyMap.objects.filter(target=target).exclude(target_ref="").count()

    # many2one [id, name] against external ids, floats against decimal strings, False against "", "1" against True
    run = reconcile_target(target, actor=steward)
    assert run.kind == SyncRun.Kind.RECONCILE and run.status == "done", run.error
    assert run.figures == {"checked": everything, "drifted": 0, "missing": 0, "resolved": 0}
    paged = reconcile_target(target, actor=steward, page_size=1)
    assert paged.figures == {"checked": everything, "drifted": 0, "missing": 0, "resolved": 0}
    assert not KeyMap.objects.filter(target=target, checked_at__isnull=True).exclude(target_ref="").exists()

    partner = int(keys["supplier"].target_ref)
    sent_name = keys["supplier"].last_payload["name"]
    # Odoo moves supplier_rank with every vendor bill and users file products in their own categories: no drift
    srv.user_write("res.partner", partner, {"supplier_rank": 7})
    category = srv.user_create("product.category", {"name": "Respiratory"})
    srv.user_write("product.template", int(keys["item"].target_ref), {"categ_id": category})
    assert reconcile_target(target, actor=steward).figures["drifted"] == 0
    srv.user_write(
        "res.partner", partner, {"name": "Medline (edited in Odoo)", "country_id": srv.by_xmlid("base.de")["id"]}
    )
    run = reconcile_target(target, actor=steward)
    assert run.figures == {"checked": everything, "drifted": 1, "missing": 0, "resolved": 0}
    task = open_drift(target, "supplier", records["supplier"].pk).get()
    assert task.priority == StewardTask.Priority.NORMAL
    assert task.entity_type == "supplier" and task.object_id == records["supplier"].pk
    assert target.name in task.title and "Medline" in task.title
    assert task.details["target_id"] == target.pk and task.details["target"] == target.name
    assert task.details["target_ref"] == str(partner) and task.details["missing"] is False
    assert task.details["fields"]["name"] == {"hub": sent_name, "target": "Medline (edited in Odoo)"}
    assert task.details["fields"]["country_id"]["hub"] == "base.us"
    assert task.details["fields"]["country_id"]["target"][0] == srv.by_xmlid("base.de")["id"]
    assert set(task.details["fields"]) == {"name", "country_id"}

    # again: the same task, refreshed, not a second one
    run = reconcile_target(target, actor=steward)
    assert run.figures["drifted"] == 1
    assert StewardTask.objects.filter(kind="sync_drift").count() == 1

    # the Odoo user puts it back: the task resolves itself
    srv.user_write("res.partner", partner, {"name": sent_name, "country_id": srv.by_xmlid("base.us")["id"]})
    run = reconcile_target(target, actor=steward)
    assert run.figures == {"checked": everything, "drifted": 0, "missing": 0, "resolved": 1}
    task.refresh_from_db()
    assert task.status == "resolved" and "matches what the hub sent again" in task.resolution_note
    assert task.resolved_by == steward


@pytest.mark.parametrize("odoo_server", [16, 19], indirect=True)
def test_repush_sends_the_current_version_to_that_target_only(odoo_server, delivered, steward, tmp_path):
    srv = odoo_server
    target, records, keys = delivered
    other = Target.objects.create(name="Partner drop", kind="file_drop", directory=str(tmp_path))
    other.subscriptions.create(entity_type="item")
    product = int(keys["item"].target_ref)
    srv.user_write("product.template", product, {"name": "Nebulizer (renamed at Odoo)", "default_code": "X-1"})
    price = int(keys["contract_price"].target_ref)
    srv.user_write("product.supplierinfo", price, {"price": 9.99})
    reconcile_target(target, actor=steward)
    task = open_drift(target, "item", records["item"].pk).get()
    assert set(task.details["fields"]) == {"name", "default_code"}
    price_task = open_drift(target, "contract_price", records["contract_price"].pk).get()
    assert price_task.details["fields"]["price"]["target"] == pytest.approx(9.99)

    event = drift_repush(task, actor=steward)

    assert event.change_type == OutboxEvent.ChangeType.RESYNC
    assert (event.entity_type, event.object_id, event.version) == ("item", records["item"].pk, records["item"].version)
    assert event.dispatched_at is not None
    assert list(Delivery.objects.filter(event=event).values_list("target_id", flat=True)) == [target.pk]
    task.refresh_from_db()
    assert task.status == "resolved" and task.resolved_by == steward
    assert str(event.event_id) in task.resolution_note
    with pytest.raises(DriftError):
        drift_repush(task, actor=steward)

    drift_repush(price_task, actor=steward)
    drain(target)
    assert srv.records("product.template", [["id", "=", product]])[0]["name"] == "Nebulizer kit, adult"
    run = reconcile_target(target, actor=steward)
    assert run.figures["drifted"] == 0 and run.figures["missing"] == 0
    assert not StewardTask.objects.filter(kind="sync_drift", status="open").exists()


@pytest.mark.parametrize("odoo_server", [16, 19], indirect=True)
def test_a_bank_account_changed_at_odoo_is_drift_shown_masked(odoo_server, delivered, steward):
    srv = odoo_server
    target, records, keys = delivered
    partner = int(keys["supplier"].target_ref)
    account = srv.records("res.partner.bank", [["partner_id", "=", partner]])[0]
    diverted = "GB33BUKB20201555555555"
    srv.user_write("res.partner.bank", account["id"], {"acc_number": diverted})

    run = reconcile_target(target, actor=steward)

    assert run.figures["drifted"] == 1
    task = open_drift(target, "supplier", records["supplier"].pk).get()
    assert task.details["fields"] == {"bank_accounts": {"hub": [f"••••{IBAN[-4:]}"], "target": ["••••5555"]}}
    assert diverted not in str(task.details) and IBAN not in str(task.details) and IBAN not in task.title
    srv.user_write("res.partner.bank", account["id"], {"acc_number": IBAN})
    srv.user_create("res.partner.bank", {"acc_number": diverted, "partner_id": partner})  # one more, added at Odoo
    reconcile_target(target, actor=steward)
    task.refresh_from_db()
    assert task.status == "open"
    assert task.details["fields"]["bank_accounts"]["target"] == sorted([f"••••{IBAN[-4:]}", "••••5555"])


def test_a_record_deleted_in_odoo_is_missing(odoo_server, delivered, steward):
    srv = odoo_server
    target, records, keys = delivered
    line = int(keys["contract_price"].target_ref)
    client = OdooClient(srv.url, srv.db, srv.login, srv.api_key)
    client.execute_kw("product.supplierinfo", "unlink", [[line]])  # someone deletes the vendor price at Odoo

    run = reconcile_target(target, actor=steward)

    assert run.figures["missing"] == 1 and run.figures["drifted"] == 0
    task = open_drift(target, "contract_price", records["contract_price"].pk).get()
    assert task.details["missing"] is True and task.details["fields"] == {}
    assert "missing" in task.title
    with pytest.raises(DriftError, match="gone"):
        drift_adopt(task, actor=steward)
    drift_repush(task, actor=steward)
    drain(target)
    assert reconcile_target(target, actor=steward).figures["missing"] == 0


def test_adopt_takes_odoos_values_through_survivorship(
    odoo_server, delivered, steward, django_capture_on_commit_callbacks
):
    srv = odoo_server
    target, records, keys = delivered
    partner = int(keys["supplier"].target_ref)
    srv.user_write("res.partner", partner, {"name": "Medline Industries, L.P."})
    reconcile_target(target, actor=steward)
    task = open_drift(target, "supplier", records["supplier"].pk).get()

    with django_capture_on_commit_callbacks(execute=True):
        record = drift_adopt(task, actor=steward)

    target.refresh_from_db()
    assert record.system == target.source_system and record.entity_type == "supplier"
    assert record.external_id == str(partner)
    assert record.standardized["legal_name"] == "Medline Industries, L.P."
    crosswalk = Crosswalk.objects.get(pk=record.crosswalk_id)
    assert crosswalk.golden_id == records["supplier"].pk and crosswalk.link_method == "steward"
    task.refresh_from_db()
    assert task.status == "resolved" and task.resolved_by == steward
    assert f"source record {record.pk}" in task.resolution_note
    request = ChangeRequest.objects.filter(entity_type="supplier", object_id=records["supplier"].pk).latest("id")
    assert request.origin == ChangeRequest.Origin.SURVIVORSHIP and request.source_record_id == record.pk
    assert request.changes["legal_name"] == "Medline Industries, L.P."
    # the pull still leaves the hub's own partner alone
    assert SourceRecord.objects.filter(system=target.source_system, entity_type="supplier").count() == 1


def test_a_fault_fails_the_run_with_the_message(odoo_server, delivered, steward):
    srv = odoo_server
    target, _records, _keys = delivered
    srv.inject("http_500", times=None)
    run = reconcile_target(target, actor=steward)
    assert run.status == "failed" and run.error
    assert not StewardTask.objects.filter(kind="sync_drift").exists()
    srv.clear_faults()
    srv.set_down(True)
    assert reconcile_target(target, actor=steward).status == "failed"


def test_expected_columns_follow_the_load_columns():
    sent = {
        "name": "Medline",
        "country_id/id": "base.us",
        "company_id/.id": "1",
        "active": "1",
        "_bank_accounts": [{"id": "__mdm__.supplier_bank_1", "acc_number": "••••3000"}],
    }
    assert expected_columns(sent) == {
        "name": ("", "Medline"),
        "country_id": ("xmlid", "base.us"),
        "company_id": ("dbid", "1"),
        "active": ("", "1"),
    }
