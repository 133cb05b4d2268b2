"""/metrics computed from the database, its protection, and /readyz."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from sync.models import Delivery, OutboxEvent, Target

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.sync.urls_metrics")]

TOKEN = "prom-scrape-token-1f2e3d"


def event(created_at, *, dispatched=True, object_id=1):
    return OutboxEvent.objects.create(
        entity_type="unit",
        object_id=object_id,
        version=1,
        change_type="update",
        payload={"id": object_id},
        created_at=created_at,
        dispatched_at=created_at if dispatched else None,
    )


def delivery(target, status, *, age=0.0, latency=None, delivered_ago=0.0, attempts=0):
    """A delivery whose event happened ``age`` s ago (or ``latency`` s before it was delivered)."""
    now = timezone.now()
    if latency is not None:
        delivered_at = now - timedelta(seconds=delivered_ago)
        created = delivered_at - timedelta(seconds=latency)
    else:
        delivered_at, created = None, now - timedelta(seconds=age)
    return Delivery.objects.create(
        target=target,
        event=event(created),
        entity_type="unit",
        object_id=1,
        version=1,
        status=status,
        attempts=attempts,
        created_at=created,
        delivered_at=delivered_at,
    )


@pytest.fixture
def scene(db):
    odoo = Target.objects.create(name="odoo-prod", kind=Target.Kind.ODOO)
    drop = Target.objects.create(name="erp-drop", kind=Target.Kind.FILE_DROP)
    Target.objects.create(name="idle-hook", kind=Target.Kind.WEBHOOK)
    S = Delivery.Status
    delivery(odoo, S.PENDING, age=120)
    delivery(odoo, S.PENDING, age=30)
    delivery(odoo, S.FAILED, age=600, attempts=3)
    delivery(odoo, S.SENDING, age=5, attempts=1)
    delivery(odoo, S.DELIVERED, latency=0.05, attempts=1)
    delivery(odoo, S.DELIVERED, latency=1.5, attempts=2)
    delivery(odoo, S.DELIVERED, latency=45, attempts=1)
    delivery(odoo, S.DELIVERED, latency=0.2, delivered_ago=2 * 86400, attempts=1)  # outside the 24 h window
    delivery(odoo, S.DEAD, age=900, attempts=8)
    delivery(odoo, S.SUPERSEDED, age=50)
    delivery(odoo, S.FILTERED, age=50)
    delivery(drop, S.DELIVERED, latency=400, attempts=1)
    event(timezone.now() - timedelta(seconds=90), dispatched=False, object_id=7)
    event(timezone.now() - timedelta(seconds=10), dispatched=False, object_id=8)
    return odoo, drop


def scrape(client, **headers):
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def public(settings):
    settings.MDM_METRICS_PUBLIC = True


# Six queries for syndication (sync.metrics) and five for stewardship (mdm.metrics), whatever the row counts.
SCRAPE_QUERIES = 11


def test_figures_match_the_tables(client, scene, public, django_assert_max_num_queries):
    with django_assert_max_num_queries(SCRAPE_QUERIES):
        samples = scrape(client)
    depth = "mdm_sync_queue_depth"
    assert value(samples, depth, target="odoo-prod", status="pending") == 2
    assert value(samples, depth, target="odoo-prod", status="sending") == 1
    assert value(samples, depth, target="odoo-prod", status="failed") == 1
    assert value(samples, depth, target="idle-hook", status="pending") == 0  # every target has its series
    assert value(samples, "mdm_sync_oldest_pending_seconds", target="odoo-prod") == pytest.approx(600, abs=30)
    assert value(samples, "mdm_sync_oldest_pending_seconds", target="erp-drop") == 0
    totals = "mdm_sync_deliveries_total"
    assert value(samples, totals, target="odoo-prod", outcome="delivered") == 4
    assert value(samples, totals, target="odoo-prod", outcome="dead") == 1
    assert value(samples, totals, target="odoo-prod", outcome="superseded") == 1
    assert value(samples, totals, target="odoo-prod", outcome="filtered") == 1
    assert value(samples, totals, target="erp-drop", outcome="delivered") == 1
    assert value(samples, "mdm_sync_retries_total", target="odoo-prod") == 2 + 1 + 7
    assert value(samples, "mdm_sync_dead_letters", target="odoo-prod") == 1
    assert value(samples, "mdm_sync_dead_letters", target="erp-drop") == 0
    assert value(samples, "mdm_sync_outbox_undispatched") == 2
    assert value(samples, "mdm_sync_outbox_oldest_undispatched_seconds") == pytest.approx(90, abs=30)

    bucket = "mdm_sync_delivery_latency_seconds_bucket"
    expected = {"0.1": 1, "0.25": 1, "0.5": 1, "1.0": 1, "2.0": 2, "5.0": 2, "10.0": 2, "30.0": 2, "60.0": 3}
    expected |= {"300.0": 3, "+Inf": 3}
    for le, count in expected.items():
        assert value(samples, bucket, target="odoo-prod", le=le) == count, le
    assert value(samples, "mdm_sync_delivery_latency_seconds_count", target="odoo-prod") == 3
    assert value(samples, "mdm_sync_delivery_latency_seconds_sum", target="odoo-prod") == pytest.approx(46.55, abs=0.01)
    assert value(samples, bucket, target="erp-drop", le="300.0") == 0
    assert value(samples, bucket, target="erp-drop", le="+Inf") == 1
    assert value(samples, "mdm_sync_delivery_latency_seconds_sum", target="erp-drop") == pytest.approx(400, abs=0.01)
    assert value(samples, "mdm_sync_delivery_latency_seconds_count", target="idle-hook") == 0


def test_the_scrape_costs_the_same_queries_for_many_rows(client, scene, public):
    odoo, _drop = scene
    with CaptureQueriesContext(connection) as few:
        scrape(client)
    extra = Target.objects.create(name="more", kind=Target.Kind.WEBHOOK)
    for n in range(60):
        delivery(odoo if n % 2 else extra, Delivery.Status.DELIVERED, latency=n, attempts=1 + n % 3)
        delivery(extra, Delivery.Status.PENDING, age=n)
    with CaptureQueriesContext(connection) as many:
        samples = scrape(client)
    assert len(many) == len(few) <= SCRAPE_QUERIES
    assert value(samples, "mdm_sync_queue_depth", target="more", status="pending") == 60


def test_openmetrics_on_request(client, scene, public):
    response = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


def test_metrics_are_protected_unless_public(client, scene, settings, steward, viewer, monkeypatch):
    settings.MDM_METRICS_PUBLIC = False
    monkeypatch.setenv("MDM_METRICS_TOKEN", TOKEN)
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    samples = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")  # what Prometheus sends
    assert value(samples, "mdm_sync_dead_letters", target="odoo-prod") == 1
    client.force_login(viewer)  # viewers see records, not the syndication machinery
    assert client.get("/metrics").status_code == 403
    client.force_login(steward)  # has sync.view_delivery
    assert scrape(client)


def test_no_token_configured_means_no_bearer_access(client, scene, settings, monkeypatch):
    settings.MDM_METRICS_PUBLIC = False
    monkeypatch.delenv("MDM_METRICS_TOKEN", raising=False)
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_public_metrics_need_no_credentials(client, scene, settings):
    settings.MDM_METRICS_PUBLIC = True
    assert client.get("/metrics").status_code == 200


# --- readiness ---------------------------------------------------------------------------------------------------


def test_readyz_is_ready_with_database_migrations_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "migrations": True,
        "broker": True,
    }


def test_readyz_names_an_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://:hunter2-broker-pass@127.0.0.1:1/0"  # nothing listens on port 1
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failing"] == ["broker"]
    assert body["checks"]["broker"]["ok"] is False and body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert "hunter2-broker-pass" not in response.content.decode()


def test_readyz_names_unapplied_migrations(client, monkeypatch):
    from django.db.migrations.recorder import MigrationRecorder

    from sync import views

    monkeypatch.setattr(views, "_migrations_checked", False)
    # As if the code were deployed before ``migrate`` ran (the test's transaction restores the row).
    MigrationRecorder(connection).record_unapplied("sync", "0002_schedules")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["migrations"]
    assert "sync.0002_schedules" in body["checks"]["migrations"]["error"]
