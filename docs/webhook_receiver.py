"""A small webhook receiver for the MDM hub's signed events (Python standard library only).

    python docs/webhook_receiver.py --secret "the target's signing secret" --port 9000

It checks what every receiver must check before trusting an event:

1. ``X-MDM-Timestamp`` is within ``--tolerance`` seconds of now (a captured request can't be replayed later);
2. ``X-MDM-Signature`` is ``v1=`` + hex HMAC-SHA256(secret, f"{timestamp}.{raw body}"), compared in constant time
   (sign the raw bytes as received, never a re-serialised JSON);
3. ``Idempotency-Key`` was not processed before: the hub retries after timeouts and errors with the same key, so a
   repeated key is answered 200 again without processing the event twice.

Accepted events are printed as one JSON line each and answered ``200 {"id": ...}``; the hub keeps that id as the
record's reference at this target. Bad signatures and stale timestamps get 401 (the hub dead-letters those:
fix the secret, then replay). Here processed keys live in memory; a real receiver stores them with the effect
of the event, in the same transaction, and only after processing succeeded.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, tolerance: int = 300) -> bool:
    """True when ``signature`` signs ``timestamp`` + ``body`` with ``secret`` and the timestamp is recent."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - stamp) > tolerance:
        return False
    expected = "v1=" + hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    # Several values are allowed (comma-separated) so a sender can sign with an old and a new secret.
    return any(hmac.compare_digest(expected.encode(), part.strip().encode()) for part in (signature or "").split(","))


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, secret: str, tolerance: int):
        super().__init__(address, Handler)
        self.secret = secret
        self.tolerance = tolerance
        self.processed: dict[str, str] = {}  # Idempotency-Key -> the id we answered
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the hub sends a batch over one connection
    server: Receiver

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        timestamp = self.headers.get("X-MDM-Timestamp", "")
        signature = self.headers.get("X-MDM-Signature", "")
        if not verify_signature(self.server.secret, timestamp, body, signature, self.server.tolerance):
            self._answer(401, {"error": "invalid signature or timestamp outside the tolerance"})
            return
        try:
            event = json.loads(body)
        except ValueError:
            self._answer(400, {"error": "the body is not JSON"})
            return
        key = self.headers.get("Idempotency-Key") or event.get("event_id", "")
        with self.server.lock:
            if key in self.server.processed:
                self._answer(200, {"id": self.server.processed[key], "duplicate": True})
                return
            receiver_id = uuid.uuid4().hex[:12]
            # Process the event here (before remembering the key: a failure must let the retry through).
            print(json.dumps({"received": receiver_id, "key": key, "event": event}), flush=True)
            self.server.processed[key] = receiver_id
        self._answer(200, {"id": receiver_id})

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Receive and verify the MDM hub's signed webhook events.")
    parser.add_argument("--secret", default=os.environ.get("MDM_WEBHOOK_SECRET"), help="the target's signing secret")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0: any free port (printed on start)")
    parser.add_argument("--tolerance", type=int, default=300, help="seconds a timestamp may be off")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret (or MDM_WEBHOOK_SECRET) is required")
    server = Receiver((args.host, args.port), args.secret, args.tolerance)
    print(f"listening on http://{args.host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
