"""Syndication API: targets with figures, deliveries, outbox events, key map; replay and connection checks."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from mdm import roles
from sync.models import Delivery, KeyMap, OutboxEvent, Subscription, Target
from tests.conftest import _user
from tests.sync.records import IBAN
from tests.sync.test_ops_ui import SECRET, make_busy, make_delivery, make_event, make_target

pytestmark = pytest.mark.django_db

S = Delivery.Status
BASE = "/api/v1/sync"


@pytest.fixture
def ops(db):
    return _user("olga.ops", roles.OPERATIONS)


@pytest.fixture
def busy(db):
    return make_busy()


@pytest.fixture
def ops_api(ops):
    client = APIClient()
    client.force_authenticate(ops)
    return client


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- targets --------------------------------------------------------------------------------------------------


def test_targets_list_with_figures_and_never_the_secret(ops_api, busy):
    alpha, beta = busy
    Subscription.objects.create(target=alpha, entity_type="item", filters={"status": "active"})
    response = ops_api.get(f"{BASE}/targets/")
    assert SECRET not in response.content.decode()
    by_name = {row["name"]: row for row in results(response)}
    a = by_name["alpha"]
    assert a["has_secret"] is True and "secret" not in a
    assert a["subscriptions"] == [{"entity_type": "item", "filters": {"status": "active"}, "enabled": True}]
    figures = a["figures"]
    assert {k: figures[k] for k in ("pending", "sending", "failed", "dead", "superseded", "delivered_last_hour")} == {
        "pending": 3,
        "sending": 1,
        "failed": 1,
        "dead": 2,
        "superseded": 1,
        "delivered_last_hour": 1,
    }
    assert figures["alert"] and figures["stale"] and 19 * 60 <= figures["oldest_pending_age_seconds"] <= 21 * 60
    assert by_name["beta"]["figures"]["alert"] is False and by_name["beta"]["has_secret"] is False
    detail = ops_api.get(f"{BASE}/targets/{alpha.pk}/")
    assert detail.json()["figures"]["dead"] == 2 and SECRET not in detail.content.decode()


def _targets_queries(client, count: int) -> int:
    for n in range(count):
        target = make_target(f"q{count}-{n:02d}")
        Subscription.objects.create(target=target, entity_type="item")
        make_delivery(target, S.DEAD, object_id=n + 1)
    client.get(f"{BASE}/targets/")  # the caller's permissions are loaded once per user
    with CaptureQueriesContext(connection) as ctx:
        rows = results(client.get(f"{BASE}/targets/?page_size=100"))
    assert len(rows) == Target.objects.count()
    return len(ctx)


def test_targets_list_queries_do_not_grow_with_targets(ops_api, django_assert_max_num_queries):
    assert _targets_queries(ops_api, 3) == _targets_queries(ops_api, 30)
    with django_assert_max_num_queries(6):
        ops_api.get(f"{BASE}/targets/")


def test_targets_are_read_only_through_the_api(ops_api, busy):
    # refused either way: no add permission (403) or no such method (405)
    assert ops_api.post(f"{BASE}/targets/", {"name": "new", "kind": "webhook"}, format="json").status_code in (403, 405)
    assert ops_api.patch(f"{BASE}/targets/{busy[0].pk}/", {"secret": "x"}, format="json").status_code in (403, 405)
    busy[0].refresh_from_db()
    assert Target.objects.count() == 2 and busy[0].secret == SECRET


# --- permissions ----------------------------------------------------------------------------------------------


def test_viewer_and_outsider_read_nothing(viewer, outsider, busy):
    for user in (viewer, outsider):
        client = as_user(user)
        for path in ("targets", "deliveries", "events", "keymap"):
            assert client.get(f"{BASE}/{path}/").status_code == 403, (user, path)
    assert APIClient().get(f"{BASE}/targets/").status_code in (401, 403)


def test_steward_reads_but_may_not_replay_or_check(steward, busy):
    alpha, _ = busy
    client = as_user(steward)
    assert len(results(client.get(f"{BASE}/deliveries/"))) == Delivery.objects.count()
    dead = Delivery.objects.filter(status=S.DEAD).first()
    for path, body in (
        (f"deliveries/{dead.pk}/replay/", {}),
        (f"targets/{alpha.pk}/replay-dead/", {}),
        (f"targets/{alpha.pk}/replay-since/", {"since": "2020-01-01T00:00:00Z"}),
        (f"targets/{alpha.pk}/check/", {}),
    ):
        response = client.post(f"{BASE}/{path}", body, format="json")
        assert response.status_code == 403, path
        assert "operations role" in response.json()["detail"]
    assert not Delivery.objects.filter(replayed_at__isnull=False).exists()


# --- deliveries -----------------------------------------------------------------------------------------------


def _ids(response) -> list[int]:
    return sorted(row["id"] for row in results(response))


def test_delivery_filters(ops_api, busy):
    alpha, beta = busy
    ids = lambda **kw: sorted(Delivery.objects.filter(**kw).values_list("pk", flat=True))  # noqa: E731
    get = lambda query: _ids(ops_api.get(f"{BASE}/deliveries/?{query}"))  # noqa: E731
    assert get(f"target={beta.pk}") == ids(target=beta)
    assert get("status=dead") == ids(status=S.DEAD)
    assert get("status=pending&status=failed") == ids(status__in=[S.PENDING, S.FAILED])
    assert get("object_id=3&entity_type=item") == ids(object_id=3)
    assert get("error=bad%20uom") == ids(last_error__contains="bad UoM")
    cut = (timezone.now() - timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    assert get(f"created_since={cut}") == ids(created_at__gte=timezone.now() - timedelta(minutes=15))
    assert get(f"created_until={cut}") == ids(created_at__lt=timezone.now() - timedelta(minutes=15))
    event = make_event("unit", 8, correlation_id="corr-api")
    mine = make_delivery(alpha, S.PENDING, entity_type="unit", object_id=8, event=event, correlation_id="corr-api")
    assert get("correlation_id=corr-api") == [mine.pk]
    bad = ops_api.get(f"{BASE}/deliveries/?object_id=abc")
    assert bad.status_code == 400 and "object_id" in bad.json()["errors"]


def test_delivery_list_queries_are_bounded(ops_api, django_assert_max_num_queries):
    for n in range(30):
        make_delivery(make_target(f"t{n}"), S.DEAD, object_id=n + 1)
    with django_assert_max_num_queries(5):
        assert len(results(ops_api.get(f"{BASE}/deliveries/"))) == 30


def test_delivery_detail_masks_payload_and_redacts_excerpts(ops_api, supplier):
    event = OutboxEvent.objects.filter(entity_type="supplier", object_id=supplier.pk).latest("id")
    sealed = event.payload["bank_accounts"][0]["iban"]["sealed"]
    target = make_target("alpha")
    delivery = make_delivery(
        target,
        S.DEAD,
        entity_type="supplier",
        object_id=supplier.pk,
        event=event,
        last_error=f"refused (api key {SECRET})",
        request_excerpt=f'{{"iban": "{sealed}", "key": "{SECRET}"}}',
        response_excerpt="400 Bad Request",
    )
    KeyMap.objects.create(
        target=target,
        entity_type="supplier",
        object_id=supplier.pk,
        target_model="res.partner",
        target_ref="12",
        external_id=f"__mdm__.supplier_{supplier.pk}",
        last_version=1,
        last_payload={"acc_number": IBAN},
    )
    response = ops_api.get(f"{BASE}/deliveries/{delivery.pk}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert IBAN not in text and sealed not in text and SECRET not in text
    data = response.json()
    assert data["payload"]["bank_accounts"][0]["iban"] == "••••3000"
    assert data["last_error"] == "refused (api key [redacted])"
    assert data["request_excerpt"] == '{"iban": "[sealed]", "key": "[redacted]"}'
    assert data["response_excerpt"] == "400 Bad Request"
    assert data["key"]["external_id"] == f"__mdm__.supplier_{supplier.pk}" and "last_payload" not in data["key"]
    assert (data["target_name"], data["change_type"], data["event_id"]) == ("alpha", "create", str(event.event_id))
    listed = ops_api.get(f"{BASE}/deliveries/").content.decode()
    assert SECRET not in listed and "payload" not in json.loads(listed)["results"][0]


def test_replay_a_delivery(ops_api, ops, busy):
    dead = Delivery.objects.filter(status=S.DEAD, attempts=8).get()
    response = ops_api.post(f"{BASE}/deliveries/{dead.pk}/replay/")
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["attempts"], data["replayed_by"]) == ("pending", 0, ops.username)
    sending = Delivery.objects.get(status=S.SENDING)
    assert ops_api.post(f"{BASE}/deliveries/{sending.pk}/replay/").json()["status"] == "sending"


# --- target actions -------------------------------------------------------------------------------------------


def test_replay_dead_and_replay_since(ops_api, busy):
    alpha, beta = busy
    make_delivery(beta, S.DEAD, object_id=30)
    response = ops_api.post(f"{BASE}/targets/{alpha.pk}/replay-dead/")
    assert response.json() == {"replayed": 2}
    assert Delivery.objects.filter(status=S.DEAD).count() == 1  # beta's
    since = (timezone.now() - timedelta(minutes=7)).isoformat()
    response = ops_api.post(f"{BASE}/targets/{alpha.pk}/replay-since/", {"since": since}, format="json")
    # the one failed 5 min ago and the superseded one; pending ones (the dead just replayed too) already wait,
    # the one being sent is left alone
    assert response.json() == {"replayed": 2}
    bad = ops_api.post(f"{BASE}/targets/{alpha.pk}/replay-since/", {"since": "last week"}, format="json")
    assert bad.status_code == 400 and "since" in bad.json()["errors"]
    assert ops_api.post(f"{BASE}/targets/999999/replay-dead/").status_code == 404


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(self.headers.get("X-MDM-Signature", ""))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_check_connection_for_real(ops_api, receiver):
    port = receiver.server_address[1]
    up = make_target("hook-up", url=f"http://127.0.0.1:{port}/hook")
    response = ops_api.post(f"{BASE}/targets/{up.pk}/check/")
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is True and data["error"] == "" and data["result"]["status"] == 200
    assert receiver.seen and receiver.seen[0].startswith("v1=")  # a signed ping reached the receiver
    receiver.shutdown()
    receiver.server_close()
    down = make_target("hook-down", url=f"http://127.0.0.1:{port}/hook")
    data = ops_api.post(f"{BASE}/targets/{down.pk}/check/").json()
    assert data["ok"] is False and data["error"] and SECRET not in json.dumps(data)


# --- events and key map ---------------------------------------------------------------------------------------


def test_events_filter_and_mask(ops_api, supplier):
    event = OutboxEvent.objects.filter(entity_type="supplier", object_id=supplier.pk).latest("id")
    waiting = make_event("unit", 5, dispatched_at=None, correlation_id="corr-u")
    response = ops_api.get(f"{BASE}/events/?entity_type=supplier&object_id={supplier.pk}")
    rows = results(response)
    assert [row["id"] for row in rows] == [event.pk]
    assert rows[0]["payload"]["bank_accounts"][0]["iban"] == "••••3000" and IBAN not in response.content.decode()
    assert "sealed" not in response.content.decode()
    assert [row["id"] for row in results(ops_api.get(f"{BASE}/events/?correlation_id=corr-u"))] == [waiting.pk]
    backlog = results(ops_api.get(f"{BASE}/events/?dispatched=false"))
    assert waiting.pk in [row["id"] for row in backlog]
    assert all(row["dispatched_at"] is None for row in backlog)
    assert ops_api.get(f"{BASE}/events/{event.pk}/").json()["event_id"] == str(event.event_id)


def test_keymap_filters_and_leaves_out_what_was_sent(ops_api, db):
    alpha, beta = make_target("alpha"), make_target("beta")
    for target in (alpha, beta):
        for object_id in (1, 2):
            KeyMap.objects.create(
                target=target,
                entity_type="supplier",
                object_id=object_id,
                target_model="res.partner",
                target_ref=str(object_id + 100),
                external_id=f"__mdm__.supplier_{object_id}",
                last_payload={"acc_number": IBAN},
            )
    response = ops_api.get(f"{BASE}/keymap/?target={beta.pk}&entity_type=supplier&object_id=2")
    (row,) = results(response)
    assert (row["target"], row["target_ref"], row["external_id"]) == (beta.pk, "102", "__mdm__.supplier_2")
    assert IBAN not in ops_api.get(f"{BASE}/keymap/").content.decode()
    assert ops_api.post(f"{BASE}/keymap/", {}, format="json").status_code in (403, 405)
    assert KeyMap.objects.count() == 4
