"""Business metrics on /metrics: work past its SLA, records blocked from syndication, drift (real rows, real scrape)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from mdm.models import ChangeRequest, IngestBatch, MatchCandidate, QuarantinedRecord, SourceSystem, StewardTask
from sync.models import Delivery, OutboxEvent, Target
from sync.reconcile import DRIFT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def public(settings):
    settings.MDM_METRICS_PUBLIC = True


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def change_request(entity_type, status, *, submitted_hours_ago=None):
    cr = ChangeRequest.objects.create(
        entity_type=entity_type, object_id=1, kind="update", status=status, title="t", reason="test"
    )
    if submitted_hours_ago is not None:
        ChangeRequest.objects.filter(pk=cr.pk).update(submitted_at=ago(hours=submitted_hours_ago))
    return cr


_pair = iter(range(1, 10_000))


def review(entity_type, *, days_old=0, status=MatchCandidate.Status.OPEN):
    n = next(_pair)
    candidate = MatchCandidate.objects.create(
        entity_type=entity_type,
        kind="duplicate",
        left_ref=f"g:{n + 5000}",
        right_ref=f"g:{n}",
        right_golden_id=n,
        probability=0.8,
        match_weight=2.0,
        band="review",
        explanation={},
        status=status,
    )
    MatchCandidate.objects.filter(pk=candidate.pk).update(created_at=ago(days=days_old))  # time travel
    return candidate


def delivery(target, status, *, object_id, version=1, entity_type="item", minutes_old=0, error_kind="", **extra):
    created = ago(minutes=minutes_old)
    event = OutboxEvent.objects.create(
        entity_type=entity_type,
        object_id=object_id,
        version=version,
        change_type="update",
        payload={"id": object_id},
        created_at=created,
        dispatched_at=created,
    )
    return Delivery.objects.create(
        target=target,
        event=event,
        entity_type=entity_type,
        object_id=object_id,
        version=version,
        status=status,
        error_kind=error_kind,
        created_at=created,
        **extra,
    )


def drift_task(target, object_id, *, status=StewardTask.Status.OPEN):
    return StewardTask.objects.create(
        kind=DRIFT,
        entity_type="supplier",
        object_id=object_id,
        title=f"{target.name}: supplier {object_id} was changed in Odoo",
        details={"target_id": target.pk, "target": target.name, "fields": {"name": ["a", "b"]}},
        status=status,
        dedupe_key=f"sync_drift:{target.pk}:supplier:{object_id}:{status}",
    )


def test_change_requests_past_their_sla(client, settings):
    sla = settings.MDM_CHANGE_SLA_HOURS
    S = ChangeRequest.Status
    change_request("item", S.SUBMITTED, submitted_hours_ago=sla + 1)
    change_request("item", S.SUBMITTED, submitted_hours_ago=sla + 30)
    change_request("item", S.SUBMITTED, submitted_hours_ago=sla - 1)  # waiting, within the SLA
    change_request("item", S.DRAFT)
    change_request("supplier", S.SUBMITTED, submitted_hours_ago=sla + 2)
    change_request("supplier", S.APPROVED, submitted_hours_ago=sla + 50)  # approved: no longer waits for approval
    change_request("supplier", S.APPLIED, submitted_hours_ago=sla + 50)  # done: neither open nor late

    samples = scrape(client)
    assert value(samples, "mdm_change_requests_past_sla", entity_type="item") == 2
    assert value(samples, "mdm_change_requests_past_sla", entity_type="supplier") == 1
    assert value(samples, "mdm_change_requests_past_sla", entity_type="contract") == 0  # every type has its series
    assert value(samples, "mdm_change_requests_open", entity_type="item", status="submitted") == 3
    assert value(samples, "mdm_change_requests_open", entity_type="item", status="draft") == 1
    assert value(samples, "mdm_change_requests_open", entity_type="supplier", status="approved") == 1
    assert value(samples, "mdm_change_requests_open", entity_type="supplier", status="submitted") == 1

    settings.MDM_CHANGE_SLA_HOURS = sla + 40  # the same rule as the dashboard, read at scrape time
    assert value(scrape(client), "mdm_change_requests_past_sla", entity_type="item") == 0


def test_match_reviews_overdue(client, settings):
    days = settings.MDM_REVIEW_SLA_DAYS
    review("item", days_old=days + 1)
    review("item", days_old=days + 10)
    review("item", days_old=days - 1)
    review("item", days_old=days + 3, status=MatchCandidate.Status.REJECTED)  # decided
    review("supplier")

    samples = scrape(client)
    assert value(samples, "mdm_match_reviews_overdue", entity_type="item") == 2
    assert value(samples, "mdm_match_reviews_overdue", entity_type="supplier") == 0
    assert value(samples, "mdm_match_reviews_open", entity_type="item") == 3
    assert value(samples, "mdm_match_reviews_open", entity_type="supplier") == 1


def test_quarantined_source_records(client):
    system = SourceSystem.objects.create(name="catalog-x", kind="file")
    batch = IngestBatch.objects.create(system=system, entity_type="item", channel="file")
    for n, status in enumerate(["open", "open", "superseded"]):
        QuarantinedRecord.objects.create(
            system=system,
            entity_type="item",
            external_id=f"X-{n}",
            payload={},
            payload_hash=str(n),
            errors={"gtin": ["bad check digit"]},
            status=status,
            batch=batch,
        )
    assert value(scrape(client), "mdm_quarantine_open", entity_type="item") == 2


def test_deliveries_past_sla_drift_and_records_blocked_by_validation(client, settings):
    odoo = Target.objects.create(name="odoo-prod", kind=Target.Kind.ODOO)
    hook = Target.objects.create(name="ap-hook", kind=Target.Kind.WEBHOOK)
    S = Delivery.Status
    sla = settings.MDM_SYNC_DELIVERY_SLA_MINUTES
    delivery(odoo, S.PENDING, object_id=1, minutes_old=sla + 5)
    delivery(odoo, S.SENDING, object_id=2, minutes_old=sla + 1)
    delivery(odoo, S.FAILED, object_id=3, minutes_old=sla * 4)  # retrying
    delivery(odoo, S.PENDING, object_id=4, minutes_old=sla - 5)  # within the SLA
    delivery(odoo, S.DELIVERED, object_id=5, minutes_old=sla * 10)  # acknowledged
    # Queued long ago but replayed a minute ago: it has waited since the replay.
    delivery(hook, S.PENDING, object_id=6, minutes_old=sla * 10, replayed_at=ago(minutes=1))

    # Refused by the target: item 10 by both targets (counts once), item 11 fixed by a newer delivered version,
    # item 12 dead for a transient reason that ran out of retries (not a validation refusal), unit 7 refused.
    delivery(odoo, S.DEAD, object_id=10, error_kind="permanent", last_error="ValidationError: no base unit")
    delivery(hook, S.DEAD, object_id=10, error_kind="permanent", last_error="HTTP 422")
    delivery(odoo, S.DEAD, object_id=11, error_kind="permanent", last_error="ValidationError")
    delivery(odoo, S.DELIVERED, object_id=11, version=2)
    delivery(odoo, S.DEAD, object_id=12, error_kind="transient", last_error="timeout")
    delivery(odoo, S.DEAD, object_id=7, entity_type="unit", error_kind="permanent", last_error="ratio 0")

    drift_task(odoo, 1)
    drift_task(odoo, 2)
    drift_task(odoo, 3, status=StewardTask.Status.RESOLVED)
    drift_task(hook, 4)

    samples = scrape(client)
    late = "mdm_sync_deliveries_unacknowledged_past_sla"
    assert value(samples, late, target="odoo-prod") == 3
    assert value(samples, late, target="ap-hook") == 0
    assert value(samples, "mdm_sync_reconciliation_drift", target="odoo-prod") == 2
    assert value(samples, "mdm_sync_reconciliation_drift", target="ap-hook") == 1
    blocked = "mdm_golden_blocked_by_validation"
    assert value(samples, blocked, entity_type="item") == 1
    assert value(samples, blocked, entity_type="unit") == 1
    assert value(samples, blocked, entity_type="supplier") == 0


def test_the_scrape_costs_the_same_queries_whatever_the_rows(client, settings):
    odoo = Target.objects.create(name="odoo-prod", kind=Target.Kind.ODOO)
    change_request("item", ChangeRequest.Status.SUBMITTED, submitted_hours_ago=100)
    review("item", days_old=30)
    drift_task(odoo, 1)
    delivery(odoo, Delivery.Status.DEAD, object_id=1, error_kind="permanent")
    with CaptureQueriesContext(connection) as few:
        scrape(client)

    other = Target.objects.create(name="ap-hook", kind=Target.Kind.WEBHOOK)
    for n in range(2, 40):
        change_request("supplier", ChangeRequest.Status.SUBMITTED, submitted_hours_ago=100 + n)
        review("supplier", days_old=30 + n)
        drift_task(other, n)
        delivery(other, Delivery.Status.DEAD, object_id=n, entity_type="supplier", error_kind="permanent")
        delivery(odoo, Delivery.Status.PENDING, object_id=n, minutes_old=60)
    with CaptureQueriesContext(connection) as many:
        samples = scrape(client)

    # sync.metrics: 6 queries, mdm.metrics: 5 (see their docstrings).
    assert len(many) == len(few) == 11
    assert value(samples, "mdm_change_requests_past_sla", entity_type="supplier") == 38
    assert value(samples, "mdm_match_reviews_overdue", entity_type="supplier") == 38
    assert value(samples, "mdm_sync_reconciliation_drift", target="ap-hook") == 38
    assert value(samples, "mdm_golden_blocked_by_validation", entity_type="supplier") == 38
    assert value(samples, "mdm_sync_deliveries_unacknowledged_past_sla", target="odoo-prod") == 38
