"""Audit rows for sensitive reads and writes: unmasked bank details (UI, API, CSV), permission and group changes,
object permissions, delivery replays and target credentials; the audit log's API, CSV export and admin.

Every request goes through the real stack (middleware, authentication, the views); the rows are read back from the
database with their actor, address and the correlation id the client sent in ``X-Request-ID``.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm
from rest_framework.test import APIClient

from mdm import audit, roles
from mdm.audit_signals import during_role_sync
from mdm.models import ApprovalScope, AuditEvent
from mdm.roles import sync_role_groups
from sync.models import Delivery
from tests.conftest import _user
from tests.sync.records import IBAN
from tests.sync.test_ops_admin import target_form
from tests.sync.test_ops_ui import make_delivery, make_target

pytestmark = pytest.mark.django_db

A = AuditEvent.Action
S = Delivery.Status
REVEAL = "/records/supplier/{}/bank-accounts/reveal/"
API = "/api/v1"


def rows(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def approver_client(client, approver):
    client.force_login(approver)
    return client


def api_for(user) -> APIClient:
    client = APIClient(REMOTE_ADDR="10.1.2.3")
    client.force_authenticate(user)
    return client


# --- unmasked bank details: the steward UI ---------------------------------------------------------------------


def test_approver_reveals_bank_numbers_on_the_record_page_and_leaves_a_row(approver_client, approver, supplier):
    page = approver_client.get(f"/records/supplier/{supplier.pk}/").content.decode()
    assert 'id="reveal-bank-form"' in page and IBAN not in page and "••••3000" in page

    response = approver_client.post(
        REVEAL.format(supplier.pk),
        {"reason": "verify the new account before approving CR 12"},
        HTTP_X_REQUEST_ID="reveal-corr-1",
        REMOTE_ADDR="10.9.8.7",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert IBAN in html and "recorded in the audit log" in html
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    (row,) = rows(A.BANK_VIEW)
    account = supplier.bank_accounts.get()
    assert (row.actor, row.actor_name, row.via) == (approver, approver.username, "session")
    assert (row.object_type, row.object_id) == ("suppliers.supplier", str(supplier.pk))
    assert (row.correlation_id, row.ip) == ("reveal-corr-1", "10.9.8.7")
    assert row.detail == {
        "accounts": [account.pk],
        "last4": ["3000"],
        "reason": "verify the new account before approving CR 12",
    }
    assert IBAN not in str(row.detail)


def test_revealing_needs_a_reason_and_a_post(approver_client, supplier):
    response = approver_client.post(REVEAL.format(supplier.pk), {"reason": "  "})
    assert response.status_code == 400 and IBAN not in response.content.decode()
    assert "Say why you need" in response.content.decode()
    assert approver_client.get(REVEAL.format(supplier.pk)).status_code == 405
    assert not rows(A.BANK_VIEW)


@pytest.mark.parametrize("role", [roles.VIEWER, roles.STEWARD, roles.OPERATIONS])
def test_other_roles_see_no_button_and_are_refused_without_a_row(client, role, supplier):
    client.force_login(_user(f"someone.{role}", role))
    page = client.get(f"/records/supplier/{supplier.pk}/").content.decode()
    assert "reveal-bank-form" not in page and IBAN not in page
    response = client.post(REVEAL.format(supplier.pk), {"reason": "curious"})
    html = response.content.decode()
    assert response.status_code == 403 and IBAN not in html
    assert "suppliers.reveal_supplierbankaccount" in html
    assert not rows(A.BANK_VIEW)


def test_anonymous_is_sent_to_log_in(client, supplier):
    response = client.post(REVEAL.format(supplier.pk), {"reason": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not rows(A.BANK_VIEW)


# --- unmasked bank details: the API and the CSV export ------------------------------------------------------------


def test_api_returns_unmasked_accounts_to_approvers_with_a_row(approver, supplier):
    client = api_for(approver)
    response = client.get(
        f"{API}/suppliers/{supplier.pk}/bank-accounts/", {"reason": "payment run"}, HTTP_X_REQUEST_ID="api-corr-7"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["supplier"] == supplier.pk and body["accounts"][0]["iban"] == IBAN
    assert body["accounts"][0]["last4"] == "3000" and body["accounts"][0]["account_number"] == ""
    assert "no-store" in response["Cache-Control"]
    (row,) = rows(A.BANK_VIEW)
    assert (row.actor, row.correlation_id, row.ip) == (approver, "api-corr-7", "10.1.2.3")
    assert row.detail["reason"] == "payment run" and row.detail["last4"] == ["3000"]
    # the supplier itself stays masked for everyone, approvers included
    assert IBAN not in client.get(f"{API}/suppliers/{supplier.pk}/").content.decode()


@pytest.mark.parametrize("role", [roles.VIEWER, roles.STEWARD, roles.INTEGRATION, roles.AUDITOR])
def test_api_refuses_other_roles_with_a_clear_message_and_no_row(role, supplier):
    client = api_for(_user(f"api.{role}", role))
    for url in (f"{API}/suppliers/{supplier.pk}/bank-accounts/", f"{API}/suppliers/bank-accounts/export/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "suppliers.reveal_supplierbankaccount" in response.content.decode()
        assert IBAN not in response.content.decode()
    assert not AuditEvent.objects.filter(action__in=[A.BANK_VIEW, A.BANK_EXPORT]).exists()


def test_api_for_an_unknown_supplier_is_404_without_a_row(approver):
    assert api_for(approver).get(f"{API}/suppliers/999999/bank-accounts/").status_code == 404
    assert not rows(A.BANK_VIEW)


def test_csv_export_of_unmasked_accounts_is_audited_and_formula_safe(approver, supplier, make_supplier):
    other = make_supplier(
        "Cardinal Health",
        bank_accounts=[
            {"holder_name": '=HYPERLINK("http://x")', "aba_routing": "021000021", "account_number": "12345678901"}
        ],
    )
    client = api_for(approver)
    response = client.get(
        f"{API}/suppliers/bank-accounts/export/", {"supplier": f"{supplier.pk},{other.pk}"}, HTTP_X_REQUEST_ID="exp-1"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv") and "no-store" in response["Cache-Control"]
    table = csv_rows(response)
    assert table[0][:3] == ["supplier_id", "supplier", "account_id"]
    by_supplier = {row[0]: row for row in table[1:]}
    assert by_supplier[str(supplier.pk)][6] == IBAN
    assert by_supplier[str(other.pk)][8] == "12345678901"
    assert by_supplier[str(other.pk)][3].startswith("'=")  # a spreadsheet shows it as text, does not run it
    (row,) = rows(A.BANK_EXPORT)
    assert (row.actor, row.correlation_id) == (approver, "exp-1")
    assert row.detail["rows"] == 2 and row.detail["filter"]["supplier"] == [supplier.pk, other.pk]
    assert "12345678901" not in str(row.detail) and IBAN not in str(row.detail)

    one = client.get(f"{API}/suppliers/bank-accounts/export/", {"supplier": str(other.pk), "currency": "eur"})
    assert len(csv_rows(one)) == 1  # only the header: Cardinal's account has no currency EUR
    assert rows(A.BANK_EXPORT)[-1].detail["rows"] == 0
    bad = client.get(f"{API}/suppliers/bank-accounts/export/", {"supplier": "abc"})
    assert bad.status_code == 400 and "'abc' is not a supplier id" in bad.content.decode()
    assert len(rows(A.BANK_EXPORT)) == 2


def test_admin_never_shows_the_clear_numbers(admin_client, supplier):
    account = supplier.bank_accounts.get()
    for url in (
        "/admin/suppliers/supplierbankaccount/",
        f"/admin/suppliers/supplierbankaccount/{account.pk}/change/",
        f"/admin/suppliers/supplierbankaccount/{account.pk}/history/",
        f"/admin/suppliers/supplier/{supplier.pk}/change/",
    ):
        html = admin_client.get(url).content.decode()
        assert IBAN not in html and "3704004405320130" not in html, url


# --- permission, group and object-permission changes -----------------------------------------------------------


def test_group_permission_change_in_admin_names_the_actor_and_the_permissions(admin_user, client):
    client.force_login(admin_user)
    group = Group.objects.create(name="payments")
    reveal = Permission.objects.get(codename="reveal_supplierbankaccount")
    view = Permission.objects.get(codename="view_supplier")
    response = client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": "payments", "permissions": [reveal.pk, view.pk]},
        HTTP_X_REQUEST_ID="perm-corr-3",
        REMOTE_ADDR="10.0.0.5",
    )
    assert response.status_code == 302
    (row,) = AuditEvent.objects.filter(action=A.PERMISSION_CHANGE, object_type="auth.group")
    assert (row.actor, row.via, row.correlation_id, row.ip) == (admin_user, "session", "perm-corr-3", "10.0.0.5")
    assert (row.object_type, row.object_id) == ("auth.group", str(group.pk))
    assert row.detail == {
        "change": "added",
        "permissions": ["suppliers.reveal_supplierbankaccount", "suppliers.view_supplier"],
    }
    client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "payments", "permissions": [view.pk]})
    assert rows(A.PERMISSION_CHANGE)[-1].detail == {
        "change": "removed",
        "permissions": ["suppliers.reveal_supplierbankaccount"],
    }


def test_membership_permission_and_flag_changes_outside_a_request_are_system_rows():
    user = User.objects.create_user("pat.payments", password="correct horse battery")
    approvers = Group.objects.get(name=roles.APPROVER)
    user.groups.add(approvers)
    (row,) = rows(A.GROUP_CHANGE)
    assert (row.actor, row.via, row.object_type) == (None, "system", "auth.user")
    assert row.detail == {"change": "added", "groups": [roles.APPROVER]}
    approvers.user_set.remove(user)  # from the other side of the relation
    assert rows(A.GROUP_CHANGE)[-1].detail == {"change": "removed", "users": ["pat.payments"]}
    user.groups.add(approvers)
    user.groups.clear()
    assert rows(A.GROUP_CHANGE)[-1].detail == {"change": "removed", "groups": [roles.APPROVER]}

    user.user_permissions.add(Permission.objects.get(codename="reveal_supplierbankaccount"))
    assert rows(A.PERMISSION_CHANGE)[-1].detail == {
        "change": "added",
        "permissions": ["suppliers.reveal_supplierbankaccount"],
    }
    user.is_superuser = True
    user.save()
    assert rows(A.PERMISSION_CHANGE)[-1].detail == {"change": "flags", "flags": {"is_superuser": True}}
    before = AuditEvent.objects.count()
    user.save(update_fields=["last_login"])  # a login touches the row: no flag changed, no row
    user.first_name = "Pat"
    user.save()
    assert AuditEvent.objects.count() == before
    User.objects.create_superuser("root2", email="r@example.org", password="correct horse battery")
    assert rows(A.PERMISSION_CHANGE)[-1].detail == {"change": "created", "flags": ["is_superuser", "is_staff"]}


def test_object_permissions_granted_and_revoked_are_rows():
    user = _user("scoped.approver", roles.APPROVER)
    scope = ApprovalScope.objects.create(name="Gloves only", entity_type="item", unspsc_prefix="4214")
    assign_perm("mdm.approve_in_scope", user, scope)
    granted = rows(A.OBJECT_PERMISSION_CHANGE)[-1]
    assert granted.detail == {
        "change": "granted",
        "permission": "mdm.approve_in_scope",
        "holder_type": "user",
        "holder": "scoped.approver",
        "object_type": "mdm.approvalscope",
        "object_id": str(scope.pk),
    }
    remove_perm("mdm.approve_in_scope", user, scope)
    revoked = rows(A.OBJECT_PERMISSION_CHANGE)[-1]
    assert revoked.detail["change"] == "revoked" and revoked.detail["holder"] == "scoped.approver"
    group = Group.objects.get(name=roles.APPROVER)
    assign_perm("mdm.approve_in_scope", group, scope)
    assert rows(A.OBJECT_PERMISSION_CHANGE)[-1].detail["holder_type"] == "group"


def test_the_role_sync_after_migrate_is_not_audited_but_a_direct_change_is():
    steward = Group.objects.get(name=roles.STEWARD)
    perm = Permission.objects.get(codename="add_changerequest")
    steward.permissions.remove(perm)
    assert len(rows(A.PERMISSION_CHANGE)) == 1  # a person (here: code outside the sync) removed it
    during_role_sync(sync_role_groups)()  # what post_migrate runs: puts it back
    assert steward.permissions.filter(pk=perm.pk).exists()
    assert len(rows(A.PERMISSION_CHANGE)) == 1


# --- delivery replays and target credentials --------------------------------------------------------------------


@pytest.fixture
def ops(db):
    return _user("olga.ops", roles.OPERATIONS, is_staff=True)


def test_replays_from_the_ui_the_api_and_admin_are_rows(client, ops):
    target = make_target("alpha")
    dead = [make_delivery(target, S.DEAD, object_id=n) for n in (1, 2)]
    make_delivery(target, S.DELIVERED, object_id=3)
    client.force_login(ops)

    response = client.post(
        f"/operations/targets/{target.pk}/replay-dead/", HTTP_X_REQUEST_ID="ui-replay", REMOTE_ADDR="10.4.4.4"
    )
    assert response.status_code == 302
    (row,) = rows(A.DELIVERY_REPLAY)
    assert (row.actor, row.via, row.correlation_id, row.ip) == (ops, "session", "ui-replay", "10.4.4.4")
    assert (row.object_type, row.object_id) == ("sync.target", str(target.pk))
    assert row.detail == {
        "what": "dead letters",
        "count": 2,
        "deliveries": [d.pk for d in dead],
        "targets": [target.pk],
    }

    failed = make_delivery(target, S.FAILED, object_id=4)
    response = api_for(ops).post(f"{API}/sync/deliveries/{failed.pk}/replay/", HTTP_X_REQUEST_ID="api-replay")
    assert response.status_code == 200
    row = rows(A.DELIVERY_REPLAY)[-1]
    assert (row.actor, row.correlation_id) == (ops, "api-replay")
    assert row.detail["count"] == 1 and row.detail["deliveries"] == [failed.pk] and row.detail["what"] == "selected"

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    api_for(ops).post(f"{API}/sync/targets/{target.pk}/replay-since/", {"since": since}, format="json")
    row = rows(A.DELIVERY_REPLAY)[-1]
    assert row.detail["what"] == "since" and row.detail["count"] >= 1 and "since" in row.detail

    before = len(rows(A.DELIVERY_REPLAY))
    assert client.post(f"/operations/targets/{target.pk}/replay-dead/").status_code == 302  # nothing dead now
    assert len(rows(A.DELIVERY_REPLAY)) == before  # nothing replayed, nothing to record

    again = make_delivery(target, S.DEAD, object_id=9)
    client.post(
        "/admin/sync/delivery/", {"action": "replay_selected", "_selected_action": [again.pk]}, HTTP_X_REQUEST_ID="adm"
    )
    row = rows(A.DELIVERY_REPLAY)[-1]
    assert (row.actor, row.correlation_id, row.detail["deliveries"]) == (ops, "adm", [again.pk])


def test_refused_replays_leave_no_row(client, steward):
    target = make_target("alpha")
    dead = make_delivery(target, S.DEAD)
    client.force_login(steward)
    assert client.post(f"/operations/targets/{target.pk}/replay-dead/").status_code == 403
    assert api_for(steward).post(f"{API}/sync/deliveries/{dead.pk}/replay/").status_code == 403
    assert not rows(A.DELIVERY_REPLAY)


def test_target_secret_changes_in_admin_are_rows_without_the_secret(admin_client, admin_user):
    response = admin_client.post("/admin/sync/target/add/", target_form(secret="first-PLANTED-key"))
    assert response.status_code == 302
    (row,) = rows(A.TARGET_SECRET_CHANGE)
    assert row.actor == admin_user and row.detail == {"secret": "set", "changed": [], "created": True}
    target = row.object_id
    change = f"/admin/sync/target/{target}/change/"
    admin_client.post(change, target_form(secret=""))  # blank keeps the secret: nothing to record
    assert len(rows(A.TARGET_SECRET_CHANGE)) == 1
    admin_client.post(change, target_form(secret="second-PLANTED-key", login="other-login"))
    row = rows(A.TARGET_SECRET_CHANGE)[-1]
    assert row.detail == {"secret": "replaced", "changed": ["login"], "created": False}
    everything = " ".join(str(r.detail) + r.object_repr for r in AuditEvent.objects.all())
    assert "PLANTED" not in everything


# --- the audit log: API, CSV, admin --------------------------------------------------------------------------------


@pytest.fixture
def auditor(db):
    return _user("ada.auditor", roles.AUDITOR, is_staff=True)


@pytest.fixture
def some_rows(approver, steward, supplier):
    old = audit.record(A.BANK_VIEW, actor=approver, obj=supplier, detail={"accounts": [1]})
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=10))
    audit.record(A.BANK_EXPORT, actor=approver, object_type="suppliers.supplierbankaccount", detail={"rows": 3})
    audit.record(
        A.DELIVERY_REPLAY, actor=steward, object_type="sync.target", object_id=7, object_repr="=cmd|' /C calc'!A0"
    )
    row = audit.record(A.BANK_VIEW, actor=approver, obj=supplier, detail={"accounts": [2]})
    AuditEvent.objects.filter(pk=row.pk).update(correlation_id="find-me")
    return supplier


def test_audit_api_lists_and_filters(auditor, approver, some_rows):
    client = api_for(auditor)
    # (the fixtures' own rows: users put in their role groups, an approver's object permission)
    assert client.get(f"{API}/audit/", {"action": "group.change"}).json()["count"] >= 2
    data = client.get(f"{API}/audit/", {"action": ["bank.view", "bank.export", "delivery.replay"]}).json()
    assert data["count"] == 4 and data["results"][0]["action"] == "bank.view"  # newest first
    assert {r["action"] for r in client.get(f"{API}/audit/", {"action": "bank.view"}).json()["results"]} == {
        "bank.view"
    }
    two = client.get(f"{API}/audit/", {"action": ["bank.view", "bank.export"]}).json()
    assert two["count"] == 3
    assert client.get(f"{API}/audit/", {"actor": "sam.steward"}).json()["count"] == 1
    assert (
        client.get(f"{API}/audit/", {"object_type": "suppliers.supplier", "object_id": some_rows.pk}).json()["count"]
        == 2
    )
    (found,) = client.get(f"{API}/audit/", {"correlation_id": "find-me"}).json()["results"]
    assert found["actor"] == approver.username and found["detail"] == {"accounts": [2]}
    recent = (timezone.now() - timedelta(days=1)).isoformat()
    assert client.get(f"{API}/audit/", {"action": "bank.view", "since": recent}).json()["count"] == 1
    assert client.get(f"{API}/audit/", {"until": recent}).json()["count"] == 1
    assert client.get(f"{API}/audit/{found['id']}/").json()["correlation_id"] == "find-me"
    assert client.get(f"{API}/audit/", {"action": "nonsense"}).status_code == 400


@pytest.mark.parametrize("role", [roles.VIEWER, roles.STEWARD, roles.APPROVER, roles.OPERATIONS])
def test_audit_api_is_for_auditors_only(role, some_rows):
    client = api_for(_user(f"not.{role}", role))
    assert client.get(f"{API}/audit/").status_code == 403
    assert client.get(f"{API}/audit/export/").status_code == 403
    assert not rows(A.AUDIT_EXPORT)


def test_audit_csv_export_is_filtered_formula_safe_and_itself_audited(auditor, some_rows):
    response = api_for(auditor).get(
        f"{API}/audit/export/", {"action": ["delivery.replay", "bank.export"]}, HTTP_X_REQUEST_ID="audit-exp"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = csv_rows(response)
    assert table[0] == [
        "at",
        "action",
        "actor",
        "via",
        "object_type",
        "object_id",
        "object",
        "correlation_id",
        "ip",
        "detail",
    ]
    assert [row[1] for row in table[1:]] == ["bank.export", "delivery.replay"]  # oldest first
    assert table[2][6] == "'=cmd|' /C calc'!A0"
    (row,) = rows(A.AUDIT_EXPORT)
    assert (row.actor, row.correlation_id) == (auditor, "audit-exp")
    assert row.detail == {"rows": 2, "filter": {"action": ["delivery.replay", "bank.export"]}}
    # the export's own row is not in the file it describes, and a second export sees the first
    again = csv_rows(api_for(auditor).get(f"{API}/audit/export/", {"action": "audit.export"}))
    assert len(again) == 2 and rows(A.AUDIT_EXPORT)[-1].detail["rows"] == 1


def test_admin_is_read_only_and_its_csv_download_is_audited(client, auditor, some_rows):
    client.force_login(auditor)
    listing = client.get("/admin/mdm/auditevent/", {"action__exact": "bank.view"})
    html = listing.content.decode()
    assert listing.status_code == 200 and 'id="audit-export"' in html and "find-me" in html
    row = AuditEvent.objects.filter(correlation_id="find-me").get()
    assert client.get("/admin/mdm/auditevent/add/").status_code == 403
    assert client.get(f"/admin/mdm/auditevent/{row.pk}/delete/").status_code == 403
    detail = client.get(f"/admin/mdm/auditevent/{row.pk}/change/").content.decode()
    assert "find-me" in detail and 'name="_save"' not in detail
    assert client.post(f"/admin/mdm/auditevent/{row.pk}/change/", {}).status_code == 403

    response = client.get("/admin/mdm/auditevent/export/", {"action__exact": "bank.view", "q": "find-me"})
    table = csv_rows(response)
    assert [r[7] for r in table[1:]] == ["find-me"]
    (export,) = rows(A.AUDIT_EXPORT)
    assert export.actor == auditor and export.detail == {
        "rows": 1,
        "filter": {"action__exact": "bank.view", "q": "find-me"},
    }


def test_admin_audit_log_needs_the_auditor_permission(client):
    client.force_login(_user("staff.steward", roles.STEWARD, is_staff=True))
    assert client.get("/admin/mdm/auditevent/").status_code == 403
    assert client.get("/admin/mdm/auditevent/export/").status_code == 403
    assert not rows(A.AUDIT_EXPORT)
