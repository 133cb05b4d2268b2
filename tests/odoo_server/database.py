"""One Odoo database: its models, its data, its users, and the services ``common`` and ``object``.

Checked against ``odoo/service/common.py`` (``exp_version`` returns ``RPC_VERSION_1``: server_version,
server_version_info, server_serie, protocol_version 1; ``exp_authenticate`` returns the uid or False on
AccessDenied; ``exp_login``; an unknown method raises ``Exception("Method not found: x")``),
``odoo/service/model.py`` (``dispatch``: ``security.check`` raises AccessDenied for a wrong password or key;
``execute_kw`` -> ``execute``: ``check_method_name`` first (AccessError "Private methods (such as ...) cannot be
called remotely."), then "Object x doesn't exist" (UserError), then the method's lookup (AttributeError), then
``retrying`` around the call: one transaction, IntegrityError -> ValidationError), ``odoo/api.py`` ``call_kw``
(``@api.model`` methods get no ids; ``context`` is taken out of kwargs; a recordset result becomes its ids, a
create from a dict its id) and Odoo 19's ``addons/web/controllers/json2.py`` (named arguments bound with
``inspect.signature``; a binding error or ids passed to a model method is 422, an unknown model or method 404).
Since Odoo 14 an API key is accepted wherever the password is (``res.users._check_credentials``).
"""

from __future__ import annotations

import datetime
import inspect

from . import errors
from .importer import load as load_rows
from .orm import Env, IntegrityViolation, as_validation_error, utc_now
from .products import build_models
from .seed import seed
from .store import Store


class Records:
    """``self`` of a model method: an environment, a model name and ids."""

    def __init__(self, env: Env, model: str, ids=()):
        self.env = env
        self.model = model
        self.ids = list(ids)


def _model_method(func):
    func.api_model = True
    return func


@_model_method
def create(self, vals_list):
    single = isinstance(vals_list, dict)
    ids = self.env.create(self.model, [vals_list] if single else list(vals_list))
    return ids[0] if single else ids


def write(self, vals):
    return self.env.write(self.model, self.ids, vals)


def read(self, fields=None, load="_classic_read"):
    return self.env.read(self.model, self.ids, fields, load)


@_model_method
def search(self, domain, offset=0, limit=None, order=None, count=False):
    if count:  # 16 only: 17 removed the parameter in favour of search_count
        if self.env.version >= 17:
            raise TypeError("BaseModel.search() got an unexpected keyword argument 'count'")
        return len(self.env.search_rows(self.model, domain))
    return self.env.search(self.model, domain, offset, limit, order)


@_model_method
def search_read(self, domain=None, fields=None, offset=0, limit=None, order=None, **read_kwargs):
    env = self.env
    model = env.model(self.model)
    names = env._field_names(model, fields)
    rows = env.search_rows(self.model, domain, offset, limit, order)
    return [env.format_row(model, row, names, read_kwargs.get("load", "_classic_read")) for row in rows]


@_model_method
def search_count(self, domain, limit=None):
    count = len(self.env.search_rows(self.model, domain))
    return min(count, int(limit)) if limit else count


def unlink(self):
    return self.env.unlink(self.model, self.ids)


def exists(self):
    table = self.env.store.tables[self.model]
    return [i for i in self.ids if i in table]


def action_archive(self):
    self.env.archive(self.model, self.ids, False)  # returns None, as Odoo's does


def action_unarchive(self):
    self.env.archive(self.model, self.ids, True)


@_model_method
def fields_get(self, allfields=None, attributes=None):
    model = self.env.model(self.model)
    result = {}
    for name, field in model.fields.items():
        if allfields and name not in allfields:
            continue
        info = field.describe()
        if attributes:
            info = {key: value for key, value in info.items() if key in attributes}
        result[name] = info
    return result


@_model_method
def load(self, fields, data):
    return load_rows(self.env, self.model, fields, data)


@_model_method
def check_object_reference(self, module, xml_id, raise_on_access_error=False):
    env = self.env
    found = env.store.xmlids.get((module, xml_id))
    if not found or not found[1]:
        raise ValueError(f"External ID not found in the system: {module}.{xml_id}")
    model, res_id = found
    if env.search(model, [("id", "=", res_id)]):
        return model, res_id
    if raise_on_access_error:
        raise errors.AccessError(f'Not enough access rights on the external ID "{module}.{xml_id}"')
    return model, False


PUBLIC = {
    func.__name__: func
    for func in (
        create,
        write,
        read,
        search,
        search_read,
        search_count,
        unlink,
        exists,
        action_archive,
        action_unarchive,
        fields_get,
        load,
    )
}
MODEL_SPECIFIC = {("ir.model.data", "check_object_reference"): check_object_reference}
READ_METHODS = {"read", "search", "search_read", "search_count", "exists", "fields_get", "check_object_reference"}


class Database:
    def __init__(self, version: int, name: str, login: str, api_key: str, password: str, uid: int = 6):
        if version not in (16, 17, 18, 19):
            raise ValueError(f"Odoo version {version} is not one of 16, 17, 18, 19")
        self.version = version
        self.name = name
        self.login = login
        self.api_key = api_key
        self.password = password
        self.uid = uid
        self.user_name = "MDM Integration"
        self.clock = None  # a callable returning a datetime or 'YYYY-MM-DD HH:MM:SS' (UTC) replaces the wall clock
        self.models = build_models(version)
        self.store = Store(self.models)
        self.seed_time = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
        seed(self)

    def now(self) -> str:
        if self.clock is None:
            return utc_now()
        value = self.clock()
        return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime.datetime) else str(value)[:19]

    @property
    def version_info(self) -> dict:
        return {
            "server_version": f"{self.version}.0",
            "server_version_info": [self.version, 0, 0, "final", 0, ""],
            "server_serie": f"{self.version}.0",
            "protocol_version": 1,
        }

    # -- users -----------------------------------------------------------------------------------------------------
    def _credentials_ok(self, password) -> bool:
        return isinstance(password, str) and password in (self.password, self.api_key) and bool(password)

    def _check_db(self, db) -> None:
        if db != self.name:
            raise OperationalError(
                f'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
                f'FATAL:  database "{db}" does not exist\n'
            )

    def authenticate(self, db, login, password) -> int | bool:
        self._check_db(db)
        return self.uid if login == self.login and self._credentials_ok(password) else False

    def check(self, db, uid, password) -> int:
        self._check_db(db)
        uid = int(uid)
        if uid != self.uid or not self._credentials_ok(password):
            raise errors.AccessDenied()
        return uid

    def uid_for_key(self, key: str) -> int | None:
        return self.uid if key and key == self.api_key else None

    # -- services --------------------------------------------------------------------------------------------------
    def common(self, method: str, params: list):
        if method == "version":
            return self.version_info
        if method == "authenticate":
            db, login, password = params[:3]
            return self.authenticate(db, login, password)
        if method == "login":
            db, login, password = params[:3]
            return self.authenticate(db, login, password)
        if method == "about":
            return "See http://openerp.com"
        raise Exception(f"Method not found: {method}")  # noqa: TRY002 - Odoo raises a bare Exception

    def object(self, method: str, params: list, inject=None):
        """``execute_kw(db, uid, password, model, method, args, kwargs)`` or ``execute(..., *args)``."""
        db, uid, password = params[0], params[1], params[2]
        uid = self.check(db, uid, password)
        if method == "execute_kw":
            model, name = params[3], params[4]
            args = params[5] if len(params) > 5 else []
            kwargs = params[6] if len(params) > 6 else {}
            kwargs = dict(kwargs or {})
        elif method == "execute":
            model, name, args, kwargs = params[3], params[4], list(params[5:]), {}
        else:
            raise NameError(f"Method not available {method}")
        return self.call(uid, model, name, list(args or []), kwargs, inject=inject)

    def resolve(self, model: str, name: str):
        """The public method, with Odoo's errors for a private, unknown-model or unknown method."""
        if not isinstance(name, str) or name.startswith("_"):
            shown = name if self.version < 18 else f"'{model}.{name}'"
            raise errors.AccessError(f"Private methods (such as {shown}) cannot be called remotely.")
        if model not in self.models:
            raise errors.UserError(f"Object {model} doesn't exist")
        func = MODEL_SPECIFIC.get((model, name)) or PUBLIC.get(name)
        if func is None:
            if self.version == 16:
                raise AttributeError(f"type object '{model}' has no attribute '{name}'")
            raise AttributeError(f"The method '{model}.{name}' does not exist")
        if self.models[model].rpc_private and (model, name) not in MODEL_SPECIFIC:
            raise access_error(self.models[model], name)
        return func

    def call(self, uid: int, model: str, name: str, args: list, kwargs: dict, *, inject=None, named=False, ids=None):
        """One RPC call: resolve, bind, run in one transaction (all or nothing)."""
        func = self.resolve(model, name)
        context = kwargs.pop("context", None) or {}
        if not isinstance(context, dict):
            raise TypeError("context must be a dict")
        store = self.store
        with store.lock:
            store.begin()
            try:
                env = Env(self, uid, context)
                if inject is not None:
                    raise inject(self.models[model], name)
                if getattr(func, "api_model", False):
                    if named and ids:
                        raise errors.UnprocessableEntity(f"cannot call {model}.{name} with ids")
                    recs = Records(env, model)
                elif named:
                    recs = Records(env, model, [ids] if isinstance(ids, int) else list(ids or []))
                else:
                    if not args:
                        raise TypeError(f"{name}() missing 1 required positional argument: 'ids'")
                    first, args = args[0], args[1:]
                    recs = Records(env, model, [first] if isinstance(first, int) else list(first or []))
                if named:
                    try:
                        inspect.signature(func).bind(recs, *args, **kwargs)
                    except TypeError as exc:
                        raise errors.UnprocessableEntity(exc.args[0]) from None
                result = func(recs, *args, **kwargs)
                store.commit()
                return result
            except IntegrityViolation as exc:
                store.rollback()
                raise as_validation_error(Env(self, uid), exc) from exc
            except BaseException:
                store.rollback()
                raise


class OperationalError(Exception):
    """``psycopg2.OperationalError``: what connecting to a database that does not exist raises."""


OperationalError.__module__ = "psycopg2"


def access_error(model, method: str) -> Exception:
    """The AccessError of a missing ACL (``ir.model.access._make_access_error``)."""
    if method == "create":
        operation = "create"
    elif method == "unlink":
        operation = "delete"
    elif method in READ_METHODS:
        operation = "access"
    else:
        operation = "modify"
    return errors.AccessError(
        f"You are not allowed to {operation} '{model.description}' ({model.name}) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Administration/Settings\n\n"
        "Contact your administrator to request access if necessary."
    )
