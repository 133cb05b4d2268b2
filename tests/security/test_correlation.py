"""Correlation ids from the edge to the targets and into the logs.

- ``X-Request-ID`` is taken when well-formed, replaced when not, and echoed on the response.
- A change request made under it keeps it; so do its outbox event and the delivery to each target.
- Outbound calls carry the id of the change they deliver: the Odoo test server records the ``X-Request-ID`` of
  every request, over XML-RPC, JSON-RPC and (Odoo 19) JSON-2; webhooks send the delivery's own id.
- A task published in a request runs in a real Celery worker under the request's id (the worker's calls to Odoo
  and its log lines carry it); a task published with none gets a fresh one.
- Log lines are JSON objects with the correlation id, the user and, for requests, method/path/status/duration.
"""

import io
import json
import logging
import re
import time
import uuid

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIClient

from mdm.context import bound
from mdm.middleware import CorrelationIdMiddleware
from mdm.models import ChangeRequest
from suppliers.services import supplier_create
from sync import engine
from sync.models import Delivery, OutboxEvent, Subscription, SyncRun
from tests.sync import conftest as sync_fixtures
from tests.sync import test_webhook
from tests.sync.records import drain, odoo_target
from tests.sync.test_webhook import webhook_target

# The syndication tests' fixtures: the Odoo test server and a recording webhook receiver.
odoo_server = sync_fixtures.odoo_server
receiver = test_webhook.receiver

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- the edge -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_well_formed_request_id_is_taken_and_echoed(client):
    for value in ("trace-me-123", "a.b_c:d-e", "x" * 64):
        assert client.get("/healthz", HTTP_X_REQUEST_ID=value)["X-Request-ID"] == value


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "has spaces", "x" * 65, "semi;colon", "new\\nline", "ünï"])
def test_anything_else_is_replaced_with_a_fresh_id(client, value):
    echoed = client.get("/healthz", HTTP_X_REQUEST_ID=value)["X-Request-ID"]
    assert HEX_ID.match(echoed) and echoed != value
    assert client.get("/healthz")["X-Request-ID"] != echoed  # one per request


# --- stored along the chain -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_id_is_kept_on_the_change_request_its_event_and_its_deliveries(supplier, steward, approver, odoo_server):
    target = odoo_target(odoo_server, entity_types=("supplier",))
    response = client_for(steward).post(
        "/api/v1/change-requests/",
        {
            "entity_type": "supplier",
            "kind": "update",
            "object_id": supplier.pk,
            "changes": {"legal_name": "Medline Industries, L.P."},
            "reason": "legal name per W-9",
        },
        format="json",
        HTTP_X_REQUEST_ID="trace-me-123",
    )
    assert response.status_code == 201 and response["X-Request-ID"] == "trace-me-123"
    number = response.json()["id"]
    # approved in another request, under another id: the change keeps the id it was requested under
    approved = client_for(approver).post(
        f"/api/v1/change-requests/{number}/approve/", {}, format="json", HTTP_X_REQUEST_ID="approval-456"
    )
    assert approved.status_code == 200 and approved["X-Request-ID"] == "approval-456"
    assert ChangeRequest.objects.get(pk=number).correlation_id == "trace-me-123"
    event = OutboxEvent.objects.get(change_request_id=number)
    assert event.correlation_id == "trace-me-123"
    drain(target)
    delivery = Delivery.objects.get(event=event, target=target)
    assert (delivery.correlation_id, delivery.status) == ("trace-me-123", "delivered")
    sent = [r for r in odoo_server.requests if r["headers"].get("x-request-id") == "trace-me-123"]
    assert sent, [r["headers"].get("x-request-id") for r in odoo_server.requests]


# --- outbound calls -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("odoo_server", "protocol", "paths"),
    [
        (17, "xmlrpc", ("/xmlrpc/2/",)),
        (17, "jsonrpc", ("/jsonrpc",)),
        (19, "json2", ("/json/2/",)),
        (19, "auto", ("/json/2/",)),
    ],
    indirect=["odoo_server"],
)
def test_odoo_calls_carry_the_id_of_the_change_they_deliver(odoo_server, protocol, paths, steward):
    target = odoo_target(odoo_server, entity_types=("supplier",), protocol=protocol, batch_size=1)
    with bound(correlation="change-a"):
        first = supplier_create(data={"legal_name": "Medline Industries, LP"}, actor=steward, reason="test")
    with bound(correlation="change-b"):
        second = supplier_create(data={"legal_name": "Cardinal Health, Inc."}, actor=steward, reason="test")
    drain(target)
    assert set(Delivery.objects.filter(target=target).values_list("status", flat=True)) == {"delivered"}
    calls = [r for r in odoo_server.requests if r["path"].startswith(paths)]
    assert calls, [r["path"] for r in odoo_server.requests]
    ids = [r["headers"].get("x-request-id") for r in odoo_server.requests]
    assert None not in ids, ids  # every request, the version probe and the login included
    # one batch per record (batch_size=1), in order: each sent under its own change's id
    assert list(dict.fromkeys(ids)) == ["change-a", "change-b"]
    assert {d.object_id: d.correlation_id for d in Delivery.objects.filter(target=target)} == {
        first.pk: "change-a",
        second.pk: "change-b",
    }


@pytest.mark.django_db
def test_a_batch_carrying_several_changes_goes_out_under_its_first_and_logs_each(odoo_server, steward, caplog):
    target = odoo_target(odoo_server, entity_types=("supplier",))
    with bound(correlation="change-a"):
        supplier_create(data={"legal_name": "Medline Industries, LP"}, actor=steward, reason="test")
    with bound(correlation="change-b"):
        supplier_create(data={"legal_name": "Cardinal Health, Inc."}, actor=steward, reason="test")
    with caplog.at_level(logging.INFO, logger="sync.engine"):
        drain(target)
    assert {r["headers"].get("x-request-id") for r in odoo_server.requests} == {"change-a"}
    lines = [r for r in caplog.records if r.name == "sync.engine" and hasattr(r, "delivery_id")]
    assert sorted((r.correlation_id, r.request_id, r.status) for r in lines) == [
        ("change-a", "change-a", "delivered"),
        ("change-b", "change-a", "delivered"),
    ]


@pytest.mark.django_db
def test_webhooks_send_the_deliverys_own_id(receiver, steward):
    target = webhook_target(receiver.url)
    Subscription.objects.create(target=target, entity_type="supplier")
    for name, correlation in (("Medline Industries, LP", "hook-a"), ("Cardinal Health, Inc.", "hook-b")):
        with bound(correlation=correlation):
            supplier_create(data={"legal_name": name}, actor=steward, reason="test")
    drain(target)
    sent = {json.loads(r["body"])["data"]["id"]: r["headers"]["X-Request-ID"] for r in receiver.requests}
    stored = dict(Delivery.objects.filter(target=target).values_list("object_id", "correlation_id"))
    assert sent == stored and set(sent.values()) == {"hook-a", "hook-b"}


# --- Celery ---------------------------------------------------------------------------------------------------


def _publish_pull(target, queue: str, broker_url: str) -> None:
    from mdm.celery import app
    from sync.tasks import pull

    with app.connection_for_write(broker_url) as conn:
        pull.apply_async(args=[target.pk], queue=queue, connection=conn)


def _wait_for_runs(target, count: int, worker, log_path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if SyncRun.objects.filter(target=target).exclude(status="running").count() >= count:
            return
        assert worker.poll() is None, log_path.read_text()
        time.sleep(0.2)
    pytest.fail("the worker did not finish the pull in 90 s:\n" + log_path.read_text()[-4000:])


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_task_runs_in_the_worker_under_the_id_of_the_request_that_published_it(odoo_server, tmp_path):
    from tests.mdm.test_tasks import REDIS_URL
    from tests.sync.test_worker import start_worker

    target = odoo_target(odoo_server, entity_types=(), inbound=True)
    queue = f"test-corr-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    worker = start_worker(queue, log_path, LOG_FORMAT="json", LOG_LEVEL="INFO")
    try:
        # published while serving a request that came with X-Request-ID: trace-me-123
        def view(request):
            _publish_pull(target, queue, REDIS_URL)
            return HttpResponse("queued")

        response = CorrelationIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="trace-me-123"))
        assert response["X-Request-ID"] == "trace-me-123"
        _wait_for_runs(target, 1, worker, log_path)
        in_request = [r["headers"].get("x-request-id") for r in odoo_server.requests]
        odoo_server.requests.clear()
        # published with no request around it (as the scheduler does): a fresh id for this run
        _publish_pull(target, queue, REDIS_URL)
        _wait_for_runs(target, 2, worker, log_path)
        scheduled = [r["headers"].get("x-request-id") for r in odoo_server.requests]
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert SyncRun.objects.filter(target=target, status="done").count() == 2, list(SyncRun.objects.values())
    assert in_request and set(in_request) == {"trace-me-123"}
    assert scheduled and len(set(scheduled)) == 1 and HEX_ID.match(scheduled[0])
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert lines, log_path.read_text()[-2000:]
    task_lines = [line for line in lines if line.get("task") == "sync.pull"]
    assert {line.get("correlation_id") for line in task_lines} == {"trace-me-123", scheduled[0]}, task_lines
    for line in task_lines:
        assert {"timestamp", "level", "logger", "event", "task_id"} <= set(line)


# --- logs -----------------------------------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """Everything logged meanwhile, through the production JSON formatter, as parsed lines."""
    from mdm.logging import formatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines():
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.django_db
def test_json_log_lines_carry_the_id_user_and_request_figures(log_lines, steward, client):
    client.force_login(steward)
    response = client.get("/trace/?q=supplier:1&token=s3cr3t-value", HTTP_X_REQUEST_ID="trace-me-123")
    assert response.status_code == 200
    with bound(correlation="trace-me-123"):
        logging.getLogger("mdm.tests").warning("plain %s line", "stdlib", extra={"object_id": 7})
    lines = log_lines()
    (request,) = [line for line in lines if line["logger"] == "mdm.request"]
    assert request["event"] == "request" and request["level"] == "info"
    assert request["correlation_id"] == "trace-me-123" and request["user"] == "sam.steward"
    assert (request["method"], request["path"], request["status"]) == ("GET", "/trace/", 200)
    assert request["query"] == "q&token" and "s3cr3t-value" not in json.dumps(lines)
    assert isinstance(request["duration_ms"], int | float)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", request["timestamp"])
    (plain,) = [line for line in lines if line["logger"] == "mdm.tests"]
    assert plain == plain | {"event": "plain stdlib line", "level": "warning", "correlation_id": "trace-me-123"}
    assert plain["object_id"] == 7


@pytest.mark.django_db
def test_health_checks_are_not_logged_and_errors_are(log_lines, client):
    client.get("/healthz")
    client.get("/no/such/page/", HTTP_X_REQUEST_ID="lost-789")
    lines = log_lines()
    requests = [line for line in lines if line["logger"] == "mdm.request"]
    assert [line["path"] for line in requests] == ["/no/such/page/"]
    assert requests[0]["status"] == 404 and requests[0]["correlation_id"] == "lost-789" and "user" not in requests[0]


@pytest.mark.django_db
def test_delivery_lines_name_each_deliverys_own_id(log_lines, odoo_server, steward):
    target = odoo_target(odoo_server, entity_types=("supplier",))
    with bound(correlation="change-a"):
        supplier_create(data={"legal_name": "Medline Industries, LP"}, actor=steward, reason="test")
    engine.dispatch()
    engine.deliver_target(target, budget_seconds=30)
    (line,) = [line for line in log_lines() if line.get("delivery_id")]
    assert (line["correlation_id"], line["request_id"], line["status"]) == ("change-a", "change-a", "delivered")
    assert line["target"] == target.name and line["target_ref"]


@pytest.mark.django_db
def test_secrets_do_not_reach_a_log_line(log_lines):
    from mdm.logging import get_logger

    planted = "hunter2-planted-secret"
    with bound(correlation="trace-me-123"):
        logging.getLogger("mdm.tests").info("connecting with password=%s", planted)
        get_logger("mdm.tests").info("target saved", api_key=planted, detail={"note": f"token={planted}"})
        try:
            raise RuntimeError(f"login refused for secret={planted}")
        except RuntimeError:
            logging.getLogger("mdm.tests").exception("odoo call failed")
    lines = log_lines()
    assert len(lines) == 3 and {line["correlation_id"] for line in lines} == {"trace-me-123"}
    assert planted not in json.dumps(lines)
    assert lines[1]["api_key"] == "[redacted]" and "exception" in lines[2]
