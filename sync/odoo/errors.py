"""Odoo errors, classified on the exception's name (``data.name``), never on the envelope's ``code``.

The JSON-RPC envelope's ``code`` is 200 in Odoo 16-18 and 0 in 19, and XML-RPC's ``faultCode`` lumps
UserError, ValidationError and MissingError together, so neither says whether a retry can help. The name
of the exception that reached the RPC layer does.

What Odoo's source says about concurrency (``odoo/service/model.py`` ``retrying()``; 18+ also
``odoo/exceptions.py``): the server retries a call up to ``MAX_TRIES_ON_CONCURRENCY_FAILURE`` (5) times on
PostgreSQL's ``LOCK_NOT_AVAILABLE``, ``SERIALIZATION_FAILURE`` and ``DEADLOCK_DETECTED`` and then re-raises
the last psycopg2 error as is, so the client sees ``psycopg2.errors.SerializationFailure``,
``psycopg2.errors.LockNotAvailable`` or ``psycopg2.errors.DeadlockDetected`` (16-19). Odoo 18 adds
``odoo.exceptions.ConcurrencyError`` (retried the same way, then re-raised), and 19 ``odoo.exceptions.LockError``
(a UserError subclass with ``http_status = 409``: a record could not be locked). All of those mean "the same
call will very likely work in a moment": transient. Everything else (ValidationError, UserError, AccessError,
AccessDenied, MissingError, ValueError, unknown methods...) is the target refusing the call: permanent.
"""

from __future__ import annotations

import re

#: Exception names (as in JSON-RPC ``error.data.name`` / JSON-2 ``name``) worth retrying.
TRANSIENT_NAMES = frozenset(
    {
        "psycopg2.errors.SerializationFailure",
        "psycopg2.errors.DeadlockDetected",
        "psycopg2.errors.LockNotAvailable",
        "psycopg2.extensions.TransactionRollbackError",  # older psycopg2: the parent of the two above
        "odoo.exceptions.ConcurrencyError",  # 18+
        "odoo.exceptions.LockError",  # 19
    }
)

ACCESS_DENIED = "odoo.exceptions.AccessDenied"
ACCESS_ERROR = "odoo.exceptions.AccessError"
USER_ERROR = "odoo.exceptions.UserError"
VALUE_ERROR = "builtins.ValueError"

#: XML-RPC faultCode -> the exception family Odoo maps onto it (odoo/addons/base/controllers/rpc.py,
#: ``xmlrpc_handle_exception_int``): 2 = UserError and subclasses (ValidationError, MissingError, and in 19
#: LockError too, indistinguishable here), 3 = AccessDenied, 4 = AccessError, 1 = anything else, with the
#: formatted traceback as faultString (its last line names the exception).
XMLRPC_FAULTS = {2: USER_ERROR, 3: ACCESS_DENIED, 4: ACCESS_ERROR}

_TRACEBACK_TAIL = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")


def is_transient(name: str) -> bool:
    return name in TRANSIENT_NAMES


class OdooError(Exception):
    """Odoo refused or failed a call. ``name`` is the exception's dotted name; ``transient`` says retry."""

    def __init__(
        self,
        name: str,
        message: str,
        transient: bool | None = None,
        http_status: int | None = None,
        code: int | None = None,
        *,
        debug: str = "",
    ):
        self.name = name
        self.message = message
        self.transient = is_transient(name) if transient is None else transient
        self.http_status = http_status
        self.code = code
        self.debug = debug
        super().__init__(f"{name}: {message}" if message else name)

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


class OdooUnavailable(OdooError):
    """No answer from Odoo itself: connection refused or reset, a timeout, a lost response, HTTP 5xx/429 from
    Odoo or a proxy without Odoo's error body. Always transient; whether the call took effect is unknown."""

    def __init__(self, message: str, http_status: int | None = None, *, name: str = "unavailable"):
        super().__init__(name, message, True, http_status)


def from_error_data(data: dict, *, http_status: int | None = None, code: int | None = None) -> OdooError:
    """An OdooError from Odoo's serialized exception (``{name, message, arguments, context, debug}``)."""
    name = str(data.get("name") or "odoo.exceptions.UserError")
    message = data.get("message")
    if not message and data.get("arguments"):
        message = str(data["arguments"][0])
    return OdooError(name, str(message or ""), http_status=http_status, code=code, debug=str(data.get("debug") or ""))


def from_xmlrpc_fault(fault_code, fault_string: str) -> OdooError:
    """Classify an XML-RPC fault: the fault code names the family, a traceback's last line the exception."""
    text = str(fault_string or "")
    try:
        code = int(fault_code)
    except (TypeError, ValueError):
        code = 1
    if code in XMLRPC_FAULTS:
        return OdooError(XMLRPC_FAULTS[code], text, code=code)
    # The exception's own text follows the last indented frame line and may span several lines.
    lines = text.rstrip().splitlines()
    last_frame = max((n for n, line in enumerate(lines) if line[:1].isspace()), default=-1)
    tail = [line for line in lines[last_frame + 1 :] if line.strip()]
    name, message = "builtins.Exception", text
    if tail:
        match = _TRACEBACK_TAIL.match(tail[0].strip())
        if match:
            name = match.group(1)
            message = "\n".join([match.group(2) or "", *tail[1:]]).strip()
            if "." not in name:
                name = f"builtins.{name}"
    return OdooError(name, message, code=code, debug=text)
