"""docs/prometheus-alerts.yml only names metrics the hub exposes: renaming a metric breaks this test."""

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from sync.models import Target

pytestmark = pytest.mark.django_db

RULES = Path(__file__).resolve().parents[2] / "docs" / "prometheus-alerts.yml"
#: Series Prometheus makes itself for every scrape target (not exposed by the hub).
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
}  # fmt: skip
DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")


def metric_names(expr: str) -> set[str]:
    """The series names an expression reads: identifiers that are not functions, keywords, labels or strings."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals (label values)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        word, rest = match.group(), expr[match.end() :].lstrip()
        if rest.startswith("(") or word in PROMQL_WORDS or DURATION.match(word):
            continue  # a function call, a keyword
        names.add(word)
    return names


def test_metric_names_parser_sees_through_promql():
    expr = 'max by (target) (rate(mdm_sync_retries_total{target!="x"}[5m])) / on (target) up{job="mdm-hub"} > 0'
    assert metric_names(expr) == {"mdm_sync_retries_total", "up"}


def test_every_alert_reads_metrics_the_hub_exposes(client, settings):
    settings.MDM_METRICS_PUBLIC = True
    Target.objects.create(name="odoo-prod", kind=Target.Kind.ODOO)  # per-target series exist once a target does
    response = client.get("/metrics")
    assert response.status_code == 200
    exposed = {
        sample.name for family in text_string_to_metric_families(response.content.decode()) for sample in family.samples
    }
    assert {"mdm_change_requests_past_sla", "mdm_golden_blocked_by_validation", "mdm_sync_dead_letters"} <= exposed

    document = yaml.safe_load(RULES.read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert len(rules) >= 9
    used = set()
    for rule in rules:
        assert rule["alert"] and rule["expr"] and rule["annotations"]["summary"], rule
        names = metric_names(rule["expr"])
        assert names, f"{rule['alert']}: no metric in {rule['expr']!r}"
        unknown = names - exposed - PROMETHEUS_SERIES
        assert not unknown, f"{rule['alert']} uses {sorted(unknown)}, which /metrics does not expose"
        used |= names
    # The business metrics the issue asks alerts for are all covered.
    assert {
        "mdm_sync_dead_letters",
        "mdm_sync_oldest_pending_seconds",
        "mdm_change_requests_past_sla",
        "mdm_match_reviews_overdue",
        "mdm_sync_reconciliation_drift",
        "mdm_sync_deliveries_unacknowledged_past_sla",
        "mdm_golden_blocked_by_validation",
        "up",
    } <= used
