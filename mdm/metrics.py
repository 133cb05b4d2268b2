"""Prometheus metrics for stewardship work, computed from the database when scraped.

Like ``sync.metrics`` (which serves them on ``/metrics`` next to its own), nothing is counted in-process: every
figure is read at scrape time, so any web process answers for the whole hub. The SLA rules are the dashboard's
(``mdm.selectors.change_requests_breaching_sla`` / ``match_reviews_breaching_sla``), so the home page's
"late" figures and the alerts never disagree. A scrape runs five grouped queries whatever the row counts:
open change requests; change requests past their SLA; open match reviews; overdue match reviews; open
quarantined source records.

Every entity type registered with the hub has its series (0 when nothing waits), so an alert rule that compares
with 0 never sees a series appear or vanish.

- ``mdm_change_requests_open{entity_type,status}``: draft, submitted (waiting for approval) and approved (waiting
  to be applied) requests.
- ``mdm_change_requests_past_sla{entity_type}``: submitted requests waiting for approval longer than
  ``MDM_CHANGE_SLA_HOURS``.
- ``mdm_match_reviews_open{entity_type}``: open match proposals a steward has to decide.
- ``mdm_match_reviews_overdue{entity_type}``: open match proposals older than ``MDM_REVIEW_SLA_DAYS``.
- ``mdm_quarantine_open{entity_type}``: source records that failed validation at ingest and wait for a fix at the
  source (they never reached a golden record).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from mdm import registry
from mdm.models import ChangeRequest, MatchCandidate, QuarantinedRecord
from mdm.selectors import change_requests_breaching_sla, match_reviews_breaching_sla

OPEN_CHANGE_STATUSES = tuple(str(status) for status in ChangeRequest.OPEN_STATUSES)


def _by_entity_type(qs) -> dict[str, int]:
    """``{entity_type: count}`` for a queryset (one GROUP BY query)."""
    return dict(qs.order_by().values_list("entity_type").annotate(n=Count("pk")))


def _families() -> dict:
    return {
        "cr_open": GaugeMetricFamily(
            "mdm_change_requests_open",
            "Change requests not yet applied or rejected: draft, submitted (waiting for approval), approved "
            "(waiting to be applied).",
            labels=["entity_type", "status"],
        ),
        "cr_late": GaugeMetricFamily(
            "mdm_change_requests_past_sla",
            f"Submitted change requests waiting for approval longer than MDM_CHANGE_SLA_HOURS "
            f"({settings.MDM_CHANGE_SLA_HOURS} h): the dashboard's late requests.",
            labels=["entity_type"],
        ),
        "reviews_open": GaugeMetricFamily(
            "mdm_match_reviews_open",
            "Open match proposals (possible duplicates, source records that may match a golden record) "
            "waiting for a steward's decision.",
            labels=["entity_type"],
        ),
        "reviews_late": GaugeMetricFamily(
            "mdm_match_reviews_overdue",
            f"Open match proposals older than MDM_REVIEW_SLA_DAYS ({settings.MDM_REVIEW_SLA_DAYS} days).",
            labels=["entity_type"],
        ),
        "quarantine": GaugeMetricFamily(
            "mdm_quarantine_open",
            "Source records refused at ingest by validation (kept in quarantine with per-field reasons) and not "
            "yet superseded by a valid version or dismissed.",
            labels=["entity_type"],
        ),
    }


class StewardshipCollector:
    """Change requests, match reviews and quarantine, read at scrape time (five queries)."""

    def describe(self):
        # Names only, without touching the database (called when the collector is registered).
        return list(_families().values())

    def collect(self):
        families = _families()
        open_requests: dict[tuple[str, str], int] = {
            (entity_type, status): n
            for entity_type, status, n in ChangeRequest.objects.filter(status__in=OPEN_CHANGE_STATUSES)
            .order_by()
            .values_list("entity_type", "status")
            .annotate(n=Count("pk"))
        }
        late_requests = _by_entity_type(change_requests_breaching_sla())
        open_reviews = _by_entity_type(MatchCandidate.objects.filter(status=MatchCandidate.Status.OPEN))
        late_reviews = _by_entity_type(match_reviews_breaching_sla())
        quarantine = _by_entity_type(QuarantinedRecord.objects.filter(status=QuarantinedRecord.Status.OPEN))

        # Registered types first (always present), then any type only the rows know (e.g. a retired app).
        seen = {entity_type for entity_type, _ in open_requests}
        for figures in (late_requests, open_reviews, late_reviews, quarantine):
            seen.update(figures)
        entity_types = list(registry.entity_types()) + sorted(seen - set(registry.entity_types()))
        for entity_type in entity_types:
            for status in OPEN_CHANGE_STATUSES:
                families["cr_open"].add_metric([entity_type, status], open_requests.get((entity_type, status), 0))
            families["cr_late"].add_metric([entity_type], late_requests.get(entity_type, 0))
            families["reviews_open"].add_metric([entity_type], open_reviews.get(entity_type, 0))
            families["reviews_late"].add_metric([entity_type], late_reviews.get(entity_type, 0))
            families["quarantine"].add_metric([entity_type], quarantine.get(entity_type, 0))
        return list(families.values())
