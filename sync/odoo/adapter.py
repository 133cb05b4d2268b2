"""The Odoo target adapter: hub deliveries -> ``load`` calls by external id (see ``sync.odoo.mappers``).

One batch is one entity type. Per batch: one ``load`` per Odoo model (suppliers: partners, then their bank
accounts). ``load`` is all-or-nothing; when it reports errors, the rows are isolated (the rows Odoo did not
flag go again together, each flagged row alone) so good rows land and each bad row gets Odoo's own message as
a permanent failure. Transient faults (no answer, HTTP 5xx, serialization/lock errors) raise
``TransientError`` for the whole batch: it is resent later, and since every row is keyed by its external id a
resend after a lost response updates the records the lost call created instead of creating them twice.

Retire and merge archive (``active`` = 0), never unlink. A merged supplier's ``product.supplierinfo`` rows at
Odoo (including rows Odoo users made) are first repointed to the survivor's partner, then the merged partner
is archived: "repoint, then archive", as Odoo's own partner merge does before it deletes. Standard units map
onto Odoo's own ``uom.uom`` records and are never written or archived.

For reconciliation and inbound pulls use the adapter's client (``OdooAdapter(target).client``, or
``OdooClient.from_target(target)``): ``client.read_back(model, ids, fields)`` and
``client.pull(model, since_write_date, since_id, limit)`` (see ``sync.odoo.client``).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from mdm import registry
from mdm.crypto import DecryptionError, mask
from mdm.payload_secrets import unseal
from sync.adapters.base import DeliveryItem, Outcome, TargetAdapter, TransientError, excerpt
from sync.models import KeyMap
from sync.odoo.client import ARCHIVED_TOO, OdooClient
from sync.odoo.errors import ACCESS_DENIED, ACCESS_ERROR, OdooError
from sync.odoo.mappers import BANK_MODEL, MODELS, Mapped, MappingError, Row, TargetInfo, mapper_for

log = logging.getLogger(__name__)

DEFAULT_SECRET_PATHS = ("bank_accounts.*.iban", "bank_accounts.*.account_number")


class LiveTarget(TargetInfo):
    """Answers the mapper's questions from the Odoo server (cached for the adapter's life)."""

    def __init__(self, client: OdooClient):
        self.client = client
        self._fields: dict[str, dict | None] = {}

    def xmlid_exists(self, xmlid: str) -> bool:
        return self.client.xmlid_to_id(xmlid) is not None

    def fields(self, model: str) -> dict | None:
        if model not in self._fields:
            try:
                self._fields[model] = self.client.fields_get(model)
            except OdooError as exc:
                if exc.transient:
                    raise
                log.warning("fields_get on %s refused (%s): sending all mapped columns", model, exc)
                self._fields[model] = None
        return self._fields[model]

    def has_field(self, model: str, name: str) -> bool | None:
        fields = self.fields(model)
        return None if fields is None else name in fields

    def selection(self, model: str, name: str) -> list[str] | None:
        fields = self.fields(model) or {}
        options = (fields.get(name) or {}).get("selection")
        return [option[0] for option in options] if isinstance(options, list) else None


@dataclass
class Loaded:
    """What ``load`` did with one row."""

    id: int | None = None
    error: str = ""
    response: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.id is not None and not self.error


class OdooAdapter(TargetAdapter):
    entity_types = ("unit", "supplier", "item", "contract_price")

    def __init__(self, target, *, client: OdooClient | None = None, today=None):
        super().__init__(target)
        self._client = client
        self.today = today
        self._secrets: set[str] = set()
        if getattr(target, "secret", ""):
            self._secrets.add(target.secret)

    @property
    def client(self) -> OdooClient:
        if self._client is None:
            self._client = OdooClient.from_target(self.target)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- contract --------------------------------------------------------------------------------------------
    def dependencies(self, entity_type: str, payload: dict) -> list[tuple[str, int]]:
        deps: list[tuple[str, int]] = []
        base = (payload.get("base_unit") or {}).get("id")
        if entity_type == "supplier" and payload.get("merged_into"):
            deps.append(("supplier", payload["merged_into"]))  # repointing needs the survivor at Odoo
        elif entity_type == "item" and base:
            deps.append(("unit", base))
        elif entity_type == "contract_price":
            deps += [("supplier", payload["supplier_id"]), ("item", payload["item_id"])]
            if base:
                deps.append(("unit", base))
        return deps

    def check(self) -> dict:
        """Connect, log in, detect the version; stores ``detected_version`` and ``version_checked_at``."""
        version = self.client.version()
        uid = self.client.uid
        self.target.detected_version = str(version.get("server_version", ""))[:32]
        self.target.version_checked_at = timezone.now()
        if getattr(self.target, "pk", None):
            self.target.save(update_fields=["detected_version", "version_checked_at"])
        return {
            "server_version": self.target.detected_version,
            "major": self.client.major,
            "protocol": self.client.effective_protocol,
            "uid": uid,
        }

    def deliver(self, items: list[DeliveryItem]) -> list[Outcome]:
        if not items:
            return []
        try:
            return self._deliver(items)
        except OdooError as exc:
            message = self.redact(str(exc))
            if exc.transient:
                raise TransientError(
                    message, request_excerpt=self._batch_excerpt(items), response_excerpt=message
                ) from exc
            # refused before any row could be told apart (login, access rights): every row gets the answer
            return [Outcome(ok=False, transient=False, error=message, response_excerpt=message) for _ in items]
        except MappingError as exc:  # e.g. an Odoo version this connector does not know
            return [Outcome(ok=False, transient=False, error=str(exc)) for _ in items]

    def _remember_version(self) -> None:
        """The version this run talks to, on the target (operations see an upgrade without a manual check)."""
        version = str(self.client.version().get("server_version", ""))[:32]
        if version and version != self.target.detected_version:
            self.target.detected_version = version
            self.target.version_checked_at = timezone.now()
            type(self.target).objects.filter(pk=self.target.pk).update(
                detected_version=version, version_checked_at=self.target.version_checked_at
            )

    # -- delivering ------------------------------------------------------------------------------------------
    def _deliver(self, items: list[DeliveryItem]) -> list[Outcome]:
        live = LiveTarget(self.client)
        self._remember_version()
        mapper = mapper_for(self.client.major, company_id=self.target.company_id, target=live, today=self.today)
        outcomes: list[Outcome | None] = [None] * len(items)
        mapped: dict[int, Mapped] = {}
        for n, item in enumerate(items):
            try:
                payload = self._unsealed(item)
                mapped[n] = mapper.map(item.entity_type, payload, refs=item.refs, archive=item.archive)
            except (MappingError, DecryptionError) as exc:
                outcomes[n] = Outcome(ok=False, transient=False, error=self.redact(str(exc)))
        # Standard units are Odoo's own records: look them up, never write them.
        for n, m in list(mapped.items()):
            if m.standard_xmlid:
                outcomes[n] = self._standard_unit(m)
                del mapped[n]
        # A merged supplier's vendor prices move to the survivor before the supplier is archived.
        for n, m in list(mapped.items()):
            if m.survivor_xmlid:
                try:
                    self._repoint_supplierinfo(m)
                except (MappingError, OdooError) as exc:
                    if isinstance(exc, OdooError) and exc.transient:
                        raise
                    outcomes[n] = Outcome(ok=False, transient=False, error=self.redact(f"merge not done: {exc}"))
                    del mapped[n]
        order = list(mapped)
        rows = [mapped[n].row for n in order]
        if rows:
            loaded = self._load(rows[0].model, rows, live)
            for n, result in zip(order, loaded, strict=True):
                outcomes[n] = self._outcome(mapped[n], result)
        suppliers = {n: m for n, m in mapped.items() if m.entity_type == "supplier" and outcomes[n].ok}
        if suppliers:
            self._sync_banks(items, suppliers, outcomes, live)
        return outcomes

    def _unsealed(self, item: DeliveryItem) -> dict:
        """Suppliers' bank numbers in clear for Odoo; each clear number joins the redaction list."""
        if item.entity_type != "supplier":
            return item.payload
        paths = tuple(registry.get("supplier").secret_paths) or DEFAULT_SECRET_PATHS
        clear = unseal(item.payload, paths)
        for account in clear.get("bank_accounts") or []:
            for key in ("iban", "account_number"):
                value = account.get(key)
                if isinstance(value, str) and value:
                    self._secrets.update({value, value.replace(" ", "")})
        return clear

    def _standard_unit(self, m: Mapped) -> Outcome:
        record_id = self.client.xmlid_to_id(m.standard_xmlid)
        return Outcome(
            ok=True,
            target_ref=str(record_id or ""),
            target_model=m.model,
            external_id=m.standard_xmlid,
            request_excerpt=f"uom.uom {m.standard_xmlid}: Odoo's own unit, nothing written",
            response_excerpt=json.dumps({"id": record_id}),
            sent_payload=m.sent_payload(),
        )

    def _repoint_supplierinfo(self, m: Mapped) -> int:
        merged = self.client.xmlid_to_id(m.row.external_id)
        if not merged:
            return 0  # never reached Odoo: nothing points at it
        survivor = self.client.xmlid_to_id(m.survivor_xmlid)
        if not survivor:
            raise MappingError(
                f"the survivor {m.survivor_xmlid} of this merge is not at Odoo, so its vendor prices can't be moved"
            )
        lines = self.client.search_read(
            MODELS["contract_price"], [["partner_id", "=", merged]], ["id"], context=ARCHIVED_TOO
        )
        ids = [line["id"] for line in lines]
        if ids:
            self.client.write(MODELS["contract_price"], ids, {"partner_id": survivor})
        log.info("merge: %d vendor price line(s) moved from partner %s to %s", len(ids), merged, survivor)
        return len(ids)

    def _columns(self, model: str, rows: list[Row], live: LiveTarget) -> list[str]:
        """Every mapped column the target's model has (``fields_get``), in mapping order."""
        columns = list(dict.fromkeys(column for row in rows for column in row.values))
        return [c for c in columns if live.has_field(model, c.split("/", 1)[0]) is not False]

    def _load(self, model: str, rows: list[Row], live: LiveTarget) -> list[Loaded]:
        columns = self._columns(model, rows, live)
        for row in rows:  # what is recorded as sent is what Odoo got
            row.values = {c: row.values[c] for c in columns if c in row.values}
            row.shown = {c: v for c, v in row.shown.items() if c in row.values}
        results: list[Loaded | None] = [None] * len(rows)
        self._load_into(model, columns, list(range(len(rows))), rows, results)
        return results

    def _load_into(self, model, columns, indexes, rows, results) -> None:
        data = [[rows[i].external_id, *(rows[i].values.get(c, "") for c in columns)] for i in indexes]
        try:
            answer = self.client.load(model, ["id", *columns], data)
        except OdooError as exc:
            if exc.transient:
                raise
            if len(indexes) == 1 or exc.name in (ACCESS_DENIED, ACCESS_ERROR):
                for i in indexes:
                    results[i] = Loaded(error=self.redact(f"{exc.short_name}: {exc.message}"))
                return
            for i in indexes:
                self._load_into(model, columns, [i], rows, results)
            return
        answer = answer if isinstance(answer, dict) else {"ids": False, "messages": [{"message": repr(answer)}]}
        ids = answer.get("ids") or []
        messages = answer.get("messages") or []
        errors = [m for m in messages if m.get("type", "error") == "error"]
        if ids and not errors and len(ids) == len(indexes):
            for i, record_id in zip(indexes, ids, strict=True):
                results[i] = Loaded(id=int(record_id), response={"id": record_id, "messages": messages})
            return
        if len(indexes) == 1:
            text = "; ".join(str(m.get("message", "")) for m in errors) or "load wrote nothing and said nothing"
            results[indexes[0]] = Loaded(error=self.redact(text), response=answer)
            return
        flagged = {
            indexes[m["record"]] for m in errors if isinstance(m.get("record"), int) and 0 <= m["record"] < len(indexes)
        }
        rest = [i for i in indexes if i not in flagged]
        if flagged and rest:
            self._load_into(model, columns, rest, rows, results)
            for i in sorted(flagged):
                self._load_into(model, columns, [i], rows, results)
        else:
            for i in indexes:
                self._load_into(model, columns, [i], rows, results)

    def _outcome(self, m: Mapped, result: Loaded) -> Outcome:
        request = self.redact(
            json.dumps({"model": m.model, "method": "load", "id": m.external_id, "values": m.row.sent()}, default=str)
        )
        response = self.redact(json.dumps(result.response, default=str))
        if not result.ok:
            return Outcome(
                ok=False,
                transient=False,
                error=f"Odoo refused {m.model} {m.external_id}: {result.error}",
                target_model=m.model,
                external_id=m.external_id,
                request_excerpt=request,
                response_excerpt=response,
            )
        return Outcome(
            ok=True,
            target_ref=str(result.id),
            target_model=m.model,
            external_id=m.external_id,
            request_excerpt=request,
            response_excerpt=response,
            sent_payload=m.sent_payload(),
        )

    # -- bank accounts ---------------------------------------------------------------------------------------
    def _previous_banks(self, object_ids) -> dict[int, list[str]]:
        keys = KeyMap.objects.filter(target=self.target, entity_type="supplier", object_id__in=object_ids)
        return {
            key.object_id: [bank.get("id") for bank in (key.last_payload or {}).get("_bank_accounts") or []]
            for key in keys
        }

    def _sync_banks(self, items, suppliers: dict[int, Mapped], outcomes, live: LiveTarget) -> None:
        """Load the bank accounts of the partners that landed; archive the ones the hub no longer has."""
        previous = self._previous_banks([m.object_id for m in suppliers.values()]) if self.target.pk else {}
        active = {n: m for n, m in suppliers.items() if not items[n].archive}
        for n, m in suppliers.items():
            if items[n].archive:  # an archived partner keeps its accounts as they were
                outcomes[n].sent_payload["_bank_accounts"] = [{"id": x} for x in previous.get(m.object_id, [])]
        rows, owner = [], []
        for n, m in active.items():
            rows.extend(m.banks)
            owner.extend([n] * len(m.banks))
        if rows:
            loaded = self._load(BANK_MODEL, rows, live)
            failed = defaultdict(list)
            for n, row, result in zip(owner, rows, loaded, strict=True):
                if not result.ok:
                    failed[n].append(f"bank account {row.shown.get('acc_number', '')}: {result.error}")
            for n, errors in failed.items():
                outcome = outcomes[n]
                outcome.ok, outcome.transient = False, False
                outcome.error = self.redact(f"the partner landed but Odoo refused {'; '.join(errors)}")
            for n in active:
                outcomes[n].sent_payload["_bank_accounts"] = [
                    {"id": b.external_id, **b.sent()} for b in active[n].banks
                ]
        # accounts sent before and gone from the hub: archived, if they still belong to this partner
        dropped = {}
        for n, m in active.items():
            current = {bank.external_id for bank in m.banks}
            for external in previous.get(m.object_id, []):
                if external and external not in current:
                    dropped[external] = int(outcomes[n].target_ref or 0)
        if not dropped:
            return
        candidates = {self.client.xmlid_to_id(x): partner for x, partner in dropped.items()}
        candidates.pop(None, None)
        if not candidates:
            return
        still = self.client.search_read(
            BANK_MODEL, [["id", "in", list(candidates)]], ["id", "partner_id"], context=ARCHIVED_TOO
        )
        ids = [r["id"] for r in still if _m2o_id(r.get("partner_id")) == candidates.get(r["id"])]
        if ids:
            self.client.action_archive(BANK_MODEL, ids)

    # -- excerpts --------------------------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        """No API key and no clear bank number in anything kept or logged."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret and len(secret) >= 4:
                text = text.replace(secret, mask(secret))
        return text

    def _batch_excerpt(self, items: list[DeliveryItem]) -> str:
        head = ", ".join(f"{i.entity_type} {i.object_id} v{i.version}" for i in items[:20])
        more = f" and {len(items) - 20} more" if len(items) > 20 else ""
        return excerpt(f"{self.target.url} ({self.target.database}): load of {head}{more}")


def _m2o_id(value) -> int | None:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    if isinstance(value, int) and value:
        return value
    return None
