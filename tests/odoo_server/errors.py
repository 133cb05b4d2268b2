"""Exceptions the test server raises, named and classified exactly as Odoo's own reach an RPC client.

The client only ever sees an exception's dotted name (``type.__module__ + "." + type.__name__``, as
``odoo/http.py`` ``serialize_exception`` builds it), its message and, over XML-RPC, a fault code. So each
class here carries Odoo's module name and class name, and the two numbers the transports need:

- ``fault_code``: ``odoo/addons/base/controllers/rpc.py`` ``xmlrpc_handle_exception_int`` (17+; 16 has the same
  mapping in ``odoo/service/wsgi_server.py``): RedirectWarning 2, AccessError 4, AccessDenied 3, any other
  UserError (ValidationError, MissingError, 19's LockError) 2, anything else 1 with the formatted traceback.
  The order matters: AccessDenied and AccessError are UserError subclasses in ``odoo/exceptions.py``.
- ``http_status``: the JSON-2 status (19, ``odoo/exceptions.py``): UserError 422, AccessError/AccessDenied 403,
  MissingError 404, LockError 409; everything else 500.

Concurrency errors keep psycopg2's names: ``odoo/service/model.py`` ``retrying()`` retries
LOCK_NOT_AVAILABLE / SERIALIZATION_FAILURE / DEADLOCK_DETECTED up to 5 times and then re-raises the psycopg2
error itself (16-19; 18 adds ``ConcurrencyError`` to what is retried, still re-raising the original), so a
client sees ``psycopg2.errors.SerializationFailure``.
"""

from __future__ import annotations


class OdooException(Exception):
    """Base of the Odoo-named exceptions (not itself an Odoo class)."""

    fault_code = 1
    http_status = 500

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


def _named(module: str, name: str, base: type, fault_code: int, http_status: int) -> type:
    cls = type(name, (base,), {"fault_code": fault_code, "http_status": http_status})
    cls.__module__ = module
    cls.__qualname__ = name
    return cls


UserError = _named("odoo.exceptions", "UserError", OdooException, 2, 422)
ValidationError = _named("odoo.exceptions", "ValidationError", UserError, 2, 422)
MissingError = _named("odoo.exceptions", "MissingError", UserError, 2, 404)
LockError = _named("odoo.exceptions", "LockError", UserError, 2, 409)
AccessError = _named("odoo.exceptions", "AccessError", UserError, 4, 403)
_AccessDeniedBase = _named("odoo.exceptions", "AccessDenied", UserError, 3, 403)


class AccessDenied(_AccessDeniedBase):  # noqa: N818 - Odoo's name
    """``odoo.exceptions.AccessDenied``: default message "Access Denied"."""

    def __init__(self, message: str = "Access Denied"):
        super().__init__(message)


AccessDenied.__module__ = "odoo.exceptions"
AccessDenied.__qualname__ = AccessDenied.__name__ = "AccessDenied"

SerializationFailure = _named("psycopg2.errors", "SerializationFailure", OdooException, 1, 500)

# werkzeug's HTTP exceptions, as Odoo 19's JSON-2 controller raises them (addons/web/controllers/json2.py).
NotFound = _named("werkzeug.exceptions", "NotFound", OdooException, 1, 404)
UnprocessableEntity = _named("werkzeug.exceptions", "UnprocessableEntity", OdooException, 1, 422)
Unauthorized = _named("werkzeug.exceptions", "Unauthorized", OdooException, 1, 401)
MethodNotAllowed = _named("werkzeug.exceptions", "MethodNotAllowed", OdooException, 1, 405)
BadRequest = _named("werkzeug.exceptions", "BadRequest", OdooException, 1, 400)
UnsupportedMediaType = _named("werkzeug.exceptions", "UnsupportedMediaType", OdooException, 1, 415)

SERIALIZATION_MESSAGE = "could not serialize access due to concurrent update\n"


def dotted_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return f"{module}.{cls.__name__}" if module else cls.__name__


def fault_code(exc: BaseException) -> int:
    return getattr(exc, "fault_code", 1)


def http_status(exc: BaseException) -> int:
    return getattr(exc, "http_status", 500)


def is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, UserError)
