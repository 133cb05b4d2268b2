"""``OdooTestServer``: a real HTTP server on 127.0.0.1 speaking Odoo 16-19's external APIs, with fault injection.

    srv = OdooTestServer(version=17, api_key="test-key", login="mdm", db="odoo").start()
    srv.url                        # http://127.0.0.1:<port>
    srv.inject("serialization", model="res.partner", method="write")   # next matching call fails, nothing written
    srv.set_down(True); srv.set_down(False)                           # refused, then back on the same port
    srv.records("res.partner"), srv.by_xmlid("__mdm__.supplier_1"), srv.count("uom.uom"), srv.calls
    srv.stop()

Faults (``inject(fault, times=1, model=None, method=None, delay=0.0)``; ``times=None`` until ``clear_faults()``;
``model``/``method`` select the calls, None matching any; a fault that needs a model -- serialization, lock,
access -- only matches ``object`` calls, the others also ``common`` ones such as ``authenticate``):

- ``http_500``: werkzeug's HTML "500 Internal Server Error" page, nothing done (a crashed worker or a proxy).
- ``serialization``: ``psycopg2.errors.SerializationFailure`` "could not serialize access due to concurrent
  update" after Odoo's own retries (``odoo/service/model.py`` ``retrying``, the same name in 16-19), nothing
  written; XML-RPC fault 1 with the traceback, JSON-RPC ``data.name``, JSON-2 status 500.
- ``lock``: 19 raises ``odoo.exceptions.LockError`` (a UserError with ``http_status`` 409: JSON-2 409, JSON-RPC
  ``data.name``, XML-RPC fault 2 like any UserError); 16-18 behave as ``serialization``.
- ``drop_after_commit``: the call runs and commits, then the connection is closed without an answer.
- ``slow``: sleep ``delay`` seconds, then handle the call normally (it still commits).
- ``access``: AccessError "You are not allowed to ... records", nothing written.

``calls``: one entry per RPC, ``{"transport", "service", "model", "method", "rows", "ok", "error", "fault"}``
(``rows``: load rows, created values, ids written/read/archived, records a search returned; else 0).

``requests``: the last ``REQUEST_LOG`` HTTP requests as received, oldest first, ``{"method", "path", "headers"}``
(header names lower-cased), so a test can see what a client sent besides the RPC itself (``X-Request-ID``).
Like Odoo, the server ignores headers it does not know.
"""

from __future__ import annotations

import collections
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from . import errors, rpc
from .database import Database, access_error
from .orm import Env, IntegrityViolation, as_validation_error

REQUEST_LOG = 200
FAULTS = ("http_500", "serialization", "lock", "drop_after_commit", "slow", "access")
ORM_FAULTS = ("serialization", "lock", "access")
HTML_500 = (
    b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
    b"<p>The server encountered an internal error and was unable to complete your request. Either the server is "
    b"overloaded or there is an error in the application.</p>\n"
)
HTML_404 = (
    b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was "
    b"not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
)


@dataclass
class Fault:
    kind: str
    times: int | None
    model: str | None
    method: str | None
    delay: float

    def matches(self, model: str | None, method: str | None) -> bool:
        if self.kind in ORM_FAULTS and model is None:
            return False
        return (self.model is None or self.model == model) and (self.method is None or self.method == method)


class _Drop(Exception):  # noqa: N818 - control flow, not an error
    """Close the connection without an answer."""


class OdooTestServer:
    def __init__(
        self,
        version: int = 17,
        api_key: str = "test-key",
        login: str = "mdm",
        db: str = "odoo",
        password: str = "mdm-password",
        host: str = "127.0.0.1",
    ):
        self.version = int(version)
        self.api_key = api_key
        self.login = login
        self.db = db
        self.password = password
        self.host = host
        self.database = Database(self.version, db, login, api_key, password)
        self.calls: list[dict] = []
        self.requests: collections.deque[dict] = collections.deque(maxlen=REQUEST_LOG)
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.port: int | None = None
        self.down = False

    # -- lifecycle -------------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def uid(self) -> int:
        return self.database.uid

    @property
    def clock(self):
        return self.database.clock

    @clock.setter
    def clock(self, value):
        self.database.clock = value

    def start(self) -> OdooTestServer:
        if self._httpd is None:
            self._listen()
        return self

    def stop(self) -> None:
        self._close()
        self.down = False

    def __enter__(self) -> OdooTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def set_down(self, down: bool) -> None:
        """Down: the listening socket is closed (connection refused) and open connections are cut."""
        if down and not self.down:
            self.down = True
            self._close()
        elif not down and self.down:
            self.down = False
            self._listen()

    def _listen(self) -> None:
        httpd = _HTTPServer((self.host, self.port or 0), _Handler)
        httpd.app = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"odoo-test-server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- faults ----------------------------------------------------------------------------------------------------
    def inject(
        self, fault: str, times: int | None = 1, model: str | None = None, method: str | None = None, delay: float = 0.0
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.append(Fault(fault, times, model, method, float(delay)))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, model: str | None, method: str | None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(model, method):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _orm_fault(self, fault: Fault | None):
        if fault is None or fault.kind not in ORM_FAULTS:
            return None
        version = self.version

        def make(model, method):
            if fault.kind == "access":
                return access_error(model, method)
            if fault.kind == "lock" and version >= 19:
                return errors.LockError(
                    f"Cannot update {model.description} ({model.name}) records right now: another transaction "
                    "holds a lock on them. Try again later."
                )
            return errors.SerializationFailure(errors.SERIALIZATION_MESSAGE)

        return make

    # -- direct look and user edits (no RPC) -----------------------------------------------------------------------
    def _env(self, uid: int = 2, active_test: bool = True) -> Env:
        return Env(self.database, uid, {"active_test": active_test})

    def records(self, model: str, domain=None, active_test: bool = False) -> list[dict]:
        """Stored rows as dicts: many2one as an id or False, x2many as id lists, computed fields included."""
        with self.database.store.lock:
            env = self._env(active_test=active_test)
            spec = env.model(model)
            names = [name for name in spec.fields if name != "id"]
            return [
                env.format_row(spec, row, names, load=None) for row in env.search_rows(model, domain or [], order="id")
            ]

    def by_xmlid(self, xmlid: str) -> dict | None:
        with self.database.store.lock:
            found = self.database.store.xmlid_lookup(xmlid)
            if not found or self.database.store.get(*found) is None:
                return None
            env = self._env(active_test=False)
            spec = env.model(found[0])
            return env.format_row(
                spec, self.database.store.get(*found), [n for n in spec.fields if n != "id"], load=None
            )

    def xmlid_of(self, model: str, rid: int) -> str | None:
        return self.database.store.xmlid_of(model, rid)

    def count(self, model: str, active_test: bool = False, domain=None) -> int:
        with self.database.store.lock:
            return len(self._env(active_test=active_test).search_rows(model, domain or []))

    def user_create(self, model: str, vals: dict) -> int:
        """An Odoo user (the admin) creates a record in Odoo's UI."""
        return self._as_user(lambda env: env.create(model, [dict(vals)])[0])

    def user_write(self, model: str, rid: int, vals: dict) -> bool:
        """An Odoo user (the admin) edits a record in Odoo's UI: write_date moves."""
        return self._as_user(lambda env: env.write(model, [rid], dict(vals)))

    def _as_user(self, func):
        store = self.database.store
        with store.lock:
            store.begin()
            env = self._env()
            try:
                result = func(env)
                store.commit()
                return result
            except IntegrityViolation as exc:
                store.rollback()
                raise as_validation_error(env, exc) from exc
            except BaseException:
                store.rollback()
                raise

    # -- requests --------------------------------------------------------------------------------------------------
    def handle(self, request: _Handler, body: bytes) -> None:
        path = urlsplit(request.path).path
        if path.startswith("/xmlrpc/2/"):
            self._xmlrpc(request, path.rsplit("/", 1)[-1], body)
        elif path == "/jsonrpc":
            self._jsonrpc(request, body)
        elif path.startswith("/json/2/") and self.version >= 19:
            self._json2(request, path, body)
        else:
            request.answer(404, "text/html; charset=utf-8", HTML_404)

    def _log(self, transport, service, model, method, rows, ok, error=None, fault=None) -> None:
        with self._lock:
            self.calls.append(
                {
                    "transport": transport,
                    "service": service,
                    "model": model,
                    "method": method,
                    "rows": rows,
                    "ok": ok,
                    "error": error,
                    "fault": fault,
                }
            )

    def _pre(self, transport, service, model, method):
        """Apply a transport fault; returns (fault, answered)."""
        fault = self._take_fault(model, method)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "http_500":
            self._log(transport, service, model, method, 0, False, "http_500", "http_500")
            return fault, True
        return fault, False

    def _xmlrpc(self, request, service, body) -> None:
        try:
            method, params = rpc.xmlrpc_parse(body)
        except Exception as exc:  # noqa: BLE001 - Odoo answers any parse error with a fault
            request.answer(200, "text/xml; charset=utf-8", rpc.xmlrpc_fault(exc))
            return
        model = name = None
        if service == "object" and method in ("execute_kw", "execute") and len(params) > 4:
            model, name = params[3], params[4]
        elif service == "common":
            name = method
        fault, answered = self._pre("xmlrpc", service, model, name if service == "object" else method)
        if answered:
            request.answer(500, "text/html; charset=utf-8", HTML_500)
            return
        ok, error, result, rows = True, None, None, 0
        try:
            if service == "common":
                result = self.database.common(method, params)
            elif service == "object":
                result = self.database.object(method, params, inject=self._orm_fault(fault))
                rows = rpc.rows_of(name, *_call_args(method, params), result)
            else:
                raise KeyError(service)
            try:
                payload = rpc.xmlrpc_result(result)
            except TypeError as exc:  # e.g. None from action_archive: Odoo's marshaller refuses it, post-commit
                ok, error = False, errors.dotted_name(exc)
                payload = rpc.xmlrpc_fault(exc)
        except Exception as exc:  # noqa: BLE001 - every error becomes a fault
            ok, error = False, errors.dotted_name(exc)
            payload = rpc.xmlrpc_fault(exc)
        self._log(
            "xmlrpc",
            service,
            model,
            name if service == "object" else method,
            rows,
            ok,
            error,
            fault.kind if fault else None,
        )
        if fault is not None and fault.kind == "drop_after_commit":
            raise _Drop
        request.answer(200, "text/xml; charset=utf-8", payload)

    def _jsonrpc(self, request, body) -> None:
        version = self.version
        request_id = None
        try:
            message = json.loads(body or b"null")
            if not isinstance(message, dict):
                raise errors.BadRequest("Invalid JSON-RPC data")
            request_id = message.get("id")
            params = message.get("params") or {}
            service, method, args = params["service"], params["method"], list(params.get("args") or [])
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, errors.OdooException):
                exc = errors.BadRequest(f"Invalid JSON data: {exc}")
            request.answer(200, "application/json", rpc.jsonrpc_error(version, request_id, exc))
            return
        model = name = None
        if service == "object" and method in ("execute_kw", "execute") and len(args) > 4:
            model, name = args[3], args[4]
        fault, answered = self._pre("jsonrpc", service, model, name if service == "object" else method)
        if answered:
            request.answer(500, "text/html; charset=utf-8", HTML_500)
            return
        ok, error, rows = True, None, 0
        try:
            if service == "common":
                result = self.database.common(method, args)
            elif service == "object":
                result = self.database.object(method, args, inject=self._orm_fault(fault))
                rows = rpc.rows_of(name, *_call_args(method, args), result)
            else:
                raise KeyError(service)
            payload = rpc.jsonrpc_result(request_id, result)
        except Exception as exc:  # noqa: BLE001
            ok, error = False, errors.dotted_name(exc)
            payload = rpc.jsonrpc_error(version, request_id, exc)
        self._log(
            "jsonrpc",
            service,
            model,
            name if service == "object" else method,
            rows,
            ok,
            error,
            fault.kind if fault else None,
        )
        if fault is not None and fault.kind == "drop_after_commit":
            raise _Drop
        request.answer(200, "application/json", payload)

    def _json2(self, request, path, body) -> None:
        version = self.version
        parts = path[len("/json/2/") :].split("/")
        model, name = (unquote(parts[0]), unquote(parts[1])) if len(parts) == 2 else (None, None)

        def fail(exc, fault=None):
            status, payload = rpc.json2_error(version, exc)
            self._log("json2", "object", model, name, 0, False, errors.dotted_name(exc), fault)
            request.answer(status, "application/json; charset=utf-8", payload)

        if model is None:
            request.answer(404, "text/html; charset=utf-8", HTML_404)
            return
        if request.command != "POST":
            fail(errors.MethodNotAllowed("The method is not allowed for the requested URL."))
            return
        database = request.headers.get("X-Odoo-Database")
        if database is not None and database != self.db:
            fail(errors.NotFound(f"database {database!r} not found"))
            return
        scheme, _space, key = (request.headers.get("Authorization") or "").partition(" ")
        uid = self.database.uid_for_key(key.strip()) if scheme.lower() == "bearer" else None
        if uid is None:
            fail(errors.Unauthorized("Invalid apikey"))
            return
        fault, answered = self._pre("json2", "object", model, name)
        if answered:
            request.answer(500, "text/html; charset=utf-8", HTML_500)
            return
        try:
            content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
            if body and content_type != "application/json":
                raise errors.UnsupportedMediaType(f"expected application/json, got {content_type!r}")
            try:
                params = json.loads(body) if body else {}
            except ValueError as exc:
                raise errors.BadRequest(f"could not parse the body as json: {exc}") from None
            if not isinstance(params, dict):
                raise errors.BadRequest("could not parse the body, expecting a json object")
            ids = params.pop("ids", None) or []
            try:
                self.database.resolve(model, name)
            except errors.UserError as exc:
                if isinstance(exc, errors.AccessError):
                    raise
                raise errors.NotFound(f"the model {model!r} does not exist") from None
            except AttributeError as exc:
                raise errors.NotFound(exc.args[0]) from None
            rows = rpc.rows_of(name, [], {**params, "ids": ids}, None)
            result = self.database.call(
                uid, model, name, [], params, inject=self._orm_fault(fault), named=True, ids=ids
            )
            if name in ("search", "search_read") and isinstance(result, list):
                rows = len(result)
            payload = rpc.json2_result(result)
        except Exception as exc:  # noqa: BLE001
            fail(exc, fault.kind if fault else None)
            return
        self._log("json2", "object", model, name, rows, True, None, fault.kind if fault else None)
        if fault is not None and fault.kind == "drop_after_commit":
            raise _Drop
        request.answer(200, "application/json; charset=utf-8", payload)


def _call_args(method: str, params: list) -> tuple[list, dict]:
    """The model method's args and kwargs in ``execute_kw(db, uid, pw, model, method, args, kwargs)`` or
    ``execute(db, uid, pw, model, method, *args)``."""
    if method == "execute":
        return list(params[5:]), {}
    args = params[5] if len(params) > 5 and isinstance(params[5], list) else []
    kwargs = params[6] if len(params) > 6 and isinstance(params[6], dict) else {}
    return args, kwargs


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: OdooTestServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Werkzeug/3.0.1"
    sys_version = "Python/3.11"

    def setup(self):
        super().setup()
        # one segment per answer, no Nagle delay: a keep-alive client would otherwise wait for a delayed ACK
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.app._lock:
            self.server.app._connections.add(self.connection)

    def finish(self):
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.app._lock:
            self.server.app._connections.discard(self.connection)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def _serve(self):
        app = self.server.app
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with app._lock:
            app.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                }
            )
        if app.down:
            self._drop()
            return
        try:
            app.handle(self, body)
        except _Drop:
            self._drop()

    do_POST = _serve  # noqa: N815 - BaseHTTPRequestHandler's naming
    do_GET = _serve  # noqa: N815
    do_PUT = _serve  # noqa: N815
    do_DELETE = _serve  # noqa: N815

    def _drop(self):
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def answer(self, status: int, content_type: str, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self._headers_buffer.append(b"\r\n" + payload)  # headers and body in one write
            self.flush_headers()
        except OSError:  # the client gave up (a timeout) or the server went down meanwhile
            self.close_connection = True


__all__ = ["FAULTS", "OdooTestServer"]
