"""Prometheus metrics for syndication, computed from the database when scraped.

Every figure comes from the ``sync`` tables at scrape time, so any web process answers for the whole system
(Celery workers and other web processes included) and no in-process counter is lost on a restart. A scrape runs
six queries whatever the row counts: targets; deliveries grouped by target and status (with the count past the
delivery SLA); the latency histogram (one aggregate over the last 24 h of deliveries, grouped by target, with one
conditional count per bucket); the outbox backlog; golden records blocked by a refusal; open drift tasks.
The stewardship figures (``mdm.metrics``, five more queries) are served from the same registry.

- ``mdm_sync_queue_depth{target,status}``: deliveries pending, sending or failed (waiting for a retry).
- ``mdm_sync_oldest_pending_seconds{target}``: age of the oldest of those (0 when none).
- ``mdm_sync_deliveries_total{target,outcome}``: deliveries that ended delivered / dead / superseded / filtered.
  Counted from the rows, so a replay (dead -> pending) lowers ``dead``: Prometheus reads that as a counter
  reset, and ``rate()`` stays correct.
- ``mdm_sync_retries_total{target}``: attempts beyond the first, summed over all deliveries.
- ``mdm_sync_delivery_latency_seconds{target}``: histogram of event created -> delivered, over deliveries
  delivered in the last 24 hours (a sliding window, not a lifetime counter: read the buckets as they are, or use
  ``histogram_quantile`` on the raw values, not ``rate()``).
- ``mdm_sync_dead_letters{target}``: dead letters waiting for a person (gauge).
- ``mdm_sync_outbox_undispatched`` and ``mdm_sync_outbox_oldest_undispatched_seconds``: committed changes not yet
  fanned out to deliveries (the pump is behind or stopped).
- ``mdm_sync_deliveries_unacknowledged_past_sla{target}``: deliveries pending, sending or failed (waiting for a
  retry) for longer than ``MDM_SYNC_DELIVERY_SLA_MINUTES``, counted since they were queued or last replayed (the
  operations page's "stale" rule, ``sync.selectors.STALE_AFTER``).
- ``mdm_sync_reconciliation_drift{target}``: open ``sync_drift`` steward tasks (a record edited or deleted at the
  target since the hub delivered it).
- ``mdm_golden_blocked_by_validation{entity_type}``: golden records that can't reach a target because it (or the
  connector's mapping) refused their data: a dead letter with a permanent error (e.g. Odoo's ValidationError,
  "item has no base unit", a record it depends on was refused), with no newer version delivered to that target
  since. Each record counts once, however many targets refused it. The hub itself publishes every valid golden
  record (invalid data is stopped at ingest: ``mdm_quarantine_open``), so a refusal downstream is the only
  validation that blocks syndication; fixing the record (a new version) or replaying the delivery clears it.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder

from mdm import registry
from mdm.metrics import StewardshipCollector
from mdm.models import StewardTask
from sync.models import Delivery, OutboxEvent, Target
from sync.reconcile import DRIFT
from sync.selectors import STALE_AFTER

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
LATENCY_WINDOW = timedelta(hours=24)
QUEUE_STATUSES = (Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.FAILED)
OUTCOMES = (Delivery.Status.DELIVERED, Delivery.Status.DEAD, Delivery.Status.SUPERSEDED, Delivery.Status.FILTERED)


def _seconds(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000  # a backend that sums durations as microseconds


def _bucket_key(n: int) -> str:
    return f"le_{n}"


def delivery_figures(now=None) -> dict[int, dict]:
    """Per target id: counts by status, oldest open delivery, retries, open past the SLA (one grouped query)."""
    now = now or timezone.now()
    retries = Sum(
        Case(When(attempts__gt=1, then=F("attempts") - 1), default=Value(0), output_field=IntegerField()),
    )
    # A replayed delivery has waited since its replay, not since it was first queued (as on the operations page).
    late = Count("id", filter=Q(status__in=QUEUE_STATUSES, waiting_since__lt=now - STALE_AFTER))
    rows = (
        Delivery.objects.order_by()  # no sorting: a plain GROUP BY
        .alias(waiting_since=Coalesce("replayed_at", "created_at"))
        .values("target_id", "status")
        .annotate(n=Count("id"), oldest=Min("created_at"), retries=retries, late=late)
    )
    figures: dict[int, dict] = {}
    for row in rows:
        target = figures.setdefault(row["target_id"], {"counts": {}, "oldest": None, "retries": 0, "late": 0})
        target["counts"][row["status"]] = row["n"]
        target["retries"] += row["retries"] or 0
        target["late"] += row["late"] or 0
        if row["status"] in QUEUE_STATUSES and row["oldest"] is not None:
            target["oldest"] = row["oldest"] if target["oldest"] is None else min(target["oldest"], row["oldest"])
    return figures


def latency_figures(now) -> dict[int, dict]:
    """Per target id: cumulative bucket counts, count and sum of seconds from event to delivery (last 24 h)."""
    latency = ExpressionWrapper(F("delivered_at") - F("event__created_at"), output_field=DurationField())
    buckets = {
        _bucket_key(n): Count("id", filter=Q(latency__lte=timedelta(seconds=bound)))
        for n, bound in enumerate(LATENCY_BUCKETS)
    }
    rows = (
        Delivery.objects.order_by()
        .filter(status=Delivery.Status.DELIVERED, delivered_at__gte=now - LATENCY_WINDOW)
        .alias(latency=latency)
        .values("target_id")
        .annotate(count=Count("id"), total=Sum("latency"), **buckets)
    )
    return {row["target_id"]: row for row in rows}


def blocked_figures() -> dict[str, int]:
    """Per entity type: golden records with a permanent dead letter not overtaken by a delivered version (one query).

    A record refused by two targets counts once; one whose newer version reached that target since is fixed.
    """
    overtaken = Delivery.objects.filter(
        target_id=OuterRef("target_id"),
        entity_type=OuterRef("entity_type"),
        object_id=OuterRef("object_id"),
        version__gte=OuterRef("version"),
        status=Delivery.Status.DELIVERED,
    )
    rows = (
        Delivery.objects.order_by()
        .filter(status=Delivery.Status.DEAD, error_kind="permanent")
        .filter(~Exists(overtaken))
        .values_list("entity_type")
        .annotate(n=Count("object_id", distinct=True))
    )
    return dict(rows)


def drift_figures() -> dict[int, int]:
    """Per target id: open drift tasks (one query; reconciliation stores the target's id in the task's details)."""
    rows = (
        StewardTask.objects.order_by()
        .filter(kind=DRIFT, status=StewardTask.Status.OPEN)
        .values_list("details__target_id")
        .annotate(n=Count("pk"))
    )
    return {int(target_id): n for target_id, n in rows if target_id is not None}


def _families() -> dict:
    return {
        "depth": GaugeMetricFamily(
            "mdm_sync_queue_depth",
            "Deliveries waiting: pending, sending or failed (retry due later).",
            labels=["target", "status"],
        ),
        "oldest": GaugeMetricFamily(
            "mdm_sync_oldest_pending_seconds",
            "Age of the oldest pending, sending or failed delivery.",
            labels=["target"],
        ),
        "totals": CounterMetricFamily(
            "mdm_sync_deliveries",
            "Deliveries that ended, by outcome (counted from the table).",
            labels=["target", "outcome"],
        ),
        "retries": CounterMetricFamily("mdm_sync_retries", "Delivery attempts beyond the first.", labels=["target"]),
        "latency": HistogramMetricFamily(
            "mdm_sync_delivery_latency_seconds",
            "Seconds from the change (outbox event) to its delivery, over deliveries of the last 24 hours.",
            labels=["target"],
        ),
        "dead": GaugeMetricFamily(
            "mdm_sync_dead_letters", "Dead-lettered deliveries awaiting a replay.", labels=["target"]
        ),
        "undispatched": GaugeMetricFamily(
            "mdm_sync_outbox_undispatched", "Outbox events not yet fanned out to deliveries.", labels=[]
        ),
        "undispatched_age": GaugeMetricFamily(
            "mdm_sync_outbox_oldest_undispatched_seconds",
            "Age of the oldest outbox event not yet fanned out.",
            labels=[],
        ),
        "late": GaugeMetricFamily(
            "mdm_sync_deliveries_unacknowledged_past_sla",
            "Deliveries pending, sending or failed (retry due later) for longer than MDM_SYNC_DELIVERY_SLA_MINUTES "
            f"({int(STALE_AFTER.total_seconds() // 60)} min) since they were queued or last replayed.",
            labels=["target"],
        ),
        "drift": GaugeMetricFamily(
            "mdm_sync_reconciliation_drift",
            "Open reconciliation drift tasks: records edited or deleted at the target since the hub delivered them.",
            labels=["target"],
        ),
        "blocked": GaugeMetricFamily(
            "mdm_golden_blocked_by_validation",
            "Golden records a target (or the connector's mapping) refused: a dead letter with a permanent error "
            "(failed validation, an unmappable value, or a refused record it depends on) and no newer version "
            "delivered there since. Each record counts once. Fix the record or replay the delivery.",
            labels=["entity_type"],
        ),
    }


class SyncCollector:
    """A custom collector: nothing is counted in-process, everything is read at scrape time."""

    def describe(self):
        # Names only, without touching the database (called when the collector is registered).
        return list(_families().values())

    def collect(self):
        now = timezone.now()
        targets = dict(Target.objects.order_by("name").values_list("id", "name"))
        deliveries = delivery_figures(now)
        latencies = latency_figures(now)
        outbox = OutboxEvent.objects.filter(dispatched_at__isnull=True).aggregate(
            n=Count("id"), oldest=Min("created_at")
        )
        blocked = blocked_figures()
        drift = drift_figures()

        families = _families()
        for target_id, name in targets.items():
            figures = deliveries.get(target_id, {"counts": {}, "oldest": None, "retries": 0, "late": 0})
            counts = figures["counts"]
            for status in QUEUE_STATUSES:
                families["depth"].add_metric([name, status], counts.get(status, 0))
            age = (now - figures["oldest"]).total_seconds() if figures["oldest"] else 0.0
            families["oldest"].add_metric([name], max(age, 0.0))
            for outcome in OUTCOMES:
                families["totals"].add_metric([name, outcome], counts.get(outcome, 0))
            families["retries"].add_metric([name], figures["retries"])
            families["dead"].add_metric([name], counts.get(Delivery.Status.DEAD, 0))
            families["late"].add_metric([name], figures["late"])
            families["drift"].add_metric([name], drift.get(target_id, 0))
            row = latencies.get(target_id, {})
            buckets = [(str(float(bound)), row.get(_bucket_key(n), 0)) for n, bound in enumerate(LATENCY_BUCKETS)]
            buckets.append(("+Inf", row.get("count", 0)))
            families["latency"].add_metric([name], buckets, _seconds(row.get("total")))
        families["undispatched"].add_metric([], outbox["n"])
        outbox_age = (now - outbox["oldest"]).total_seconds() if outbox["oldest"] else 0.0
        families["undispatched_age"].add_metric([], max(outbox_age, 0.0))
        # Every registered entity type has its series (0 when nothing is blocked), as in mdm.metrics.
        for entity_type in sorted(set(registry.entity_types()) | set(blocked)):
            families["blocked"].add_metric([entity_type], blocked.get(entity_type, 0))
        return list(families.values())


# A registry of its own: only what the database says, no per-process collectors (they would differ per worker).
# The stewardship collector lives in mdm (which may not import sync); /metrics serves both from here.
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(SyncCollector())
REGISTRY.register(StewardshipCollector())


def exposition(accept_header: str | None = None) -> tuple[bytes, str]:
    """The metrics as (body, content type), in the format the scraper asked for (Prometheus text or OpenMetrics)."""
    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(REGISTRY), content_type
