"""The three wire formats: XML-RPC, JSON-RPC and (19) JSON-2, with Odoo's envelopes and error shapes.

- XML-RPC (``odoo/addons/base/controllers/rpc.py``; 16: ``odoo/service/wsgi_server.py``): the request is read
  with ``xmlrpc.client.loads`` (``<nil/>`` accepted); the answer is marshalled with ``allow_none=False``, so a
  method returning None (``action_archive``!) makes the marshaller raise ``TypeError: cannot marshal None unless
  allow_none is enabled``, which becomes fault 1 -- after the call has committed. Faults:
  ``xmlrpc_handle_exception_int`` -> 4 AccessError, 3 AccessDenied, 2 other UserError (message as
  faultString), 1 anything else with the formatted traceback.
- JSON-RPC (``odoo/http.py`` ``JsonRPCDispatcher.handle_error``): ``{"code": 200, "message": "Odoo Server
  Error", "data": serialize_exception(e)}`` with ``data = {name, debug, message, arguments, context}``; the
  code is 0 from 19 (ODOO.md, seen on a live 19.0); HTTP status 200 either way.
- JSON-2 (19 only, ``addons/web/controllers/json2.py`` 19.0 per ODOO.md): ``POST /json/2/<model>/<method>``,
  ``Authorization: bearer <api key>``, optional ``X-Odoo-Database``, a JSON object of named arguments (``ids``
  and ``context`` taken out), the bare result with 200, errors as ``{name, message, arguments, context,
  debug}`` with the exception's ``http_status`` (422/403/404/409, 401 bad key, 500 otherwise).
"""

from __future__ import annotations

import json
import traceback
import xmlrpc.client

from . import errors


def _message(version: int, exc: BaseException) -> str:
    """``ustr(e)`` (16) / ``exception_to_unicode(e)`` (17+: the args joined by newlines)."""
    if version >= 17 and getattr(exc, "args", ()):
        return "\n".join(str(arg) for arg in exc.args)
    return str(exc)


def serialize_exception(version: int, exc: BaseException) -> dict:
    return {
        "name": errors.dotted_name(exc),
        "debug": "".join(traceback.format_exception(exc)),
        "message": _message(version, exc),
        "arguments": [_jsonable(arg) for arg in getattr(exc, "args", ())],
        "context": getattr(exc, "context", {}) or {},
    }


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


# -- XML-RPC ---------------------------------------------------------------------------------------------------------
def xmlrpc_parse(body: bytes):
    params, method = xmlrpc.client.loads(body, use_datetime=True)
    return method, list(params)


def xmlrpc_result(result) -> bytes:
    """``dumps((result,))`` with Odoo's ``allow_none=False``: None fails here, as on a real server."""
    return xmlrpc.client.dumps((result,), methodresponse=True, allow_none=False, encoding="utf-8").encode()


def xmlrpc_fault(exc: BaseException) -> bytes:
    code = errors.fault_code(exc)
    text = str(exc) if code != 1 else "".join(traceback.format_exception(exc))
    return xmlrpc.client.dumps(
        xmlrpc.client.Fault(code, text), methodresponse=True, allow_none=False, encoding="utf-8"
    ).encode()


# -- JSON-RPC --------------------------------------------------------------------------------------------------------
def jsonrpc_result(request_id, result) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}, default=_default).encode()


def jsonrpc_error(version: int, request_id, exc: BaseException) -> bytes:
    error = {
        "code": 0 if version >= 19 else 200,
        "message": "Odoo Server Error",
        "data": serialize_exception(version, exc),
    }
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}, default=_default).encode()


# -- JSON-2 ----------------------------------------------------------------------------------------------------------
def json2_error(version: int, exc: BaseException) -> tuple[int, bytes]:
    return errors.http_status(exc), json.dumps(serialize_exception(version, exc), default=_default).encode()


def json2_result(result) -> bytes:
    return json.dumps(result, default=_default).encode()


def _default(value):
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def rows_of(method: str, args: list, kwargs: dict, result) -> int:
    """How many records a call carried: load rows, created values, ids written/read, records returned."""
    try:
        if method == "load":
            data = kwargs.get("data", args[1] if len(args) > 1 else [])
            return len(data or [])
        if method == "create":
            vals = kwargs.get("vals_list", args[0] if args else [])
            return 1 if isinstance(vals, dict) else len(vals or [])
        if method in ("search", "search_read") and isinstance(result, list):
            return len(result)
        if method in ("write", "read", "unlink", "action_archive", "action_unarchive", "exists"):
            ids = kwargs.get("ids", args[0] if args else [])
            return 1 if isinstance(ids, int) else len(ids or [])
    except (TypeError, IndexError, AttributeError, KeyError):
        return 0
    return 0
