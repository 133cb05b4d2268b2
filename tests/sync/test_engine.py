"""The delivery engine against the Odoo test server: approvals land, outages recover, nothing is lost or doubled."""

import datetime

import pytest
from django.utils import timezone

from items.services import item_update
from mdm.services.changes import change_request_approve, change_request_create, retire_propose
from sync import engine
from sync.models import Delivery, KeyMap, OutboxEvent
from sync.services import deliveries_replay, deliveries_replay_dead, deliveries_replay_since, target_backfill
from tests.sync.records import drain, odoo_target

pytestmark = pytest.mark.django_db


def make_due(target):
    """Let every retry fall due now (instead of waiting out the backoff)."""
    Delivery.objects.filter(target=target, status=Delivery.Status.FAILED).update(next_attempt_at=timezone.now())


def statuses(target):
    counts = {
        status: Delivery.objects.filter(target=target, status=status).count() for status in Delivery.Status.values
    }
    return {status: count for status, count in counts.items() if count}


@pytest.mark.parametrize("odoo_server", [16, 17, 18, 19], indirect=True)
def test_approved_change_reaches_odoo_for_each_version(odoo_server, supplier, make_item, make_price, steward, approver):
    srv = odoo_server
    target = odoo_target(srv)
    item = make_item("Nebulizer kit, adult", gtins=("00841470100667", "", ""))
    make_price(item, amount="25.00", unit="BX")
    drain(target)
    cr = change_request_create(
        entity_type="item",
        kind="update",
        object_id=item.pk,
        actor=steward,
        reason="clearer description",
        changes={"description": "Nebulizer kit, adult, with mouthpiece"},
    )
    change_request_approve(cr, actor=approver)
    cr.refresh_from_db()
    figures = drain(target)
    assert figures.get("delivered") == 1, figures
    product = srv.by_xmlid(f"__mdm__.item_{item.pk}")
    assert product["name"] == "Nebulizer kit, adult, with mouthpiece"
    assert product["barcode"] == "00841470100667"
    partner = srv.by_xmlid(f"__mdm__.supplier_{supplier.pk}")
    assert partner["name"] == "Medline Industries, LP"
    line = srv.records("product.supplierinfo")
    assert len(line) == 1 and float(line[0]["price"]) == pytest.approx(2.5)  # per each: 25.00 per box of 10
    key = KeyMap.objects.get(target=target, entity_type="item", object_id=item.pk)
    assert key.last_version == cr.applied_version and key.target_ref == str(product["id"])
    delivery = Delivery.objects.get(target=target, entity_type="item", version=cr.applied_version)
    assert delivery.status == "delivered" and delivery.correlation_id == cr.correlation_id
    assert srv.api_key not in delivery.request_excerpt + delivery.response_excerpt


def test_outage_during_a_burst_of_1000_changes_delivers_each_record_once(odoo_server, make_item, settings):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("item",), batch_size=200)
    srv.set_down(True)
    items = [make_item(f"Exam glove nitrile size {n}", part=f"GLV-{n:04d}") for n in range(250)]
    for round_ in range(3):
        for item in items:
            item.refresh_from_db()
            item_update(item, changes={"short_name": f"GLV {item.pk} r{round_}"}, actor=None, reason="feed")
    assert OutboxEvent.objects.filter(entity_type="item").count() == 1000
    figures = drain(target)
    assert figures.get("delivered", 0) == 0 and figures.get("retried", 0) > 0
    assert not Delivery.objects.filter(target=target, status="delivered").exists()
    srv.set_down(False)
    make_due(target)
    drain(target)
    make_due(target)
    drain(target)
    assert statuses(target).keys() <= {"delivered", "superseded"}, statuses(target)
    products = srv.records("product.template")
    assert len(products) == 250
    assert len({p["id"] for p in products}) == 250
    for item in items:
        item.refresh_from_db()
        product = srv.by_xmlid(f"__mdm__.item_{item.pk}")
        assert product is not None
        key = KeyMap.objects.get(target=target, entity_type="item", object_id=item.pk)
        assert key.last_version == item.version
    # every change is accounted for: the newest version of each record delivered, older ones superseded
    assert Delivery.objects.filter(target=target, entity_type="item", status="delivered").count() == 250
    assert Delivery.objects.filter(target=target, entity_type="item", status="superseded").count() == 750


def test_response_lost_after_commit_makes_no_duplicate(odoo_server, make_item):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("item",))
    item = make_item("Suction catheter 14 FR")
    drain(target)  # the unit goes out first
    item_update(item, changes={"short_name": "CATH SUCT 14FR"}, actor=None, reason="feed")
    srv.inject("drop_after_commit", model="product.template", times=1)
    drain(target)
    delivery = Delivery.objects.filter(target=target, entity_type="item").order_by("-version").first()
    assert delivery.status == "failed" and delivery.error_kind == "transient"
    assert len(srv.records("product.template")) == 1  # it did land, but the hub could not know
    make_due(target)
    drain(target)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    products = srv.records("product.template")
    assert len(products) == 1 and products[0]["name"] == "Suction catheter 14 FR"


def test_versions_out_of_order_the_newest_wins(odoo_server, make_item, steward):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("item",))
    item = make_item("Oxygen mask adult")
    drain(target)
    item_update(item, changes={"short_name": "v2"}, actor=steward, reason="a")
    srv.inject("http_500", model="product.template", times=1)
    drain(target)  # v2 fails and waits for its retry
    item.refresh_from_db()
    item_update(item, changes={"short_name": "v3"}, actor=steward, reason="b")
    drain(target)  # v3 goes out at once
    make_due(target)
    drain(target)  # the v2 retry must not overwrite v3
    assert srv.by_xmlid(f"__mdm__.item_{item.pk}")["name"] == "Oxygen mask adult"
    key = KeyMap.objects.get(target=target, entity_type="item", object_id=item.pk)
    assert key.last_version == 3
    v2 = Delivery.objects.get(target=target, entity_type="item", version=2)
    assert v2.status == "superseded"
    # replaying an old delivery later is superseded too, never sent
    v1 = Delivery.objects.get(target=target, entity_type="item", version=1)
    calls = len(srv.calls)
    assert deliveries_replay([v1.pk, v2.pk], actor=steward) == 2
    drain(target)
    v1.refresh_from_db()
    assert v1.status == "superseded" and len(srv.calls) == calls
    # ... while replaying the newest re-sends it (idempotent)
    v3 = Delivery.objects.get(target=target, entity_type="item", version=3)
    deliveries_replay([v3.pk], actor=steward)
    drain(target)
    v3.refresh_from_db()
    assert v3.status == "delivered" and v3.replayed_by == steward
    assert len(srv.records("product.template")) == 1


def test_validation_error_is_a_dead_letter_with_odoos_message_and_replay_after_the_fix(odoo_server, make_item, steward):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("item",))
    squatter = srv.user_create("product.template", {"name": "Someone else's glove", "barcode": "00841470100667"})
    item = make_item("Nebulizer kit", gtins=("00841470100667", "", ""))
    good = make_item("Nebulizer mouthpiece", part="NEB-2")
    drain(target)
    dead = Delivery.objects.get(target=target, entity_type="item", object_id=item.pk)
    assert dead.status == "dead" and dead.error_kind == "permanent"
    assert "barcode" in dead.last_error.lower() or "unique" in dead.last_error.lower(), dead.last_error
    assert Delivery.objects.get(target=target, entity_type="item", object_id=good.pk).status == "delivered"
    # an Odoo user clears the other product's barcode; operations replay the dead letters
    srv.user_write("product.template", squatter, {"barcode": False})
    assert deliveries_replay_dead(target, actor=steward) == 1
    drain(target)
    dead.refresh_from_db()
    assert dead.status == "delivered" and dead.attempts == 1
    assert srv.by_xmlid(f"__mdm__.item_{item.pk}")["barcode"] == "00841470100667"


def test_transient_failures_back_off_then_dead_letter(odoo_server, make_item, settings):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("item",), max_attempts=3)
    settings.MDM_SYNC_BACKOFF_BASE_SECONDS = 30  # retries fall due only when the test says so
    make_item("Exam glove")
    srv.inject("serialization", times=None)
    before = timezone.now()
    drain(target)
    delivery = Delivery.objects.get(target=target, entity_type="unit")  # the item's base unit goes first
    assert delivery.status == "failed" and delivery.attempts == 1
    wait = (delivery.next_attempt_at - before).total_seconds()
    base = settings.MDM_SYNC_BACKOFF_BASE_SECONDS
    assert base * 0.5 - 0.1 <= wait <= base + 1
    for _ in range(2):
        make_due(target)
        drain(target)
    delivery.refresh_from_db()
    assert delivery.status == "dead" and delivery.attempts == 3 and delivery.error_kind == "transient"
    item_delivery = Delivery.objects.filter(target=target, entity_type="item").first()
    assert item_delivery is None or item_delivery.status in ("pending", "dead")
    srv.clear_faults()
    deliveries_replay_dead(target, actor=None)
    for _ in range(3):
        make_due(target)
        drain(target)
    assert set(statuses(target)) <= {"delivered", "superseded"}, statuses(target)


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.MDM_SYNC_BACKOFF_BASE_SECONDS = 2
    settings.MDM_SYNC_BACKOFF_MAX_SECONDS = 600
    for attempt, ceiling in ((1, 2), (2, 4), (3, 8), (6, 64), (12, 600)):
        waits = [engine.backoff_seconds(attempt) for _ in range(50)]
        assert all(ceiling * 0.5 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jittered


def test_retire_archives_and_a_filter_limits_what_is_sent(odoo_server, make_item, steward, approver):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("item",), filters={"item": {"status": "active"}})
    keep, gone = make_item("Gauze sponge 4x4"), make_item("Gauze sponge 2x2", part="G-22")
    drain(target)
    change_request_approve(
        retire_propose(entity_type="item", object_id=gone.pk, actor=steward, reason="discontinued"), actor=approver
    )
    drain(target)
    archived = srv.by_xmlid(f"__mdm__.item_{gone.pk}")
    assert archived is not None and archived["active"] is False  # archived, never unlinked
    assert srv.by_xmlid(f"__mdm__.item_{keep.pk}")["active"] is True
    assert KeyMap.objects.get(target=target, entity_type="item", object_id=gone.pk).archived
    # a record outside the filter that was never delivered is not sent at all
    never = make_item("Retired before it was sent", part="R-1")
    never.status = "retired"
    from mdm.services.golden import golden_save

    golden_save(never, actor=steward, reason="test")
    drain(target)
    # created and retired before the engine ran: it reaches Odoo archived, never as an active product
    sent = srv.by_xmlid(f"__mdm__.item_{never.pk}")
    assert sent is None or sent["active"] is False


def test_replay_since_resends_everything_for_a_target(odoo_server, make_item, steward):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("item",))
    start = timezone.now() - datetime.timedelta(seconds=1)
    make_item("Gauze sponge 4x4")
    drain(target)
    calls = len(srv.calls)
    count = deliveries_replay_since(target, start, actor=steward)
    assert count == 2
    drain(target)
    assert len(srv.calls) > calls
    assert len(srv.records("product.template")) == 1
    assert set(statuses(target)) == {"delivered"}


def test_backfill_queues_every_subscribed_record_for_a_new_target(odoo_server, make_item, steward):
    srv = odoo_server
    items = [make_item(f"Gauze sponge {n}x{n}", part=f"G-{n}") for n in range(2, 6)]
    retired = items[0]
    retired.status = "retired"
    from mdm.services.golden import golden_save

    golden_save(retired, actor=steward, reason="test")
    OutboxEvent.objects.update(dispatched_at=timezone.now())  # history from before the target existed
    target = odoo_target(srv, entity_types=("item",), filters={"item": {"status": "active"}})
    assert target_backfill(target, actor=steward) == 3  # the retired one was never there: nothing to archive
    drain(target)
    assert len(srv.records("product.template")) == 3
    assert srv.by_xmlid(f"__mdm__.item_{retired.pk}") is None
    assert KeyMap.objects.filter(target=target, entity_type="item").count() == 3
