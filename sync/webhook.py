"""Signed webhooks: one HTTPS POST per record change, HMAC-SHA256 over the timestamp and the body.

Each delivery is one request (receivers expect one event per request) over one persistent connection per
batch. The body is the event envelope::

    {"event_id": "…", "type": "supplier.update", "entity": "supplier", "id": 42, "version": 7,
     "occurred_at": "2026-03-01T12:00:00+00:00", "correlation_id": "…", "data": {…the published record…}}

Headers: ``X-MDM-Event-Id``, ``X-MDM-Timestamp`` (unix seconds), ``X-MDM-Signature: v1=<hex>`` where the hex
is ``HMAC-SHA256(secret, f"{timestamp}.{body}")``, ``Idempotency-Key`` (``<event id>:<target id>``, the same on
every retry: a receiver that has processed the key answers 2xx again and does nothing), ``X-Request-ID`` (the
change's correlation id) and ``User-Agent``. ``verify_signature`` is the check a Python receiver runs.

Secrets never leave the hub through a webhook: bank account numbers are sent as ``{"last4": "6789"}`` only —
neither the sealed (encrypted) token nor the clear number is ever in a body, a header or an excerpt. A receiver
that needs the full number must read it from the hub's API with its own permission.

Outcomes: 2xx delivered (``target_ref``: the receiver's ``{"id": …}`` if it answers with one, else the event
id); 408, 425, 429, 5xx, connection errors and timeouts are transient (a ``Retry-After`` is quoted in the
error; the engine backs off); any other status is permanent, with the receiver's own answer as the error.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import http.client
import json
import ssl
import time
import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit

from mdm.payload_secrets import SEALED, secret_paths
from sync.adapters.base import DeliveryItem, Outcome, TargetAdapter, TransientError, excerpt

ENTITY_TYPES = ("unit", "supplier", "item", "contract", "contract_price")
SIGNATURE_VERSION = "v1"
USER_AGENT = "mdm-hub-webhook/1"
TRANSIENT_STATUSES = {408, 425, 429}
EXCERPT_LIMIT = 2000
REDACTED = "[redacted]"


# --- the envelope (shared with file drops) ---------------------------------------------------------------------


def _last4(value) -> dict:
    return {"last4": str(value).replace(" ", "")[-4:]}


def public_payload(entity_type: str, payload: dict) -> dict:
    """The payload as it may leave the hub: every secret reduced to ``{"last4": …}``.

    Sealed values anywhere in the payload lose their token (whatever the registry says), and clear values at the
    entity's secret paths are masked too, so a payload sealed by an older code path cannot leak a number.
    """

    def strip(node):
        if isinstance(node, dict):
            if SEALED in node:
                return {"last4": str(node.get("last4", ""))}
            return {key: strip(value) for key, value in node.items()}
        if isinstance(node, list):
            return [strip(value) for value in node]
        return node

    public = strip(copy.deepcopy(payload))
    for path in secret_paths(entity_type):
        _mask_path(public, path.split("."))
    return public


def _mask_path(node, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        children = list(enumerate(node)) if isinstance(node, list) else []
    elif isinstance(node, dict) and head in node:
        children = [(head, node[head])]
    else:
        children = []
    for key, child in children:
        if rest:
            _mask_path(child, rest)
        elif isinstance(child, str | int) and str(child) != "":
            node[key] = _last4(child)


def occurred_at_map(items: Iterable[DeliveryItem]) -> dict[str, str]:
    """Event id -> the event's creation time (ISO 8601), with one query for the batch.

    Stable across retries, so a retried body (and a file drop's name) is the same as the first one.
    """
    from sync.models import OutboxEvent

    items = list(items)
    known = {item.event_id: item.occurred_at for item in items if getattr(item, "occurred_at", None)}
    missing = [item.event_id for item in items if item.event_id not in known]
    if missing:
        rows = OutboxEvent.objects.filter(event_id__in=missing).values_list("event_id", "created_at")
        known.update({str(event_id): created_at for event_id, created_at in rows})
    return {key: value.isoformat() if hasattr(value, "isoformat") else str(value) for key, value in known.items()}


def event_envelope(item: DeliveryItem, occurred_at: str | None) -> dict:
    """The event as webhooks (one per request) and JSON Lines file drops (one per line) carry it."""
    return {
        "event_id": item.event_id,
        "type": f"{item.entity_type}.{item.change_type}",
        "entity": item.entity_type,
        "id": item.object_id,
        "version": item.version,
        "occurred_at": occurred_at,
        "correlation_id": item.correlation_id or None,
        "data": public_payload(item.entity_type, item.payload),
    }


def encode_body(envelope: dict) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str).encode()


# --- signatures --------------------------------------------------------------------------------------------------


def _as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """``v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``."""
    message = _as_bytes(timestamp) + b"." + _as_bytes(body)
    return f"{SIGNATURE_VERSION}=" + hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()


def verify_signature(secret, timestamp, body, signature, tolerance: int = 300, now: float | None = None) -> bool:
    """Whether ``signature`` (the ``X-MDM-Signature`` header) signs ``timestamp`` and the raw ``body``.

    Refuses timestamps more than ``tolerance`` seconds away from ``now`` (replayed requests). The header may hold
    several comma-separated ``v1=`` values (a receiver rotating secrets); each is compared in constant time.
    """
    try:
        stamp = int(_as_bytes(timestamp).decode().strip())
    except (TypeError, ValueError, UnicodeDecodeError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = sign(secret, stamp, body).encode()
    offered = [part.strip() for part in _as_bytes(signature or "").decode(errors="replace").split(",")]
    matched = False
    for candidate in offered:
        matched |= hmac.compare_digest(expected, candidate.encode())
    return matched


# --- the adapter ---------------------------------------------------------------------------------------------------


class _Unreachable(Exception):
    """Connection refused, reset or timed out: the rest of the batch is not attempted."""


class WebhookAdapter(TargetAdapter):
    """POSTs each delivery to ``target.url``, signed with ``target.secret``; idempotent by ``Idempotency-Key``."""

    entity_types = ENTITY_TYPES

    def __init__(self, target):
        super().__init__(target)
        self._conn: http.client.HTTPConnection | None = None
        self._secret = ""

    # connection -----------------------------------------------------------------------------------------------

    def _parts(self):
        parts = urlsplit(self.target.url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransientError(
                f"The webhook target {self.target} has no valid http(s) URL ({self.target.url!r}); set one."
            )
        return parts

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            parts = self._parts()
            timeout = max(1, self.target.timeout_seconds or 30)
            if parts.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._drop_connection()

    # sending --------------------------------------------------------------------------------------------------

    def _path(self) -> str:
        parts = self._parts()
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def idempotency_key(self, event_id: str) -> str:
        return f"{event_id}:{self.target.pk}"

    def _headers(self, event_id: str, correlation_id: str, body: bytes) -> dict:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-MDM-Event-Id": event_id,
            "X-MDM-Timestamp": str(timestamp),
            "X-MDM-Signature": sign(self._secret, timestamp, body),
            "Idempotency-Key": self.idempotency_key(event_id),
        }
        if correlation_id:
            headers["X-Request-ID"] = correlation_id
        return headers

    def _redact(self, text: str, signature: str = "") -> str:
        for secret in (self._secret, signature, signature.removeprefix(f"{SIGNATURE_VERSION}=")):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def _request_excerpt(self, headers: dict, body: bytes) -> str:
        shown = {key: (REDACTED if key == "X-MDM-Signature" else value) for key, value in headers.items()}
        lines = [f"POST {self._path()}"] + [f"{key}: {value}" for key, value in shown.items()]
        text = "\n".join(lines) + "\n\n" + body.decode(errors="replace")
        return self._redact(excerpt(text, EXCERPT_LIMIT), headers["X-MDM-Signature"])

    def _post(self, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
        """One request; a stale keep-alive connection is reopened once (safe: the idempotency key)."""
        for attempt in (1, 2):
            conn = self._connection()
            reused = conn.sock is not None
            try:
                conn.request("POST", self._path(), body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.will_close:
                    self._drop_connection()
                return response.status, {k.lower(): v for k, v in response.getheaders()}, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop_connection()
                if reused and attempt == 1:
                    continue  # the receiver closed an idle keep-alive connection: reconnect once
                raise _Unreachable(f"{type(exc).__name__}: {exc}") from exc
            except TimeoutError as exc:
                self._drop_connection()
                raise _Unreachable(f"no answer within {self.target.timeout_seconds} s (timeout)") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                raise _Unreachable(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _outcome(self, item, status: int, headers: dict, data: bytes, request_excerpt: str, sig: str) -> Outcome:
        text = data.decode(errors="replace")
        response_excerpt = self._redact(excerpt(f"HTTP {status}\n{text}", EXCERPT_LIMIT), sig)
        if 200 <= status < 300:
            return Outcome(
                ok=True,
                target_ref=_receiver_id(data) or item.event_id,
                target_model="webhook",
                request_excerpt=request_excerpt,
                response_excerpt=response_excerpt,
            )
        transient = status in TRANSIENT_STATUSES or status >= 500
        error = f"The receiver answered HTTP {status}"
        retry_after = headers.get("retry-after")
        if transient and retry_after:
            error += f"; Retry-After: {retry_after}"
        body_text = self._redact(excerpt(text.strip(), 500), sig)
        if body_text:
            error += f": {body_text}"
        elif not transient:
            error += " (no message)"
        return Outcome(
            ok=False,
            transient=transient,
            error=error,
            request_excerpt=request_excerpt,
            response_excerpt=response_excerpt,
        )

    def deliver(self, items: list[DeliveryItem]) -> list[Outcome]:
        self._secret = self.target.secret or ""
        if not self._secret:
            raise TransientError(f"The webhook target {self.target} has no signing secret; set one (never unsigned).")
        self._parts()
        occurred = occurred_at_map(items)
        outcomes: list[Outcome] = []
        stop_reason = ""
        for item in items:
            envelope = event_envelope(item, occurred.get(item.event_id))
            body = encode_body(envelope)
            headers = self._headers(item.event_id, item.correlation_id, body)
            request_excerpt = self._request_excerpt(headers, body)
            if stop_reason:
                outcomes.append(Outcome(ok=False, transient=True, error=stop_reason, request_excerpt=request_excerpt))
                continue
            try:
                status, response_headers, data = self._post(body, headers)
            except _Unreachable as exc:
                error = f"Webhook receiver {self._redact(self.target.url)} unreachable: {exc}"
                outcomes.append(Outcome(ok=False, transient=True, error=error, request_excerpt=request_excerpt))
                stop_reason = f"Not sent: {error} (earlier in the same batch)."
                continue
            outcome = self._outcome(item, status, response_headers, data, request_excerpt, headers["X-MDM-Signature"])
            outcome.sent_payload = envelope["data"]
            outcomes.append(outcome)
            if status in (429, 503):  # the receiver asked us to slow down: the rest waits for the backoff
                stop_reason = f"Not sent: the receiver asked to slow down (HTTP {status}) earlier in the same batch."
        return outcomes

    def check(self) -> dict:
        """Send a signed ``ping`` event; a receiver that verifies signatures and answers 2xx passes."""
        self._secret = self.target.secret or ""
        if not self._secret:
            raise RuntimeError("no signing secret set")
        event_id = str(uuid.uuid4())
        body = encode_body({"event_id": event_id, "type": "ping", "entity": None, "data": {}})
        headers = self._headers(event_id, "", body)
        try:
            status, _headers, data = self._post(body, headers)
        except _Unreachable as exc:
            raise RuntimeError(f"unreachable: {exc}") from exc
        finally:
            self._drop_connection()
        if not 200 <= status < 300:
            text = self._redact(excerpt(data.decode(errors="replace"), 500), headers["X-MDM-Signature"])
            raise RuntimeError(f"the receiver answered HTTP {status} to a signed ping: {text}")
        return {"url": self.target.url, "status": status}


def _receiver_id(data: bytes) -> str:
    try:
        answer = json.loads(data or b"null")
    except ValueError:
        return ""
    if isinstance(answer, dict) and answer.get("id") not in (None, ""):
        return str(answer["id"])[:100]
    return ""
