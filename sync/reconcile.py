"""Reconciliation: read back what an Odoo target holds for every record the hub delivered, and turn drift into
steward tasks.

``reconcile_target(target)`` walks the target's key map per Odoo model, reads the records back in pages of ids
(archived ones included) and compares each with what the hub last sent (``KeyMap.last_payload``, the mapped
columns of ``sync.odoo.mappers``). The comparison follows Odoo's read format: a many2one reads as
``[id, name]`` while the hub sent an external id (``country_id/id`` = ``base.us``, resolved through the key map or
``ir.model.data.check_object_reference``) or a database id (``company_id/.id``); floats against decimal strings
(rounded to the field's digits when ``fields_get`` gives them: Odoo rounds prices to its own precision);
booleans against "1"/"0"; ``False`` for an empty value against ""; dates as ``YYYY-MM-DD``; ``supplier_rank``
as "a vendor or not" (Odoo counts bills in it). A supplier's active bank accounts are compared by their last
four characters (never the numbers): an account added, changed or removed at Odoo is drift (``bank_accounts``).
Other connector notes (``_...``), x2many columns and
``categ_id`` (sent only because Odoo 16-18 require a category; users file products in their own) are not
compared.

A record that differs opens (or refreshes) one ``StewardTask`` of kind ``sync_drift`` per target and record
(``dedupe_key`` ``sync_drift:<target>:<entity type>:<golden id>``) with ``details`` = ``{"target_id",
"target", "target_model", "target_ref", "external_id", "missing", "fields": {field: {"hub": sent, "target":
read}}}``. A record deleted at Odoo is drift too (``missing``). A record that matches again resolves its open
task. The steward answers a drift task with ``drift_repush`` (send the hub's current version to that target
again) or ``drift_adopt`` (take Odoo's values as a source record, through survivorship and change requests).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from mdm import registry
from mdm.choices import IngestOutcome, LinkMethod
from mdm.context import current_correlation_id, new_correlation_id
from mdm.models import Crosswalk, SourceRecord, StewardTask
from mdm.services.golden import crosswalk_link, survivorship_after_commit
from mdm.services.tasks import task_close, task_open
from sync.engine import matches
from sync.inbound import ENTITY_OF, FIELDS, Inbound, ingest_mapped, map_records, source_system_for
from sync.models import Delivery, KeyMap, OutboxEvent, SyncRun, Target
from sync.odoo.client import OdooClient
from sync.odoo.errors import OdooError
from sync.odoo.mappers import BANK_MODEL

log = logging.getLogger(__name__)

DRIFT = "sync_drift"
PAGE_SIZE = 500
SKIPPED_TYPES = {"one2many", "many2many", "binary"}
#: Columns the hub sends only because Odoo requires a value, not as master data it governs: Odoo users file
#: products in their own categories.
NOT_GOVERNED = {"categ_id"}
#: Counters Odoo moves by itself: ``supplier_rank`` grows with every vendor bill; "a vendor" is what was sent.
RANKS = {"supplier_rank", "customer_rank"}
_TRUE = {"1", "true", "True", "yes"}


class DriftError(Exception):
    """A drift task can't be answered this way (the record is gone at Odoo, the task is closed...)."""


def drift_key(target_id: int, entity_type: str, object_id: int) -> str:
    return f"sync_drift:{target_id}:{entity_type}:{object_id}"


def _text(value) -> str:
    return "" if value is None or value is False else str(value).strip()


def _m2o_id(value) -> int | None:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool) and value:
        return value
    return None


def _number(value) -> Decimal | None:
    if value in (None, False, ""):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def expected_columns(sent_payload: dict) -> dict[str, tuple[str, object]]:
    """``{odoo field: (how, value)}`` from what was sent; ``how`` is "xmlid" (``x/id``), "dbid" (``x/.id``)
    or "" (a plain value). Connector notes (``_...``) and the row's own ``id`` are left out."""
    expected = {}
    for column, value in (sent_payload or {}).items():
        if column.startswith("_") or column in ("id", ".id"):
            continue
        name, _, suffix = column.partition("/")
        if name in NOT_GOVERNED:
            continue
        expected[name] = ({"id": "xmlid", ".id": "dbid"}.get(suffix, ""), value)
    return expected


def _last4(number) -> str:
    return "••••" + re.sub(r"\W+", "", str(number or "")).upper()[-4:]


def sent_bank_accounts(sent_payload: dict) -> list[str] | None:
    """The masked numbers of the bank accounts sent with a supplier (None when not known: an archived partner
    keeps whatever it had)."""
    accounts = (sent_payload or {}).get("_bank_accounts")
    if accounts is None or any("acc_number" not in account for account in accounts):
        return None
    return sorted(_last4(account["acc_number"]) for account in accounts if account.get("acc_number"))


class Comparer:
    """Compares one model's read-back values with what was sent, tolerant to Odoo's read format."""

    def __init__(self, target: Target, client: OdooClient, model: str):
        self.target, self.client, self.model = target, client, model
        try:
            self.fields = client.fields_get(model, ("type", "digits", "relation"))
        except OdooError as exc:
            if exc.transient:
                raise
            log.warning("fields_get on %s refused (%s): inferring field types from the values", model, exc)
            self.fields = None
        self._xmlids: dict[str, int | None] = {}

    def readable(self, names) -> list[str]:
        names = list(dict.fromkeys(names))
        if self.fields is None:
            return names
        return [n for n in names if n in self.fields and self.fields[n].get("type") not in SKIPPED_TYPES]

    def resolve(self, xmlids) -> None:
        """Database ids of external ids: the hub's own through the key map, others through Odoo (cached)."""
        wanted = {x for x in xmlids if x and x not in self._xmlids}
        if not wanted:
            return
        for external_id, ref in KeyMap.objects.filter(target=self.target, external_id__in=wanted).values_list(
            "external_id", "target_ref"
        ):
            if ref.isdigit():
                self._xmlids[external_id] = int(ref)
        for xmlid in sorted(wanted - set(self._xmlids)):
            self._xmlids[xmlid] = self.client.xmlid_to_id(xmlid) if "." in xmlid else None

    def bank_accounts(self, partner_ids: list[int]) -> dict[int, list[str]] | None:
        """Active bank accounts per partner, masked (last 4 only): accounts a user added, changed or removed
        at Odoo are how payments get diverted. None when Odoo won't show them to the integration user."""
        if self.model != "res.partner" or not partner_ids:
            return None
        try:
            rows = self.client.search_read(
                BANK_MODEL, [["partner_id", "in", partner_ids]], ["acc_number", "partner_id"]
            )
        except OdooError as exc:
            if exc.transient:
                raise
            log.warning("bank accounts at %s not readable (%s): not compared", self.target, exc)
            return None
        found = defaultdict(list)
        for row in rows:
            found[_m2o_id(row.get("partner_id"))].append(_last4(row.get("acc_number")))
        return {partner: sorted(found.get(partner, [])) for partner in partner_ids}

    def same(self, name: str, how: str, sent, read) -> bool:
        info = (self.fields or {}).get(name) or {}
        kind = info.get("type") or ""
        if name in RANKS:
            want, have = _number(sent), _number(read)
            return want is not None and have is not None and (want > 0) == (have > 0)
        if how or kind == "many2one" or (isinstance(read, list | tuple) and len(read) == 2):
            have = _m2o_id(read)
            if _text(sent) == "":
                return have is None
            if how == "xmlid":
                want = self._xmlids.get(_text(sent))
            else:
                want = int(sent) if str(sent).strip().isdigit() else None
            return want is not None and want == have
        if kind == "boolean" or isinstance(read, bool) and (read or _text(sent) in ("", "0", "1", "True", "False")):
            return (_text(sent) in _TRUE or sent is True) == bool(read)
        if kind in ("float", "monetary", "integer") or (isinstance(read, int | float) and not isinstance(read, bool)):
            want, have = _number(sent), _number(read)
            if want is None or have is None:
                return _text(sent) == _text(read)
            digits = info.get("digits")
            if isinstance(digits, list | tuple) and len(digits) == 2 and isinstance(digits[1], int):
                step = Decimal(1).scaleb(-digits[1])
                want, have = want.quantize(step), have.quantize(step)
            return abs(want - have) <= Decimal("1e-9")
        if kind == "date":
            return _text(sent)[:10] == _text(read)[:10]
        return _text(sent) == _text(read)


def _label(entity_type: str, object_id: int) -> str:
    spec = registry.get(entity_type)
    obj = spec.model._default_manager.filter(pk=object_id).first()
    return f"{spec.label.lower()} {object_id}" + (f" '{obj}'" if obj is not None else "")


def _open_drift(target: Target, key: KeyMap, *, fields: dict, missing: bool) -> tuple[StewardTask, bool]:
    what = _label(key.entity_type, key.object_id)
    if missing:
        title = f"{target.name}: {what} is missing in Odoo ({key.target_model} {key.target_ref} was deleted there)"
    else:
        title = f"{target.name}: {what} was changed in Odoo ({', '.join(sorted(fields))})"
    return task_open(
        kind=DRIFT,
        entity_type=key.entity_type,
        object_id=key.object_id,
        title=title[:255],
        dedupe_key=drift_key(target.pk, key.entity_type, key.object_id),
        details={
            "target_id": target.pk,
            "target": target.name,
            "target_model": key.target_model,
            "target_ref": key.target_ref,
            "external_id": key.external_id,
            "missing": missing,
            "fields": fields,
        },
        priority=StewardTask.Priority.NORMAL,
    )


def reconcile_target(target: Target, *, actor=None, page_size: int = PAGE_SIZE) -> SyncRun:
    """Read back every record the hub delivered to ``target`` (Odoo) and compare it with what was sent.

    Figures: ``checked`` (records read back), ``drifted`` (changed at Odoo: a task opened or refreshed),
    ``missing`` (deleted at Odoo: a task too), ``resolved`` (open drift tasks closed because the record matches
    again). An Odoo error stops the run: failed, with the message (the figures so far are kept).
    """
    if target.kind != Target.Kind.ODOO:
        raise ValueError(f"target {target} is not an Odoo target")
    run = SyncRun.objects.create(
        target=target,
        kind=SyncRun.Kind.RECONCILE,
        figures={"checked": 0, "drifted": 0, "missing": 0, "resolved": 0},
    )
    client = OdooClient.from_target(target)
    try:
        keys = KeyMap.objects.filter(target=target).exclude(target_ref="").exclude(target_model="")
        for model in sorted(set(keys.values_list("target_model", flat=True))):
            comparer = Comparer(target, client, model)
            # ids first: each page updates the rows it read (checked_at), which an open cursor must not see
            pks = list(keys.filter(target_model=model).order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(pks), page_size):
                page = list(KeyMap.objects.filter(pk__in=pks[start : start + page_size]).order_by("pk"))
                _check_page(run, comparer, page, actor=actor)
    except OdooError as exc:
        log.warning("reconciliation of %s failed: %s", target, exc)
        run.status, run.error = "failed", str(exc)[:4000]
    except Exception as exc:
        run.status, run.error, run.finished_at = "failed", str(exc)[:4000], timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "figures"])
        raise
    else:
        run.status = "done"
    finally:
        client.close()
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "figures"])
    return run


def _check_page(run: SyncRun, comparer: Comparer, page: list[KeyMap], *, actor) -> None:
    target = comparer.target
    expected = {key.pk: expected_columns(key.last_payload) for key in page}
    names = comparer.readable(name for columns in expected.values() for name in columns)
    ids = [int(key.target_ref) for key in page if key.target_ref.isdigit()]
    rows = {row["id"]: row for row in comparer.client.read_back(comparer.model, ids, names or ["id"])}
    banks = comparer.bank_accounts([i for i in ids if i in rows])
    comparer.resolve(_text(value) for columns in expected.values() for how, value in columns.values() if how == "xmlid")
    open_tasks = {
        task.dedupe_key: task
        for task in StewardTask.objects.filter(
            kind=DRIFT,
            status=StewardTask.Status.OPEN,
            dedupe_key__in=[drift_key(target.pk, key.entity_type, key.object_id) for key in page],
        )
    }
    figures = run.figures
    with transaction.atomic():
        for key in page:
            figures["checked"] += 1
            row = rows.get(int(key.target_ref)) if key.target_ref.isdigit() else None
            if row is None:
                figures["missing"] += 1
                _open_drift(target, key, fields={}, missing=True)
                continue
            diffs = {
                name: {"hub": sent, "target": row.get(name)}
                for name, (how, sent) in expected[key.pk].items()
                if name in row and not comparer.same(name, how, sent, row.get(name))
            }
            sent_banks = sent_bank_accounts(key.last_payload)
            if banks is not None and sent_banks is not None and banks.get(row["id"], []) != sent_banks:
                diffs["bank_accounts"] = {"hub": sent_banks, "target": banks.get(row["id"], [])}
            if diffs:
                figures["drifted"] += 1
                _open_drift(target, key, fields=diffs, missing=False)
                continue
            task = open_tasks.get(drift_key(target.pk, key.entity_type, key.object_id))
            if task is not None:
                task_close(
                    task,
                    actor=actor,
                    note=f"Reconciliation {timezone.now():%Y-%m-%d %H:%M}: {key.target_model} {key.target_ref} at "
                    f"{target.name} matches what the hub sent again.",
                )
                figures["resolved"] += 1
        KeyMap.objects.filter(pk__in=[key.pk for key in page]).update(checked_at=timezone.now())
        run.save(update_fields=["figures"])


# -- answering a drift task ---------------------------------------------------------------------------------------
def _drift_context(task: StewardTask) -> tuple[Target, KeyMap]:
    if task.kind != DRIFT:
        raise DriftError(f"task {task.pk} is a {task.kind} task, not a sync drift")
    if task.status != StewardTask.Status.OPEN:
        raise DriftError(f"task {task.pk} is {task.status} already")
    target = Target.objects.filter(pk=(task.details or {}).get("target_id")).first()
    if target is None:
        raise DriftError(f"the target of task {task.pk} no longer exists")
    key = KeyMap.objects.filter(target=target, entity_type=task.entity_type, object_id=task.object_id).first()
    if key is None:
        raise DriftError(f"{target} has no key map entry for {task.entity_type} {task.object_id}")
    return target, key


@transaction.atomic
def drift_repush(task: StewardTask, *, actor) -> OutboxEvent:
    """Send the record's current version to the drifted target again (a ``resync`` event, delivered to that
    target only: the other targets did not drift) and resolve the task."""
    from sync.outbox import kick_after_commit, publish_current

    task = StewardTask.objects.select_for_update().get(pk=task.pk)
    target, key = _drift_context(task)
    subscription = target.subscriptions.filter(entity_type=task.entity_type, enabled=True).first()
    if subscription is None:
        raise DriftError(f"{target} no longer subscribes to {task.entity_type} records: nothing to re-push")
    correlation = current_correlation_id() or new_correlation_id()
    event = publish_current(task.entity_type, task.object_id, correlation_id=correlation)
    event.dispatched_at = timezone.now()
    event.save(update_fields=["dispatched_at"])
    Delivery.objects.create(
        target=target,
        event=event,
        entity_type=event.entity_type,
        object_id=event.object_id,
        version=event.version,
        archive=not matches(subscription.filters, event.payload),
        correlation_id=event.correlation_id,
    )
    kick_after_commit()
    task_close(
        task,
        actor=actor,
        note=f"Re-pushed: version {event.version} sent to {target.name} again ({key.target_model} "
        f"{key.target_ref}; event {event.event_id}, correlation {correlation}).",
    )
    return event


def drift_adopt(task: StewardTask, *, actor) -> SourceRecord:
    """Take the target's values: read the Odoo record and store it as a source record of the target's source
    system, linked to the drifted golden record, so survivorship proposes Odoo's values as a change request the
    usual way. Resolves the task with a note naming the source record. A record that fails validation is
    quarantined and the task stays open (``DriftError`` with the reasons)."""
    target, key = _drift_context(task)
    model = key.target_model
    if model not in ENTITY_OF or ENTITY_OF[model] != task.entity_type:
        raise DriftError(f"{task.entity_type} records are not taken over from Odoo ({model}): re-push instead")
    client = OdooClient.from_target(target)
    try:
        system = source_system_for(target)
        ctx = Inbound(target, client, system)
        rows = client.read_back(model, [int(key.target_ref)], ctx.available(model, FIELDS[model]))
        if not rows:
            raise DriftError(
                f"{model} {key.target_ref} is gone at {target.name}: nothing to take over; re-push instead"
            )
        batches, _skipped = map_records(ctx, model, rows)
    finally:
        client.close()
    external_id = str(rows[0]["id"])
    with transaction.atomic():
        task = StewardTask.objects.select_for_update().get(pk=task.pk)
        if task.status != StewardTask.Status.OPEN:
            raise DriftError(f"task {task.pk} is {task.status} already")
        results = ingest_mapped(ctx, batches, actor=actor, match=False, filename=f"{target.name}: adopted {model}")
        result = next((r for r in results.get(task.entity_type, []) if r.external_id == external_id), None)
        rejected = result is None or result.outcome == IngestOutcome.REJECTED
        if not rejected:
            record = SourceRecord.objects.get(pk=result.source_record_id)
            crosswalk = Crosswalk.objects.select_for_update().get(pk=record.crosswalk_id)
            if crosswalk.golden_id is None:
                crosswalk_link(crosswalk, golden_id=task.object_id, method=LinkMethod.STEWARD, actor=actor)
                linked = f"linked to {task.entity_type} {task.object_id}"
            elif crosswalk.golden_id == task.object_id:
                survivorship_after_commit(task.entity_type, task.object_id, actor=actor)
                linked = f"already linked to {task.entity_type} {task.object_id}"
            else:
                linked = f"linked to {task.entity_type} {crosswalk.golden_id}, not to {task.object_id}: check the link"
            flow = (
                "survivorship proposes its values as a change request"
                if registry.get(task.entity_type).stewardship is not None
                else "compare and edit the record by hand"
            )
            task_close(
                task,
                actor=actor,
                note=f"Adopted from {target.name}: {model} {key.target_ref} stored as source record {record.pk} "
                f"({system.name} {task.entity_type} {external_id} v{record.version}), {linked}; {flow}.",
            )
    if rejected:
        errors = result.errors if result is not None else {}
        raise DriftError(f"{model} {key.target_ref} from {target.name} failed validation and was quarantined: {errors}")
    return record
