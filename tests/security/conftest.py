"""A small world of real records and one user per role, built once per module (the URL matrix, the fuzzing).

``world`` is built inside a transaction that is rolled back when the module ends (as Django's
``setUpTestData`` does); each test's own ``db`` transaction nests inside it as a savepoint, so a test that
approves or replays something leaves the next test the same world.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from mdm import roles

IBAN = "DE89370400440532013000"

# Who calls: anonymous, a signed-in account without any role, one account per role, a superuser, and a viewer with an
# access limit (items of UNSPSC segment 53 only; the world's item is in segment 42).
CALLERS = (
    "anonymous",
    "outsider",
    roles.VIEWER,
    roles.STEWARD,
    roles.APPROVER,
    roles.INTEGRATION,
    roles.OPERATIONS,
    roles.AUDITOR,
    "superuser",
    "limited",
)


def _users() -> dict:
    from guardian.shortcuts import assign_perm

    from mdm.models import AccessLimit, ApprovalScope

    users = {"anonymous": None}
    users["outsider"] = User.objects.create_user("sec.outsider", password="x")
    for role in (roles.VIEWER, roles.STEWARD, roles.APPROVER, roles.INTEGRATION, roles.OPERATIONS, roles.AUDITOR):
        user = User.objects.create_user(f"sec.{role}", password="x")
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    scope, _ = ApprovalScope.objects.get_or_create(name="All records")
    assign_perm("mdm.approve_in_scope", users[roles.APPROVER], scope)
    users["superuser"] = User.objects.create_superuser("sec.admin", email="admin@example.org", password="x")
    users["limited"] = User.objects.create_user("sec.limited", password="x")
    users["limited"].groups.add(Group.objects.get(name=roles.VIEWER))
    AccessLimit.objects.create(
        name="Segment 53 only", user=users["limited"], entity_type="item", attribute="category", values=["53"]
    )
    return users


def _golden(steward) -> dict:
    from contracts.services import contract_create, contract_price_create
    from items.services import item_create
    from suppliers.services import supplier_create
    from uom.services import unit_create

    units = {
        code: unit_create(code=code, name=name, dimension="count", actor=steward, reason="test")
        for code, name in (("EA", "Each"), ("BX", "Box"))
    }
    supplier = supplier_create(
        data={
            "legal_name": "Medline Industries, LP",
            "ein": "36-1234567",
            "duns": "025483210",
            "addresses": [
                {"kind": "remit_to", "line1": "3 Lakes Dr", "city": "Northfield", "region": "IL", "country": "US"}
            ],
            "bank_accounts": [{"holder_name": "Medline Industries", "bank_name": "Commerzbank", "iban": IBAN}],
        },
        actor=steward,
        reason="test",
    )
    other = supplier_create(data={"legal_name": "Medline Ind LP", "duns": "041629111"}, actor=steward, reason="test")
    item = item_create(
        data={
            "description": "Nitrile exam glove, large, powder-free",
            "manufacturer_name": "PULMODYNE INC",
            "manufacturer_part_number": "313-71-015",
            "item_type": "med_surg",
            "unspsc": "42271706",
            "base_unit": "EA",
            "packaging": [{"unit": "EA", "quantity": 1}, {"unit": "BX", "quantity": 10}],
        },
        actor=steward,
        reason="test",
    )
    contract = contract_create(
        number="VZ-2026-001",
        supplier=supplier,
        kind="gpo",
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        currency="USD",
        actor=steward,
        reason="test",
    )
    price = contract_price_create(
        contract=contract,
        item=item,
        unit=units["BX"],
        price="10.00",
        min_quantity=1,
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        actor=steward,
        reason="test",
    )
    return {
        "unit": units["BX"],
        "supplier": supplier,
        "bank_account": supplier.bank_accounts.first(),
        "other_supplier": other,
        "item": item,
        "contract": contract,
        "price": price,
    }


def _sources(steward, supplier, other) -> dict:
    from mdm.models import DecisionLog, IngestBatch, MatchCandidate, MatchDecision, MatchRun, SourceRecord, SourceSystem
    from mdm.services.changes import change_request_create
    from mdm.services.ingest import source_records_ingest

    system = SourceSystem.objects.create(name="distributor-catalog", kind="file", trust_rank=20)
    source_records_ingest(
        system=system,
        entity_type="supplier",
        records=[
            {"external_id": "C-1", "payload": {"legal_name": "MEDLINE IND", "duns": "025483210"}},
            {"external_id": "C-2", "payload": {"legal_name": "Cardinal", "duns": "not-a-duns"}},
        ],
        actor=steward,
        match=False,
    )
    record = SourceRecord.objects.get(system=system, external_id="C-1")
    run = MatchRun.objects.create(entity_type="supplier", mode=MatchRun.Mode.BATCH, status=MatchRun.Status.DONE)
    candidate = MatchCandidate.objects.create(
        entity_type="supplier",
        kind=MatchCandidate.Kind.DUPLICATE,
        left_ref=f"g:{supplier.pk}",
        right_ref=f"g:{other.pk}",
        left_golden_id=supplier.pk,
        right_golden_id=other.pk,
        probability=0.9,
        match_weight=3.2,
        band=MatchCandidate.Band.REVIEW,
        explanation={"match_weight": 3.2, "probability": 0.9, "fields": []},
        run=run,
    )
    decision = MatchDecision.objects.create(
        entity_type="supplier", left_ref="g:1", right_ref="g:2", is_match=False, reason="different DUNS"
    )
    change = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=supplier.pk,
        changes={"legal_name": "Medline Industries, L.P."},
        actor=steward,
        reason="legal name per W-9",
    )
    log = DecisionLog.objects.create(
        action=DecisionLog.Action.DISTINCT, actor=steward, entity_type="supplier", summary="Not a match"
    )
    return {
        "system": system,
        "source_record": record,
        "batch": IngestBatch.objects.get(system=system),
        "run": run,
        "candidate": candidate,
        "decision": decision,
        "change": change,
        "decision_log": log,
    }


def _syndication(supplier) -> dict:
    from sync.models import Delivery, KeyMap, OutboxEvent, Target

    target = Target.objects.create(name="partner-hook", kind=Target.Kind.WEBHOOK, url="http://127.0.0.1:9/hook")
    event = OutboxEvent.objects.create(
        entity_type="supplier",
        object_id=supplier.pk,
        version=1,
        change_type="create",
        payload={"entity_type": "supplier", "id": supplier.pk, "version": 1},
        dispatched_at=timezone.now(),
    )
    delivery = Delivery.objects.create(
        target=target,
        event=event,
        entity_type="supplier",
        object_id=supplier.pk,
        version=1,
        status=Delivery.Status.DEAD,
        last_error="HTTP 422",
        next_attempt_at=timezone.now(),
    )
    keymap = KeyMap.objects.create(
        target=target, entity_type="supplier", object_id=supplier.pk, target_ref="V-17", last_version=1
    )
    return {"target": target, "event": event, "delivery": delivery, "keymap": keymap}


def _audit(actor, supplier):
    from mdm.models import AuditEvent

    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.username,
        via="session",
        action=AuditEvent.Action.BANK_VIEW,
        object_type="suppliers.supplier",
        object_id=str(supplier.pk),
        object_repr=str(supplier),
    )


def _token(owner):
    from mdm.models import ApiToken

    try:
        from mdm.tokens import issue_token
    except ImportError:  # before API tokens of the hub's own kind exist
        return ApiToken.objects.create(user=owner, name="Odoo connector", prefix="mdm_test", key_hash="0" * 64)
    token, _secret = issue_token(owner, name="Odoo connector", scopes=[ApiToken.Scope.READ])
    return token


def build_world() -> SimpleNamespace:
    """Users of every role plus one of each kind of object the URLs name; committed callbacks run at once."""
    from mdm.models import QuarantinedRecord

    with TestCase.captureOnCommitCallbacks(execute=True):
        users = _users()
        steward = users[roles.STEWARD]
        golden = _golden(steward)
        sources = _sources(steward, golden["supplier"], golden["other_supplier"])
        sources["quarantined"] = QuarantinedRecord.objects.filter(system=sources["system"]).first()
        sync = _syndication(golden["supplier"])
        audit_event = _audit(users[roles.APPROVER], golden["supplier"])
        token = _token(users[roles.INTEGRATION])
    return SimpleNamespace(users=users, audit_event=audit_event, token=token, **golden, **sources, **sync)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The module's world, rolled back when the module is done."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)
