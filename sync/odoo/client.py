"""A small Odoo client over the three transports (``sync.odoo.transports``).

    client = OdooClient(url, db, login, api_key, protocol="auto", timeout=30)   # or OdooClient.from_target(t)
    client.version() -> dict        # common.version(), cached
    client.major -> int             # 16, 17, 18, 19...
    client.uid -> int               # the integration user's id
    client.execute_kw(model, method, args=(), kwargs=None)
    client.search_read(model, domain, fields, *, limit=None, offset=0, order=None, context=None) -> list[dict]
    client.read(model, ids, fields, context=None) -> list[dict]
    client.load(model, fields, rows, context=None) -> {"ids": [...] | False, "messages": [...], "nextrow": 0}
    client.create / write / action_archive / fields_get / check_object_reference / xmlid_to_id
    client.read_back(model, ids, fields) -> list[dict]   # archived included, missing ids simply absent
    client.pull(model, since_write_date="", since_id=0, limit=None, *, fields=None, domain=(), page_size=500)
        -> iterator of pages (list[dict]) changed after (since_write_date, since_id), oldest first,
           archived included; each page's last record is the next watermark

``protocol="auto"`` asks ``common.version`` over JSON-RPC (no login needed) and then talks JSON-2 to Odoo 19
and later, JSON-RPC to 16-18. Errors: ``OdooError`` (``.name`` is Odoo's exception name, ``.transient`` says
whether a retry can help), ``OdooUnavailable`` (transient: no answer, or a 5xx without Odoo's error body).
The client never retries on its own: a call that may have committed is only ever resent by the caller, which
must be idempotent (external ids with ``load``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from sync.odoo.errors import VALUE_ERROR, OdooError, OdooUnavailable
from sync.odoo.transports import TRANSPORTS, JsonRpcTransport, Transport

__all__ = ["OdooClient", "OdooError", "OdooUnavailable", "major_of"]

#: Odoo's read limits are generous, but a page of a few hundred keeps every request well inside
#: ``limit_time_real`` (120 s by default).
PAGE_SIZE = 500
ARCHIVED_TOO = {"active_test": False}


def major_of(version: dict) -> int:
    """16 from ``{"server_version_info": [16, 0, 0, "final", 0, ""]}`` (or from "saas~17.2" strings)."""
    info = version.get("server_version_info") or []
    if info and isinstance(info[0], int):
        return info[0]
    match = re.search(r"(\d+)", str(version.get("server_version") or version.get("server_serie") or ""))
    if not match:
        raise OdooError("unknown_version", f"cannot tell the Odoo version from {version!r}", False)
    return int(match.group(1))


class OdooClient:
    def __init__(
        self,
        url: str,
        db: str,
        login: str,
        api_key: str,
        protocol: str = "auto",
        timeout: float = 30,
        *,
        company_id: int | None = None,
    ):
        if protocol not in ("auto", *TRANSPORTS):
            raise ValueError(f"unknown Odoo protocol {protocol!r}")
        self.url, self.db, self.login = url.rstrip("/"), db, login
        self._key = api_key
        self.protocol = protocol
        self.timeout = float(timeout)
        self.company_id = company_id
        self._version: dict | None = None
        self._transport: Transport | None = None
        self._xmlids: dict[str, int | None] = {}
        self._fields: dict[str, dict] = {}

    @classmethod
    def from_target(cls, target) -> OdooClient:
        return cls(
            target.url,
            target.database,
            target.login,
            target.secret,
            protocol=target.protocol or "auto",
            timeout=target.timeout_seconds or 30,
            company_id=target.company_id,
        )

    def __repr__(self) -> str:
        return f"<OdooClient {self.url} db={self.db!r} login={self.login!r} protocol={self.protocol}>"

    # -- connection ----------------------------------------------------------------------------------------------
    def _make(self, name: str) -> Transport:
        return TRANSPORTS[name](self.url, self.db, self.login, self._key, timeout=self.timeout)

    def version(self) -> dict:
        if self._version is None:
            if self.protocol == "auto":
                probe = JsonRpcTransport(self.url, self.db, self.login, self._key, timeout=self.timeout)
                self._version = probe.version()
                name = "json2" if major_of(self._version) >= 19 else "jsonrpc"
                self._transport = probe if name == "jsonrpc" else self._make(name)
            else:
                self._version = self.transport.version()
        return self._version

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            if self.protocol == "auto":
                self.version()
            else:
                self._transport = self._make(self.protocol)
        return self._transport

    @property
    def effective_protocol(self) -> str:
        return self.transport.name

    @property
    def major(self) -> int:
        return major_of(self.version())

    @property
    def server_version(self) -> str:
        return str(self.version().get("server_version", ""))

    @property
    def uid(self) -> int:
        transport = self.transport
        return transport.uid if transport.uid is not None else transport.authenticate()

    def authenticate(self) -> int:
        return self.transport.authenticate()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # -- calls ---------------------------------------------------------------------------------------------------
    def execute_kw(self, model: str, method: str, args: Sequence = (), kwargs: dict | None = None) -> Any:
        return self.transport.execute_kw(model, method, list(args), dict(kwargs or {}))

    @staticmethod
    def _with_context(kwargs: dict, context: dict | None) -> dict:
        if context:
            kwargs["context"] = dict(context)
        return kwargs

    def search_read(
        self,
        model: str,
        domain: Sequence,
        fields: Sequence[str],
        *,
        limit: int | None = None,
        offset: int = 0,
        order: str | None = None,
        context: dict | None = None,
    ) -> list[dict]:
        kwargs: dict[str, Any] = {"domain": [list(t) if isinstance(t, tuple) else t for t in domain]}
        kwargs["fields"] = list(fields)
        if offset:
            kwargs["offset"] = offset
        if limit is not None:
            kwargs["limit"] = limit
        if order:
            kwargs["order"] = order
        return self.execute_kw(model, "search_read", (), self._with_context(kwargs, context))

    def read(self, model: str, ids: Sequence[int], fields: Sequence[str], context: dict | None = None) -> list[dict]:
        return self.execute_kw(model, "read", [list(ids)], self._with_context({"fields": list(fields)}, context))

    def load(self, model: str, fields: Sequence[str], rows: Sequence[Sequence[str]], context=None) -> dict:
        """``model.load(fields, data)``: create or update by external id; nothing written if any row fails."""
        kwargs = self._with_context({"fields": list(fields), "data": [list(row) for row in rows]}, context)
        return self.execute_kw(model, "load", (), kwargs)

    def create(self, model: str, vals: dict | list[dict], context: dict | None = None):
        result = self.execute_kw(model, "create", (), self._with_context({"vals_list": vals}, context))
        if isinstance(vals, dict) and isinstance(result, list):  # JSON-2 always answers with a list
            return result[0]
        return result

    def write(self, model: str, ids: Sequence[int], vals: dict, context: dict | None = None) -> bool:
        return self.execute_kw(model, "write", [list(ids)], self._with_context({"vals": vals}, context))

    def action_archive(self, model: str, ids: Sequence[int]) -> Any:
        return self.execute_kw(model, "action_archive", [list(ids)])

    def fields_get(self, model: str, attributes: Sequence[str] = ("type", "required", "selection")) -> dict:
        """``{field: {attribute: value}}``, cached per client."""
        if model not in self._fields:
            self._fields[model] = self.execute_kw(model, "fields_get", (), {"attributes": list(attributes)})
        return self._fields[model]

    def check_object_reference(self, module: str, name: str) -> tuple[str, int] | None:
        """``(model, res_id)`` of an external id, None when Odoo has no such id (Odoo raises ValueError)."""
        try:
            found = self.execute_kw("ir.model.data", "check_object_reference", (), {"module": module, "xml_id": name})
        except OdooError as exc:
            if exc.name == VALUE_ERROR or (exc.code == 2 and "External ID not found" in exc.message):
                return None
            raise
        if not found or not found[1]:
            return None
        return str(found[0]), int(found[1])

    def xmlid_to_id(self, xmlid: str) -> int | None:
        """The database id behind ``module.name``, None when missing. Cached per client, except a missing
        ``__mdm__`` id: the hub may create it a moment later."""
        if xmlid in self._xmlids:
            return self._xmlids[xmlid]
        module, _, name = xmlid.partition(".")
        found = self.check_object_reference(module, name)
        record_id = found[1] if found else None
        if record_id is not None or module != "__mdm__":
            self._xmlids[xmlid] = record_id
        return record_id

    # -- for reconciliation and inbound pulls --------------------------------------------------------------------
    def read_back(self, model: str, ids: Sequence[int], fields: Sequence[str], *, page_size: int = PAGE_SIZE):
        """Read records by id, archived ones included; ids deleted at Odoo are simply not in the answer."""
        ids = [int(i) for i in ids]
        found: list[dict] = []
        for start in range(0, len(ids), page_size):
            chunk = ids[start : start + page_size]
            found.extend(self.search_read(model, [["id", "in", chunk]], fields, context=ARCHIVED_TOO))
        return found

    def pull(
        self,
        model: str,
        since_write_date: str = "",
        since_id: int = 0,
        limit: int | None = None,
        *,
        fields: Sequence[str] | None = None,
        domain: Sequence = (),
        page_size: int = PAGE_SIZE,
    ) -> Iterator[list[dict]]:
        """Pages of records written after the watermark ``(since_write_date, since_id)``, oldest first.

        Keyset paging on ``(write_date, id)``: a record written while the pull runs moves to the end instead of
        shifting an offset, and records sharing a write_date are split between pages without loss.
        """
        fields = list(dict.fromkeys([*(fields or []), "id", "write_date"]))
        write_date, last_id, left = since_write_date or "", int(since_id or 0), limit
        while left is None or left > 0:
            size = page_size if left is None else min(page_size, left)
            after = []
            if write_date:
                after = [
                    "|",
                    ["write_date", ">", write_date],
                    "&",
                    ["write_date", "=", write_date],
                    ["id", ">", last_id],
                ]
            elif last_id:
                after = [["id", ">", last_id]]
            page = self.search_read(
                model,
                [*after, *domain],
                fields,
                limit=size,
                order="write_date asc, id asc",
                context=ARCHIVED_TOO,
            )
            if not page:
                return
            yield page
            write_date, last_id = str(page[-1]["write_date"] or ""), int(page[-1]["id"])
            if left is not None:
                left -= len(page)
            if len(page) < size:
                return
