"""Odoo's three external APIs behind one small interface: ``version()``, ``authenticate()``,
``execute_kw(model, method, args, kwargs)``, ``close()``.

- ``XmlRpcTransport``: ``/xmlrpc/2/common`` and ``/xmlrpc/2/object`` (all versions; scheduled for removal
  after 19).
- ``JsonRpcTransport``: ``POST /jsonrpc`` with ``service``/``method``/``args`` (all versions; same fate).
- ``Json2Transport``: Odoo 19's ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <api key>``
  and ``X-Odoo-Database``. Checked against addons/web/controllers/json2.py (19.0): the body's ``ids`` and
  ``context`` keys are taken out, every other key is passed to the method *by name*
  (``signature.bind(records, **kwargs)``), the bare result comes back with HTTP 200, errors come back as
  ``{name, message, arguments, context, debug}`` with 422 (UserError family), 403, 404, 409 (LockError), 401
  (bad key) or 500. So positional ``execute_kw`` arguments are renamed per method (``JSON2_SIGNATURES``,
  names as in Odoo 19's ``odoo/orm/models.py`` and ``ir_model.py``: ``create(vals_list)``,
  ``write(vals)``, ``read(fields, load)``, ``search_read(domain, fields, offset, limit, order)``,
  ``load(fields, data)``, ``check_object_reference(module, xml_id, raise_on_access_error)``...).

Every request carries ``X-Request-ID``: the correlation id bound when it is made (``mdm.context``; the delivery
engine binds the id of the change being delivered). Odoo ignores the header; a proxy in front of it can log it.

HTTP goes through ``http.client`` with a fresh connection per call: nothing is ever resent behind the
caller's back (a resent call after a lost response must be the caller's decision: the call may have
committed). Every network failure becomes ``OdooUnavailable``; every Odoo error an ``OdooError`` (see
``sync.odoo.errors``). The API key travels only in the request, never in an exception's text.
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import ssl
import xmlrpc.client
from typing import Any
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError

from mdm.context import current_correlation_id
from sync.odoo.errors import (
    ACCESS_DENIED,
    OdooError,
    OdooUnavailable,
    from_error_data,
    from_xmlrpc_fault,
)

#: What Odoo's XML-RPC marshaller says after a method that returns None ran and committed.
NONE_RESULT = "cannot marshal None unless allow_none is enabled"

#: Correlation ids sent as ``X-Request-ID`` (the form the hub accepts at its edge; anything else is not sent).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

#: Statuses that mean "try again later" when no Odoo error body says otherwise.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def _snippet(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


class Transport:
    """One way of talking to one Odoo database as one user."""

    name = ""

    def __init__(self, url: str, db: str, login: str, api_key: str, *, timeout: float = 30.0):
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url.rstrip("/")
        self.db = db
        self.login = login
        self._key = api_key
        self.timeout = timeout
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.uid: int | None = None

    def __repr__(self) -> str:  # never the key
        return f"<{type(self).__name__} {self.url} db={self.db!r} login={self.login!r}>"

    # -- the interface -------------------------------------------------------------------------------------------
    def version(self) -> dict:
        raise NotImplementedError

    def authenticate(self) -> int:
        raise NotImplementedError

    def execute_kw(self, model: str, method: str, args: list, kwargs: dict) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # -- HTTP ----------------------------------------------------------------------------------------------------
    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
        """POST and return (status, content type, body); network failures raise OdooUnavailable."""
        if self._scheme == "https":
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        headers = {"Connection": "close", **headers}
        correlation = current_correlation_id()
        if correlation and REQUEST_ID.fullmatch(correlation):
            headers["X-Request-ID"] = correlation
        try:
            conn.request("POST", self._prefix + path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        except TimeoutError as exc:
            raise OdooUnavailable(f"no answer from {self.url} within {self.timeout:g} s ({path})") from exc
        except (OSError, http.client.HTTPException) as exc:
            # refused, reset, DNS, TLS, or the connection closed before a full response (lost response)
            raise OdooUnavailable(f"{type(exc).__name__} talking to {self.url}{path}: {exc}") from exc
        finally:
            conn.close()

    def _http_failure(self, status: int, body: bytes, path: str) -> OdooError:
        """A non-200 answer without an Odoo error body."""
        if status in RETRYABLE_STATUSES or status >= 500:
            return OdooUnavailable(f"HTTP {status} from {self.url}{path}: {_snippet(body, 200)}", status)
        if status == 401:
            return OdooError(ACCESS_DENIED, f"HTTP 401 from {path}: API key rejected", False, 401)
        return OdooError(f"http_{status}", f"HTTP {status} from {self.url}{path}: {_snippet(body, 200)}", False, status)


class JsonRpcTransport(Transport):
    """``POST /jsonrpc``: ``{"service": "common"|"object", "method": ..., "args": [...]}``."""

    name = "jsonrpc"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ids = itertools.count(1)

    def call(self, service: str, method: str, *args) -> Any:
        path = "/jsonrpc"
        request_id = next(self._ids)
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "call",
                "id": request_id,
                "params": {"service": service, "method": method, "args": list(args)},
            },
            default=str,
        ).encode()
        status, _ctype, raw = self._post(path, body, {"Content-Type": "application/json"})
        if status != 200:
            raise self._http_failure(status, raw, path)
        try:
            answer = json.loads(raw)
        except ValueError as exc:  # a proxy's HTML page with a 200: not Odoo
            raise OdooUnavailable(f"not a JSON-RPC answer from {self.url}{path}: {_snippet(raw, 200)}") from exc
        if not isinstance(answer, dict):
            raise OdooUnavailable(f"not a JSON-RPC answer from {self.url}{path}: {_snippet(raw, 200)}")
        if answer.get("error") is not None:
            error = answer["error"]
            data = error.get("data") if isinstance(error, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            if isinstance(data, dict) and data.get("name"):
                raise from_error_data(data, code=code)
            raise OdooError(
                "odoo.http.SessionExpiredException" if code == 100 else "jsonrpc_error", str(error), code=code
            )
        return answer.get("result")

    def version(self) -> dict:
        return self.call("common", "version")

    def authenticate(self) -> int:
        uid = self.call("common", "authenticate", self.db, self.login, self._key, {})
        if not uid:
            raise OdooError(ACCESS_DENIED, f"Odoo refused login {self.login!r} with this API key (db {self.db!r})")
        self.uid = int(uid)
        return self.uid

    def execute_kw(self, model: str, method: str, args: list, kwargs: dict) -> Any:
        if self.uid is None:
            self.authenticate()
        return self.call("object", "execute_kw", self.db, self.uid, self._key, model, method, list(args), kwargs)


class XmlRpcTransport(Transport):
    """``/xmlrpc/2/common`` and ``/xmlrpc/2/object`` (``allow_none``, as Odoo's server marshals None)."""

    name = "xmlrpc"

    def call(self, endpoint: str, method: str, *args) -> Any:
        path = f"/xmlrpc/2/{endpoint}"
        body = xmlrpc.client.dumps(tuple(args), method, allow_none=True).encode()
        status, _ctype, raw = self._post(path, body, {"Content-Type": "text/xml"})
        if status != 200:
            raise self._http_failure(status, raw, path)
        try:
            (result,), _method = xmlrpc.client.loads(raw, use_builtin_types=True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == 1 and NONE_RESULT in str(fault.faultString):
                # Odoo marshals answers with allow_none=False: a method returning None (action_archive) ran and
                # committed, and only its answer failed (odoo/addons/base/controllers/rpc.py xmlrpc_return)
                return None
            raise from_xmlrpc_fault(fault.faultCode, fault.faultString) from None
        except (ExpatError, ValueError) as exc:
            raise OdooUnavailable(f"not an XML-RPC answer from {self.url}{path}: {_snippet(raw, 200)}") from exc
        return result

    def version(self) -> dict:
        return self.call("common", "version")

    def authenticate(self) -> int:
        uid = self.call("common", "authenticate", self.db, self.login, self._key, {})
        if not uid:
            raise OdooError(ACCESS_DENIED, f"Odoo refused login {self.login!r} with this API key (db {self.db!r})")
        self.uid = int(uid)
        return self.uid

    def execute_kw(self, model: str, method: str, args: list, kwargs: dict) -> Any:
        if self.uid is None:
            self.authenticate()
        return self.call("object", "execute_kw", self.db, self.uid, self._key, model, method, list(args), kwargs)


#: method -> (takes record ids first, names of its positional parameters after self) for JSON-2.
JSON2_SIGNATURES: dict[str, tuple[bool, tuple[str, ...]]] = {
    "create": (False, ("vals_list",)),
    "write": (True, ("vals",)),
    "read": (True, ("fields", "load")),
    "unlink": (True, ()),
    "copy": (True, ("default",)),
    "search": (False, ("domain", "offset", "limit", "order")),
    "search_count": (False, ("domain", "limit")),
    "search_read": (False, ("domain", "fields", "offset", "limit", "order")),
    "load": (False, ("fields", "data")),
    "fields_get": (False, ("allfields", "attributes")),
    "name_search": (False, ("name", "domain", "operator", "limit")),
    "action_archive": (True, ()),
    "action_unarchive": (True, ()),
    "check_object_reference": (False, ("module", "xml_id", "raise_on_access_error")),
    "context_get": (False, ()),
}


def json2_body(method: str, args: list, kwargs: dict) -> dict:
    """Named arguments for a JSON-2 call from execute_kw-style ``args``/``kwargs`` (``ids``/``context`` kept)."""
    body = dict(kwargs)
    args = list(args)
    takes_ids, names = JSON2_SIGNATURES.get(method, (False, ()))
    if takes_ids and args:
        body["ids"] = list(args.pop(0))
    if len(args) > len(names):
        raise ValueError(
            f"JSON-2 calls {method}() with named arguments only: pass {len(args)} positional argument(s) as "
            f"keyword arguments (known names: {', '.join(names) or 'none'}; record ids as 'ids')"
        )
    for name, value in zip(names, args, strict=False):
        if name in body:
            raise ValueError(f"{method}(): {name!r} given both positionally and by name")
        body[name] = value
    return body


class Json2Transport(Transport):
    """Odoo 19+: ``POST /json/2/<model>/<method>``, bearer API key, named arguments, bare results."""

    name = "json2"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Authorization": f"bearer {self._key}"}
        if self.db:
            headers["X-Odoo-Database"] = self.db
        return headers

    def call(self, model: str, method: str, body: dict) -> Any:
        path = f"/json/2/{model}/{method}"
        status, _ctype, raw = self._post(path, json.dumps(body, default=str).encode(), self._headers())
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = None
            if status == 200:
                raise OdooUnavailable(f"not a JSON answer from {self.url}{path}: {_snippet(raw, 200)}") from None
        if status == 200:
            return answer
        if status == 401:  # werkzeug's Unauthorized in 19.0: the same refusal as AccessDenied elsewhere
            detail = answer.get("message", "") if isinstance(answer, dict) else _snippet(raw, 200)
            raise OdooError(ACCESS_DENIED, f"HTTP 401 from {path}: API key rejected ({detail})", False, 401)
        if isinstance(answer, dict) and answer.get("name"):
            raise from_error_data(answer, http_status=status)
        raise self._http_failure(status, raw, path)

    def version(self) -> dict:
        # JSON-2 has no version endpoint; /jsonrpc's common.version needs no login and still answers in 19.
        return JsonRpcTransport(self.url, self.db, self.login, "", timeout=self.timeout).version()

    def authenticate(self) -> int:
        """Check the key with a cheap authenticated call; the user id comes from the user's own record."""
        found = self.call("res.users", "search", {"domain": [["login", "=", self.login]], "limit": 1})
        if not found:
            raise OdooError(ACCESS_DENIED, f"the API key does not belong to login {self.login!r}")
        self.uid = int(found[0])
        return self.uid

    def execute_kw(self, model: str, method: str, args: list, kwargs: dict) -> Any:
        return self.call(model, method, json2_body(method, args, kwargs))


TRANSPORTS = {cls.name: cls for cls in (JsonRpcTransport, XmlRpcTransport, Json2Transport)}
