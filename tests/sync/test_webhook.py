"""Signed webhooks against real HTTP receivers on loopback: signatures, idempotency, retries, redaction."""

import hashlib
import hmac
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sync.adapters.base import DeliveryItem
from sync.models import Delivery, KeyMap, OutboxEvent, Subscription, Target
from sync.webhook import WebhookAdapter, verify_signature
from tests.sync.records import IBAN, drain, make_supplier, supplier  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_5f1c0a9e7d2b4c6a"
RECEIVER_SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "webhook_receiver.py"


class Recorder(ThreadingHTTPServer):
    """A receiver that records every request and answers from a script (default: 200 with an id)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RecordingHandler)
        self.requests = []
        self.script = []  # (status, body, headers, delay) answered in turn
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/mdm?source=hub"

    def answer(self, status, body=b"", headers=None, delay=0.0, times=1):
        body = json.dumps(body).encode() if isinstance(body, dict) else body
        self.script.extend([(status, body, headers or {}, delay)] * times)


class RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            n = len(self.server.requests)
            self.server.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": body, "peer": self.client_address}
            )
            status, answer, headers, delay = (
                self.server.script.pop(0) if self.server.script else (200, json.dumps({"id": f"r-{n}"}).encode(), {}, 0)
            )
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def webhook_target(url, **extra):
    extra.setdefault("timeout_seconds", 5)
    extra.setdefault("name", "Receiver")
    return Target.objects.create(kind=Target.Kind.WEBHOOK, url=url, secret=SECRET, **extra)


def make_items(count=1, *, entity_type="unit", change_type="update"):
    items = []
    for n in range(1, count + 1):
        payload = {"entity_type": entity_type, "id": n, "version": 1, "status": "active", "code": f"U{n}"}
        event = OutboxEvent.objects.create(
            entity_type=entity_type,
            object_id=n,
            version=1,
            change_type=change_type,
            correlation_id=f"corr-{n}",
            payload=payload,
        )
        items.append(
            DeliveryItem(
                delivery_id=1000 + n,
                event_id=str(event.event_id),
                entity_type=entity_type,
                object_id=n,
                version=1,
                change_type=change_type,
                payload=payload,
                correlation_id=f"corr-{n}",
            )
        )
    return items


def deliver(target, items):
    adapter = WebhookAdapter(target)
    try:
        return adapter.deliver(items)
    finally:
        adapter.close()


def test_one_signed_post_per_item_over_one_connection(receiver):
    target = webhook_target(receiver.url)
    items = make_items(3)
    outcomes = deliver(target, items)
    assert [o.ok for o in outcomes] == [True, True, True]
    assert [o.target_ref for o in outcomes] == ["r-0", "r-1", "r-2"]  # the receiver's ids
    assert len(receiver.requests) == 3
    assert len({r["peer"] for r in receiver.requests}) == 1  # one keep-alive connection for the batch
    for item, request in zip(items, receiver.requests, strict=True):
        headers, body = request["headers"], request["body"]
        assert request["path"] == "/hooks/mdm?source=hub"
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"].startswith("mdm-hub-webhook/")
        assert headers["X-MDM-Event-Id"] == item.event_id
        assert headers["Idempotency-Key"] == f"{item.event_id}:{target.pk}"
        assert headers["X-Request-ID"] == item.correlation_id
        timestamp = headers["X-MDM-Timestamp"]
        assert abs(int(timestamp) - time.time()) < 60
        # The documented check, and the same computed independently from the raw bytes.
        assert verify_signature(SECRET, timestamp, body, headers["X-MDM-Signature"])
        expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["X-MDM-Signature"] == f"v1={expected}"
        event = json.loads(body)
        occurred = OutboxEvent.objects.get(event_id=item.event_id).created_at
        assert event == {
            "event_id": item.event_id,
            "type": "unit.update",
            "entity": "unit",
            "id": item.object_id,
            "version": 1,
            "occurred_at": occurred.isoformat(),
            "correlation_id": item.correlation_id,
            "data": item.payload,
        }


def test_verify_signature_refuses_tampering_staleness_and_wrong_secrets():
    body = b'{"event_id":"e1","version":3}'
    now = 1_760_000_000
    good = "v1=" + hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert verify_signature(SECRET, str(now), body, good, now=now)
    assert verify_signature(SECRET, now, body.decode(), good, now=now + 299)
    assert verify_signature(SECRET, now, body, f"v1=deadbeef, {good}", now=now)  # rotation: any listed value
    assert not verify_signature(SECRET, now, body.replace(b"3", b"4"), good, now=now)
    assert not verify_signature(SECRET, now, body, good, now=now + 301)
    assert not verify_signature(SECRET, now, body, good, now=now - 301)
    assert not verify_signature("another secret", now, body, good, now=now)
    assert not verify_signature(SECRET, now + 1, body, good, now=now)
    assert not verify_signature(SECRET, "not a number", body, good, now=now)
    assert not verify_signature(SECRET, now, body, "", now=now)
    assert not verify_signature(SECRET, now, body, good.removeprefix("v1="), now=now)


def test_a_retry_sends_the_same_event_with_the_same_idempotency_key(receiver):
    target = webhook_target(receiver.url)
    items = make_items(1)
    receiver.answer(500, b"<html>upstream failed</html>")
    first = deliver(target, items)
    assert not first[0].ok and first[0].transient
    assert "HTTP 500" in first[0].error and "upstream failed" in first[0].error
    second = deliver(target, items)
    assert second[0].ok and second[0].target_ref == "r-1"
    one, two = receiver.requests
    for name in ("Idempotency-Key", "X-MDM-Event-Id", "X-Request-ID"):
        assert one["headers"][name] == two["headers"][name]
    assert one["body"] == two["body"]  # byte for byte: occurred_at comes from the event, not the clock
    assert verify_signature(SECRET, two["headers"]["X-MDM-Timestamp"], two["body"], two["headers"]["X-MDM-Signature"])


def test_4xx_is_permanent_with_the_receivers_message(receiver):
    target = webhook_target(receiver.url)
    receiver.answer(422, {"error": "unit code U1 is reserved in our ERP"})
    outcomes = deliver(target, make_items(2))
    assert not outcomes[0].ok and outcomes[0].transient is False
    assert "HTTP 422" in outcomes[0].error and "unit code U1 is reserved in our ERP" in outcomes[0].error
    assert "unit code U1 is reserved" in outcomes[0].response_excerpt
    assert outcomes[1].ok  # one refused event does not hold up the others
    receiver.answer(400, b"")
    assert deliver(target, make_items(1))[0].transient is False


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503])
def test_retryable_statuses_are_transient(receiver, status):
    target = webhook_target(receiver.url)
    receiver.answer(status, b"busy", headers={"Retry-After": "120"})
    outcomes = deliver(target, make_items(1))
    assert not outcomes[0].ok and outcomes[0].transient
    assert f"HTTP {status}" in outcomes[0].error and "Retry-After: 120" in outcomes[0].error


def test_429_holds_the_rest_of_the_batch(receiver):
    target = webhook_target(receiver.url)
    receiver.answer(429, b"slow down", headers={"Retry-After": "30"})
    outcomes = deliver(target, make_items(3))
    assert len(receiver.requests) == 1  # the receiver asked us to slow down: nothing more in this batch
    assert all(not o.ok and o.transient for o in outcomes)
    assert "Retry-After: 30" in outcomes[0].error and "Not sent" in outcomes[1].error


def test_timeout_is_transient_and_stops_the_batch(receiver):
    target = webhook_target(receiver.url, timeout_seconds=1)
    receiver.answer(200, {"id": "late"}, delay=2.5)
    started = time.monotonic()
    outcomes = deliver(target, make_items(3))
    assert time.monotonic() - started < 2.4  # one timeout, not three
    assert all(not o.ok and o.transient for o in outcomes)
    assert "timeout" in outcomes[0].error
    assert len(receiver.requests) == 1


def test_connection_refused_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = webhook_target(f"http://127.0.0.1:{port}/hook")
    outcomes = deliver(target, make_items(2))
    assert all(not o.ok and o.transient for o in outcomes)
    assert "unreachable" in outcomes[0].error and "Refused" in outcomes[0].error


class MirroringHandler(RecordingHandler):
    """A careless receiver: refuses the event and echoes what it got, signature and expected secret included."""

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append({"headers": dict(self.headers), "body": body})
        answer = json.dumps({"error": "rejected", "got": dict(self.headers), "expected_secret": SECRET}).encode()
        self.send_response(400)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def test_the_secret_and_signature_never_reach_excerpts(receiver):
    target = webhook_target(receiver.url)
    receiver.RequestHandlerClass = MirroringHandler
    outcome = deliver(target, make_items(1))[0]
    sent = receiver.requests[0]["headers"]["X-MDM-Signature"]
    assert not outcome.ok and not outcome.transient and "rejected" in outcome.error
    for text in (outcome.error, outcome.request_excerpt, outcome.response_excerpt):
        assert SECRET not in text
        assert sent.removeprefix("v1=") not in text
    assert "[redacted]" in outcome.response_excerpt and "[redacted]" in outcome.error
    assert "Idempotency-Key" in outcome.request_excerpt  # the excerpt still shows what was sent


def test_bank_numbers_leave_as_last4_only_through_the_engine(receiver, supplier):  # noqa: F811
    target = webhook_target(receiver.url)
    Subscription.objects.create(target=target, entity_type="supplier")
    drain(target)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    raw = request["body"].decode()
    assert IBAN not in raw and "sealed" not in raw
    event = json.loads(raw)
    assert event["type"] == "supplier.create" and event["id"] == supplier.pk
    assert event["data"]["bank_accounts"][0]["iban"] == {"last4": IBAN[-4:]}
    assert event["data"]["legal_name"] == "Medline Industries, LP"
    delivery = Delivery.objects.get(target=target)
    assert delivery.status == "delivered" and delivery.target_ref == "r-0"
    assert IBAN not in delivery.request_excerpt and SECRET not in delivery.request_excerpt
    assert KeyMap.objects.get(target=target, entity_type="supplier").target_ref == "r-0"


def test_missing_secret_or_url_is_a_transient_configuration_error(receiver):
    from sync.adapters.base import TransientError

    target = webhook_target(receiver.url)
    target.secret = ""
    with pytest.raises(TransientError, match="no signing secret"):
        deliver(target, make_items(1))
    target = webhook_target("", name="No URL")
    with pytest.raises(TransientError, match="no valid http"):
        deliver(target, make_items(1))
    assert receiver.requests == []


# --- the documented receiver (docs/webhook_receiver.py) as its own process -----------------------------------


@pytest.fixture
def docs_receiver():
    process = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(RECEIVER_SCRIPT), "--secret", SECRET, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        process.url = line.split()[-1]
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _raw_post(url, body, headers):
    host, port = url.split("//")[1].rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_docs_receiver_accepts_signed_events_and_dedupes_retries(docs_receiver):
    target = webhook_target(docs_receiver.url)
    items = make_items(2)
    first = deliver(target, items)
    assert all(o.ok for o in first), [o.error for o in first]
    again = deliver(target, items[:1])  # a retry after a lost answer: same key, same id, not processed twice
    assert again[0].ok and again[0].target_ref == first[0].target_ref
    assert WebhookAdapter(target).check()["status"] == 200  # a signed ping passes too
    docs_receiver.terminate()
    printed = [json.loads(line) for line in docs_receiver.stdout.read().splitlines() if line.startswith("{")]
    assert [p["event"]["event_id"] for p in printed if p["event"]["type"] != "ping"] == [i.event_id for i in items]


def test_docs_receiver_rejects_a_tampered_body_as_permanent(docs_receiver):
    class TamperingProxy(WebhookAdapter):
        """A hop that alters the body after it was signed."""

        def _post(self, body, headers):
            return super()._post(body.replace(b'"version":1', b'"version":9'), headers)

    target = webhook_target(docs_receiver.url)
    adapter = TamperingProxy(target)
    outcome = adapter.deliver(make_items(1))[0]
    adapter.close()
    assert not outcome.ok and outcome.transient is False
    assert "HTTP 401" in outcome.error and "invalid signature" in outcome.error


def test_docs_receiver_rejects_a_stale_timestamp_as_permanent(docs_receiver, monkeypatch):
    target = webhook_target(docs_receiver.url)
    real_time = time.time
    monkeypatch.setattr("sync.webhook.time.time", lambda: real_time() - 600)  # the hub's clock 10 minutes behind
    outcome = deliver(target, make_items(1))[0]
    monkeypatch.undo()
    assert not outcome.ok and outcome.transient is False and "HTTP 401" in outcome.error
    # And a replayed capture: valid signature, old timestamp.
    body = b'{"event_id":"x","type":"unit.update"}'
    stamp = str(int(time.time()) - 301)
    signature = "v1=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    status, _ = _raw_post(docs_receiver.url, body, {"X-MDM-Timestamp": stamp, "X-MDM-Signature": signature})
    assert status == 401
    fresh = str(int(time.time()))
    signature = "v1=" + hmac.new(SECRET.encode(), f"{fresh}.".encode() + body, hashlib.sha256).hexdigest()
    status, answer = _raw_post(docs_receiver.url, body, {"X-MDM-Timestamp": fresh, "X-MDM-Signature": signature})
    assert status == 200 and json.loads(answer)["id"]
