"""Operations endpoints: Prometheus ``metrics`` and the ``readyz`` readiness probe.

(``healthz``, the liveness probe, is ``mdm.views.healthz``: it only says the process answers and reaches the
database. ``readyz`` says whether this instance can do its work: database, schema, broker.)
"""

from __future__ import annotations

import hmac
import logging
import os
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2
_migrations_checked = False


# --- metrics ---------------------------------------------------------------------------------------------------


def _metrics_token() -> str:
    return getattr(settings, "MDM_METRICS_TOKEN", None) or os.environ.get("MDM_METRICS_TOKEN") or ""


def _bearer_ok(request) -> bool:
    token = _metrics_token()
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer" or not offered.strip():
        return False
    return hmac.compare_digest(offered.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics(request):
    """Prometheus exposition of the syndication figures (see ``sync.metrics``).

    Allowed when ``MDM_METRICS_PUBLIC`` is on (default: on with DEBUG, off without), for a signed-in user with
    ``sync.view_delivery``, or with ``Authorization: Bearer <MDM_METRICS_TOKEN>`` (what a Prometheus server sends).
    """
    allowed = (
        getattr(settings, "MDM_METRICS_PUBLIC", settings.DEBUG)
        or _bearer_ok(request)
        or (request.user.is_authenticated and request.user.has_perm("sync.view_delivery"))
    )
    if not allowed:
        if request.user.is_authenticated:
            return HttpResponse("You may not read the metrics (needs sync.view_delivery).\n", status=403)
        response = HttpResponse("Authentication required: a bearer token or a signed-in user.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from sync.metrics import exposition

    body, content_type = exposition(request.headers.get("Accept"))
    return HttpResponse(body, content_type=content_type)


# --- readiness -------------------------------------------------------------------------------------------------


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _check_migrations() -> dict:
    """No unapplied migrations. Once true it stays true for this process (new migrations come with new code)."""
    global _migrations_checked
    if _migrations_checked:
        return {}
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _backwards in plan[:5])
        raise RuntimeError(f"{len(plan)} unapplied migration(s): {names}{'...' if len(plan) > 5 else ''}")
    _migrations_checked = True
    return {}


def _check_broker() -> dict:
    from mdm.celery import app

    # The URL is read from the settings on every call (not the Celery app's cached configuration).
    with app.connection_for_write(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.5, timeout=BROKER_TIMEOUT_SECONDS)
        return {"transport": str(conn.transport_cls)}


CHECKS = (("database", _check_database), ("migrations", _check_migrations), ("broker", _check_broker))


def _reason(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    # A broker URL's password must not reach an unauthenticated endpoint.
    password = urlsplit(str(getattr(settings, "CELERY_BROKER_URL", ""))).password
    if password:
        text = text.replace(password, "****")
    return text[:300]


@never_cache
@require_GET
def readyz(request):
    """Readiness: 200 when the database answers, every migration is applied and the broker accepts a connection.

    503 names the failing checks. Load balancers send traffic, and orchestrators route work, only to ready instances.
    """
    checks, failing = {}, []
    for name, check in CHECKS:
        try:
            checks[name] = {"ok": True, **check()}
        except Exception as exc:  # any failure means not ready; the reason is what operators need
            log.warning("readiness check %s failed: %s", name, exc)
            checks[name] = {"ok": False, "error": _reason(exc)}
            failing.append(name)
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing, "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})
