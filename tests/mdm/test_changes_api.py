"""The change-request API end to end (real services, real database): propose, approve, reject, rebase, scopes,
two approvers for sensitive fields, the decision log export and the lineage endpoint."""

import csv
import datetime as dt
import io

import pytest
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from items.models import Item
from items.services import item_create
from mdm import roles
from mdm.models import ApprovalScope, ChangeRequest, DecisionLog
from mdm.services.golden import golden_save
from suppliers.models import Supplier
from suppliers.services import supplier_create
from tests.conftest import _user, global_scope
from uom.services import unit_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/change-requests/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def approver2(db):
    user = _user("bea.approver", roles.APPROVER)
    assign_perm("mdm.approve_in_scope", user, global_scope())
    return user


@pytest.fixture
def devices_approver(db):
    """An approver for medical equipment only (UNSPSC segment 42)."""
    user = _user("dee.devices", roles.APPROVER)
    scope = ApprovalScope.objects.create(name="Medical equipment", unspsc_prefix="42", entity_type="item")
    assign_perm("mdm.approve_in_scope", user, scope)
    return user


@pytest.fixture
def make_item(steward):
    for code, name in (("EA", "Each"), ("BX", "Box")):
        unit_create(code=code, name=name, dimension="count", actor=steward, reason="test")

    def make(description, *, unspsc="42271706", part="313-71-015"):
        return item_create(
            data={
                "description": description,
                "manufacturer_name": "PULMODYNE INC",
                "manufacturer_part_number": part,
                "item_type": "med_surg",
                "unspsc": unspsc,
                "base_unit": "EA",
                "packaging": [{"unit": "EA", "quantity": 1, "gtin": ""}, {"unit": "BX", "quantity": 10, "gtin": ""}],
            },
            actor=steward,
            reason="test",
        )

    return make


@pytest.fixture
def supplier(steward):
    return supplier_create(
        data={
            "legal_name": "Medline Industries, LP",
            "ein": "36-1234567",
            "duns": "025483210",
            "bank_accounts": [
                {"holder_name": "Medline Industries", "aba_routing": "071000013", "account_number": "12345678901"}
            ],
        },
        actor=steward,
        reason="test",
    )


def propose(client, item, reason="catalog fix", **changes):
    return client.post(
        URL,
        {"entity_type": "item", "kind": "update", "object_id": item.pk, "changes": changes, "reason": reason},
        format="json",
    )


def act(client, cr_id, verb, **body):
    return client.post(f"{URL}{cr_id}/{verb}/", body, format="json")


def test_propose_then_another_user_approves_and_the_record_changes(make_item, steward, approver):
    item = make_item("Blom trach tube")
    response = propose(client_for(steward), item, short_name="Blom trach 313")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["origin"], body["requested_by"]) == ("submitted", "api", "sam.steward")
    assert body["base_version"] == item.version and body["required_approvals"] == 1 and body["approvals_given"] == 0
    assert [(row["field"], row["old"], row["new"]) for row in body["diff"]] == [("short_name", "", "Blom trach 313")]
    assert body["can_approve"]["allowed"] is False and "four-eyes" in body["can_approve"]["reason"]
    assert body["links"]["record"].endswith(f"/api/v1/items/{item.pk}/")
    assert body["links"]["record_ui"].endswith(f"/records/item/{item.pk}/")
    item.refresh_from_db()
    assert item.short_name == ""  # nothing changes before approval

    seen = client_for(approver).get(f"{URL}{body['id']}/").json()
    assert seen["can_approve"] == {"allowed": True, "reason": ""}
    response = act(client_for(approver), body["id"], "approve", reason="matches the IFU")
    assert response.status_code == 200, response.json()
    applied = response.json()
    item.refresh_from_db()
    assert applied["status"] == "applied" and applied["applied_version"] == item.version
    assert applied["approvals"][0] | {"at": None} == {
        "actor": "alex.approver",
        "decision": "approve",
        "reason": "matches the IFU",
        "void": False,
        "base_version": body["base_version"],
        "at": None,
    }
    assert item.short_name == "Blom trach 313"
    latest = item.history.first()
    assert latest.history_user == steward and f"change request #{body['id']}" in latest.history_change_reason
    assert client_for(approver).get(applied["links"]["record"]).json()["short_name"] == "Blom trach 313"
    assert DecisionLog.objects.get(change_request_id=body["id"]).action == "applied"


def test_the_requester_cannot_approve_their_own_request(make_item, approver, approver2):
    item = make_item("Blom trach tube")
    cr_id = propose(client_for(approver), item, short_name="mine").json()["id"]
    response = act(client_for(approver), cr_id, "approve")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You requested this change: someone else must approve it (four-eyes rule).",
        "code": "permission_denied",
    }
    assert act(client_for(approver), cr_id, "reject", reason="changed my mind").status_code == 403
    assert ChangeRequest.objects.get(pk=cr_id).status == "submitted"
    assert act(client_for(approver2), cr_id, "approve").json()["status"] == "applied"


def test_viewers_may_neither_propose_nor_approve(make_item, steward, viewer):
    item = make_item("Blom trach tube")
    assert propose(client_for(viewer), item, short_name="viewer edit").status_code == 403
    cr_id = propose(client_for(steward), item, short_name="x").json()["id"]
    assert client_for(viewer).get(f"{URL}{cr_id}/").status_code == 200  # reading is fine
    for verb in ("approve", "reject", "withdraw", "comment", "rebase", "submit"):
        assert act(client_for(viewer), cr_id, verb, reason="r", text="t").status_code == 403, verb
    assert not ChangeRequest.objects.exclude(status="submitted").exists()


def test_service_accounts_propose_but_never_approve(make_item, integration, token_api, approver):
    item = make_item("Blom trach tube")
    response = propose(token_api, item, reason="from the ERP", short_name="ERP name")
    assert response.status_code == 201 and response.json()["requested_by"] == "svc.odoo"
    other = propose(client_for(approver), item, short_name="approver's name").json()["id"]
    denied = act(token_api, other, "approve")
    assert denied.status_code == 403 and "approver role" in denied.json()["detail"]
    assert ChangeRequest.objects.get(pk=other).approvals.count() == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"ein": "36-7654321"},
        {"vat": "DE136695976"},
        {"bank_accounts": [{"holder_name": "Medline Industries", "iban": "DE89 3704 0044 0532 0130 00"}]},
    ],
    ids=["ein", "vat", "bank_account"],
)
def test_tax_ids_and_bank_accounts_need_two_approvers(supplier, steward, approver, approver2, changes):
    response = client_for(steward).post(
        URL,
        {"entity_type": "supplier", "kind": "update", "object_id": supplier.pk, "changes": changes, "reason": "W-9"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["required_approvals"], body["risk"]) == (2, "high") and body["diff"][0]["sensitive"] is True
    text = str(body)
    assert "_encrypted" not in text and "DE89370400440532013000" not in text and "12345678901" not in text

    first = act(client_for(approver), body["id"], "approve")
    assert first.status_code == 200 and (first.json()["status"], first.json()["approvals_given"]) == ("submitted", 1)
    assert Supplier.objects.get(pk=supplier.pk).version == supplier.version  # one approval changes nothing
    again = act(client_for(approver), body["id"], "approve")
    assert again.status_code == 403 and "already approved" in again.json()["detail"]

    second = act(client_for(approver2), body["id"], "approve")
    assert second.status_code == 200 and second.json()["status"] == "applied"
    supplier.refresh_from_db()
    if "ein" in changes:
        assert supplier.ein == "36-7654321"
    elif "vat" in changes:
        assert supplier.vat == "DE136695976"
    else:
        assert supplier.bank_accounts.get().iban == "DE89370400440532013000"
    assert DecisionLog.objects.get(change_request_id=body["id"]).approvers == ["alex.approver", "bea.approver"]


def test_stale_base_is_a_409_with_a_rebase_link_then_rebase_and_approve(make_item, steward, approver):
    item = make_item("Blom trach tube")
    first = propose(client_for(steward), item, short_name="first").json()
    second = propose(client_for(steward), item, description="Blom tracheostomy tube, basic").json()
    assert act(client_for(approver), first["id"], "approve").json()["status"] == "applied"

    stale = act(client_for(approver), second["id"], "approve")
    assert stale.status_code == 409
    body = stale.json()
    assert body["code"] == "stale_base" and "Rebase" in body["detail"]
    assert body["rebase"].endswith(f"{URL}{second['id']}/rebase/")
    assert ChangeRequest.objects.get(pk=second["id"]).approvals.count() == 0

    rebased = client_for(steward).post(body["rebase"])
    assert rebased.status_code == 200, rebased.json()
    item.refresh_from_db()
    assert rebased.json()["base_version"] == item.version
    assert "Rebased" in rebased.json()["comments"][0]["text"]
    assert act(client_for(approver), second["id"], "approve").json()["status"] == "applied"
    item.refresh_from_db()
    assert (item.short_name, item.description) == ("first", "Blom tracheostomy tube, basic")


def test_a_direct_edit_of_the_record_also_makes_the_base_stale(make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr_id = propose(client_for(steward), item, short_name="x").json()["id"]
    item.manufacturer_name = "Pulmodyne, Inc."
    golden_save(item, actor=steward, reason="admin fix")
    assert act(client_for(approver), cr_id, "approve").json()["code"] == "stale_base"


def test_reject_needs_a_reason(make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr_id = propose(client_for(steward), item, short_name="x").json()["id"]
    for body in ({}, {"reason": "   "}):
        response = act(client_for(approver), cr_id, "reject", **body)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid" and "reason" in response.json()["errors"]
    response = act(client_for(approver), cr_id, "reject", reason="the catalog name is right")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert response.json()["approvals"][0]["decision"] == "reject"
    assert Item.objects.get(pk=item.pk).short_name == ""
    log = DecisionLog.objects.get(change_request_id=cr_id)
    assert (log.action, log.reason, log.actor) == ("rejected", "the catalog name is right", approver)
    late = act(client_for(approver), cr_id, "approve")
    assert late.status_code == 409 and "rejected" in late.json()["detail"]


def test_approval_scopes_decide_what_an_approver_sees_and_may_approve(make_item, steward, devices_approver):
    device = make_item("Blom trach tube", unspsc="42271706")
    glove = make_item("Exam glove", unspsc="53102800", part="G-1")
    in_scope = propose(client_for(steward), device, short_name="trach").json()
    out_of_scope = propose(client_for(steward), glove, short_name="glove").json()
    assert (in_scope["scope_category"], out_of_scope["scope_category"]) == ("42271706", "53102800")
    client = client_for(devices_approver)

    queue = client.get(URL, {"awaiting": "me"}).json()
    assert [row["id"] for row in queue["results"]] == [in_scope["id"]]
    assert {row["id"] for row in client.get(URL).json()["results"]} == {in_scope["id"], out_of_scope["id"]}

    seen = client.get(f"{URL}{out_of_scope['id']}/").json()["can_approve"]
    assert seen["allowed"] is False and "outside your approval scopes" in seen["reason"]
    refused = act(client, out_of_scope["id"], "approve")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This change (UNSPSC 53102800) is outside your approval scopes."
    assert act(client, out_of_scope["id"], "reject", reason="no").status_code == 403
    assert act(client, in_scope["id"], "approve").json()["status"] == "applied"
    assert client.get(URL, {"awaiting": "me"}).json()["count"] == 0


def test_drafts_are_submitted_by_their_requester(make_item, steward, approver):
    item = make_item("Blom trach tube")
    response = client_for(steward).post(
        URL,
        {
            "entity_type": "item",
            "kind": "update",
            "object_id": item.pk,
            "changes": {"short_name": "draft"},
            "reason": "still checking",
            "submit": False,
        },
        format="json",
    )
    draft = response.json()
    assert response.status_code == 201 and draft["status"] == "draft" and draft["submitted_at"] is None
    assert act(client_for(approver), draft["id"], "approve").status_code == 409  # drafts are not decided
    assert act(client_for(approver), draft["id"], "submit").status_code == 403  # not their draft
    submitted = act(client_for(steward), draft["id"], "submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    again = act(client_for(steward), draft["id"], "submit")
    assert again.status_code == 409 and again.json()["code"] == "change_error"


def test_withdraw_and_comment(make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr_id = propose(client_for(steward), item, short_name="x").json()["id"]
    comment = act(client_for(approver), cr_id, "comment", text="Which IFU revision?")
    assert comment.status_code == 201 and comment.json()["author"] == "alex.approver"
    assert act(client_for(approver), cr_id, "comment", text="  ").json()["errors"] == {"text": ["Write a comment."]}
    assert act(client_for(approver), cr_id, "withdraw").status_code == 403  # only the requester
    withdrawn = act(client_for(steward), cr_id, "withdraw", reason="wrong record")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert [c["text"] for c in withdrawn.json()["comments"]] == ["Which IFU revision?", "Withdrawn: wrong record"]
    again = act(client_for(steward), cr_id, "withdraw")
    assert again.status_code == 409 and "withdrawn" in again.json()["detail"]
    assert act(client_for(approver), cr_id, "rebase").status_code == 409


def test_create_retire_merge_and_unmerge_through_the_api(make_item, steward, approver, approver2):
    client = client_for(steward)
    created = client.post(
        URL,
        {
            "entity_type": "item",
            "kind": "create",
            "changes": {"description": "Suture, nylon 3-0", "item_type": "med_surg", "base_unit": "EA"},
            "reason": "new product on contract",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["object_id"] is None and created.json()["links"]["record"] is None
    applied = act(client_for(approver), created.json()["id"], "approve").json()
    new_item = Item.objects.get(pk=applied["object_id"])
    assert new_item.description == "Suture, nylon 3-0"

    retire = client.post(
        URL, {"entity_type": "item", "kind": "retire", "object_id": new_item.pk, "reason": "discontinued"}
    )
    assert retire.status_code == 201 and retire.json()["kind"] == "retire"
    act(client_for(approver), retire.json()["id"], "approve")
    assert Item.objects.get(pk=new_item.pk).status == "retired"
    again = propose(client, new_item, short_name="x")
    assert again.status_code == 409 and "retired" in again.json()["detail"]

    survivor, duplicate = make_item("Blom trach tube"), make_item("BLOM TRACH TUBE 313-71-015", part="313-71-015B")
    merge = client.post(
        URL,
        {
            "entity_type": "item",
            "kind": "merge",
            "survivor_id": survivor.pk,
            "merged_id": duplicate.pk,
            "reason": "same product",
        },
    )
    assert merge.status_code == 201, merge.json()
    assert merge.json()["links"]["merged_record"].endswith(f"/api/v1/items/{duplicate.pk}/")
    assert act(client_for(approver), merge.json()["id"], "approve").json()["status"] == "applied"
    assert Item.objects.get(pk=duplicate.pk).status == "retired"

    unmerge = client.post(
        URL, {"entity_type": "item", "kind": "unmerge", "merged_id": duplicate.pk, "reason": "different sizes"}
    )
    assert unmerge.status_code == 201, unmerge.json()
    assert unmerge.json()["kind"] == "unmerge" and unmerge.json()["object_id"] == duplicate.pk
    assert act(client_for(approver2), unmerge.json()["id"], "approve").json()["status"] == "applied"
    assert Item.objects.get(pk=duplicate.pk).status == "active"
    twice = client.post(URL, {"entity_type": "item", "kind": "unmerge", "merged_id": duplicate.pk, "reason": "again"})
    assert twice.status_code == 409 and "nothing to unmerge" in twice.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"entity_type": "planet", "kind": "update", "object_id": 1, "reason": "r"}, {"entity_type"}),
        ({"entity_type": "item", "kind": "rename", "reason": "r"}, {"kind"}),
        ({"entity_type": "item", "kind": "update", "changes": {"short_name": "x"}, "reason": "r"}, {"object_id"}),
        ({"entity_type": "item", "kind": "update", "object_id": 999999, "reason": "r"}, {"object_id"}),
        ({"entity_type": "item", "kind": "create", "object_id": "ITEM", "reason": "r"}, {"object_id"}),
        (
            {"entity_type": "item", "kind": "merge", "survivor_id": 999999, "merged_id": "OBJ", "reason": "r"},
            {"survivor_id"},
        ),
        ({"entity_type": "item", "kind": "merge", "object_id": "OBJ", "reason": "r"}, {"merged_id"}),
        ({"entity_type": "item", "kind": "retire", "object_id": "OBJ", "reason": "r", "pins": ["x"]}, {"pins"}),
        ({"entity_type": "item", "kind": "retire", "object_id": "OBJ", "reason": "r", "submit": False}, {"submit"}),
        ({"entity_type": "item", "kind": "unmerge", "object_id": "OBJ", "changes": {"a": 1}}, {"changes"}),
        ({"entity_type": "item", "kind": "update", "object_id": "OBJ", "changes": {"short_name": "x"}}, {"reason"}),
        (
            {"entity_type": "item", "kind": "update", "object_id": "OBJ", "changes": {"colour": "blue"}, "reason": "r"},
            {"colour"},
        ),
        (
            {"entity_type": "item", "kind": "update", "object_id": "OBJ", "changes": {"unspsc": "4227"}, "reason": "r"},
            {"unspsc"},
        ),
        ({"entity_type": "item", "kind": "update", "object_id": "OBJ", "pins": ["colour"], "reason": "r"}, {"pins"}),
        ({"entity_type": "item", "kind": "update", "object_id": "OBJ", "reason": "r"}, {"non_field_errors"}),
        (
            {"entity_type": "item", "kind": "merge", "object_id": "OBJ", "merged_id": "OBJ", "reason": "r"},
            {"merged_id"},
        ),
    ],
)
def test_bad_proposals_are_400_with_per_field_messages(make_item, steward, body, fields):
    item = make_item("Blom trach tube")
    body = {key: item.pk if value == "OBJ" else value for key, value in body.items()}
    response = client_for(steward).post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["detail"] == "Invalid input." and data["code"] == "invalid"
    assert fields <= set(data["errors"]), data["errors"]
    assert all(isinstance(messages, list) and messages for messages in data["errors"].values())
    assert not ChangeRequest.objects.exists()


def test_unknown_ids_are_404(steward, approver):
    assert client_for(steward).get(f"{URL}999999/").status_code == 404
    response = act(client_for(approver), 999999, "approve")
    assert response.status_code == 404 and response.json() == {"detail": "Not found.", "code": "not_found"}


def test_list_filters_ordering_and_queries(make_item, steward, approver, integration, django_assert_max_num_queries):
    items = [make_item(f"Tube {n}", part=f"P-{n}") for n in range(4)]
    mine = [propose(client_for(steward), item, short_name=f"s{n}").json()["id"] for n, item in enumerate(items)]
    theirs = propose(client_for(integration), items[0], reason="ERP", description="Tube zero").json()["id"]
    act(client_for(approver), mine[0], "approve")
    act(client_for(approver), mine[1], "reject", reason="no")
    client = client_for(steward)

    def ids(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [theirs, *reversed(mine)]  # newest first
    assert ids(mine=1) == list(reversed(mine))
    assert ids(mine="false") == [theirs]
    assert ids(requested_by="svc.odoo") == [theirs]
    assert ids(status="applied") == [mine[0]]
    assert ids(status="rejected", kind="update", entity_type="item") == [mine[1]]
    assert ids(object_id=items[0].pk, ordering="created_at") == [mine[0], theirs]
    assert ids(origin="steward") == []
    assert ids(submitted_after="2000-01-01T00:00:00Z", submitted_before="2000-01-02T00:00:00Z") == []
    assert len(ids(submitted_after="2000-01-01T00:00:00Z")) == 5
    assert ids(awaiting="me") == []  # a steward approves nothing
    queue = client_for(approver).get(URL, {"awaiting": "me"}).json()["results"]
    assert {row["id"] for row in queue} == {theirs, mine[2], mine[3]}
    bad = client.get(URL, {"awaiting": "you"})
    assert bad.status_code == 400 and "awaiting" in bad.json()["errors"]
    assert client.get(URL, {"status": "pending"}).status_code == 400

    for n in range(20):
        propose(client_for(steward), items[n % 4], short_name=f"more {n}")
    with django_assert_max_num_queries(8):
        response = client_for(approver).get(URL, {"page_size": 100})
    assert response.json()["count"] == 25
    with django_assert_max_num_queries(8):
        assert client_for(approver).get(URL, {"awaiting": "me", "page_size": 100}).json()["count"] == 23


def test_decisions_list_and_csv_export_in_a_date_range(make_item, steward, approver):
    items = [make_item(f"Tube {n}", part=f"P-{n}") for n in range(4)]
    ids = [
        propose(client_for(steward), item, reason=f"fix {n}", short_name=f"s{n}").json()["id"]
        for n, item in enumerate(items)
    ]
    act(client_for(approver), ids[0], "approve")
    act(client_for(approver), ids[1], "reject", reason='=HYPERLINK("http://evil")')
    act(client_for(approver), ids[2], "approve")
    act(client_for(steward), ids[3], "withdraw", reason="typo")
    when = {
        ids[0]: dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=dt.UTC),  # before the range
        ids[1]: dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC),  # first moment of the range
        ids[2]: dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC),  # last day is included
        ids[3]: dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC),  # after it
    }
    for cr_id, at in when.items():
        DecisionLog.objects.filter(change_request_id=cr_id).update(created_at=at)

    listed = client_for(steward).get("/api/v1/decisions/", {"action": "applied", "actor": "alex.approver"}).json()
    assert [row["change_request"] for row in listed["results"]] == [ids[2], ids[0]]
    assert (
        listed["results"][0]["approvers"] == ["alex.approver"] and listed["results"][0]["requested_by"] == "sam.steward"
    )

    response = client_for(steward).get("/api/v1/decisions/export/", {"from": "2026-03-01", "to": "2026-03-31"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "when",
        "action",
        "entity_type",
        "object_id",
        "kind",
        "summary",
        "reason",
        "requested_by",
        "approvers",
        "actor",
        "golden_version",
        "change_request",
        "match_candidate",
    ]
    assert [(row[1], row[11]) for row in rows[1:]] == [("rejected", str(ids[1])), ("applied", str(ids[2]))]
    rejected, applied = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert rejected["reason"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert applied["approvers"] == "alex.approver" and applied["actor"] == "alex.approver"
    assert applied["object_id"] == str(items[2].pk)
    assert applied["golden_version"] == str(Item.objects.get(pk=items[2].pk).version)
    assert applied["when"].startswith("2026-03-31T23:30") and "Short name" in applied["summary"]

    everything = client_for(steward).get("/api/v1/decisions/export/", HTTP_ACCEPT="text/csv")
    assert everything.status_code == 200 and len(b"".join(everything.streaming_content).splitlines()) == 5

    for params, name in (
        ({"from": "2026-13-01"}, "from"),
        ({"to": "March"}, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
    ):
        bad = client_for(steward).get("/api/v1/decisions/export/", params)
        assert bad.status_code == 400 and list(bad.json()["errors"]) == [name]


def test_decisions_need_the_view_permission(outsider, anon_api):
    assert client_for(outsider).get("/api/v1/decisions/").status_code == 403
    assert client_for(outsider).get("/api/v1/decisions/export/").status_code == 403
    assert anon_api.get("/api/v1/decisions/export/").status_code == 401


def test_lineage_shows_where_values_came_from_and_pins(make_item, steward, approver, outsider):
    item = make_item("Blom trach tube")
    response = client_for(steward).post(
        URL,
        {
            "entity_type": "item",
            "kind": "update",
            "object_id": item.pk,
            "changes": {"short_name": "Blom 313"},
            "pins": ["short_name"],
            "reason": "the name our nurses search for",
        },
        format="json",
    )
    cr_id = response.json()["id"]
    assert response.json()["links"]["lineage"].endswith(f"/api/v1/lineage/item/{item.pk}/")
    act(client_for(approver), cr_id, "approve")

    lineage = client_for(steward).get(f"/api/v1/lineage/item/{item.pk}/")
    assert lineage.status_code == 200, lineage.json()
    body = lineage.json()
    item.refresh_from_db()
    assert (body["entity_type"], body["object_id"], body["version"], body["status"]) == (
        "item",
        item.pk,
        item.version,
        "active",
    )
    assert body["record"].endswith(f"/api/v1/items/{item.pk}/")
    short_name = body["fields"]["short_name"]
    assert (short_name["source"], short_name["by"], short_name["rule"], short_name["change_request"]) == (
        "steward",
        "sam.steward",
        "pinned",
        cr_id,
    )
    assert [(pin["field"], pin["value"], pin["pinned_by"], pin["change_request"]) for pin in body["pins"]] == [
        ("short_name", "Blom 313", "sam.steward", cr_id)
    ]

    fresh = make_item("Untouched", part="U-1")
    assert client_for(steward).get(f"/api/v1/lineage/item/{fresh.pk}/").json()["fields"] == {}
    for path in ("planet/1", "item/999999", "item/abc"):
        assert client_for(steward).get(f"/api/v1/lineage/{path}/").status_code == 404, path
    assert client_for(outsider).get(f"/api/v1/lineage/item/{item.pk}/").status_code == 403
