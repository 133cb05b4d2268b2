"""Change requests through the services: four eyes, two approvers, policy, stale bases, decision log."""

import pytest
from django.core.exceptions import ValidationError

from items.models import Item
from mdm.models import ChangeRequest, DecisionLog, GoldenLineage, PinnedValue
from mdm.services.changes import (
    ChangeError,
    ChangePermissionError,
    StaleBaseError,
    can_approve,
    change_request_approve,
    change_request_create,
    change_request_rebase,
    change_request_reject,
    change_request_withdraw,
    retire_propose,
)
from suppliers.models import Supplier

pytestmark = pytest.mark.django_db

Status = ChangeRequest.Status


def propose(item, steward, **changes):
    return change_request_create(
        entity_type="item", kind="update", object_id=item.pk, changes=changes, actor=steward, reason="catalog fix"
    )


def test_update_waits_for_another_person_then_applies_with_history_and_log(make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="Blom trach 313")
    assert cr.status == Status.SUBMITTED and cr.base_version == item.version
    assert cr.diff == [
        {"field": "short_name", "label": cr.diff[0]["label"], "old": "", "new": "Blom trach 313", "sensitive": False}
    ]
    item.refresh_from_db()
    assert item.short_name == ""  # nothing changes before approval

    change_request_approve(cr, actor=approver)
    cr.refresh_from_db()
    item.refresh_from_db()
    assert cr.status == Status.APPLIED and cr.applied_version == item.version
    assert item.short_name == "Blom trach 313"
    latest = item.history.first()
    assert latest.history_user == steward and f"change request #{cr.pk}" in latest.history_change_reason
    assert "alex.approver" in latest.history_change_reason
    log = DecisionLog.objects.get(change_request=cr)
    assert log.action == "applied" and log.approvers == ["alex.approver"] and log.requested_by == "sam.steward"
    lineage = GoldenLineage.objects.get(entity_type="item", object_id=item.pk).fields
    assert lineage["short_name"]["source"] == "steward" and lineage["short_name"]["by"] == "sam.steward"


def test_requester_can_never_approve_their_own_request(make_item, approver, approver2):
    item = make_item("Blom trach tube")
    cr = propose(item, approver, short_name="mine")
    allowed, why = can_approve(approver, cr)
    assert not allowed and "four-eyes" in why
    with pytest.raises(ChangePermissionError, match="four-eyes"):
        change_request_approve(cr, actor=approver)
    with pytest.raises(ChangePermissionError, match="four-eyes"):
        change_request_reject(cr, actor=approver, reason="no")
    change_request_approve(cr, actor=approver2)
    assert ChangeRequest.objects.get(pk=cr.pk).status == Status.APPLIED


def test_stewards_viewers_and_service_accounts_cannot_approve(make_item, steward, viewer, integration, approver):
    from mdm import roles
    from tests.conftest import _user

    item = make_item("Blom trach tube")
    cr = change_request_create(
        entity_type="item",
        kind="update",
        object_id=item.pk,
        changes={"short_name": "x"},
        actor=integration,
        reason="from the ERP",
        origin="api",
    )  # service accounts may submit
    other_service = _user("svc.erp", roles.INTEGRATION)
    other_service.user_permissions.add(*approver.groups.get().permissions.filter(codename="approve_changerequest"))
    for user, message in ((steward, "Only approvers"), (viewer, "Only approvers"), (other_service, "Service accounts")):
        with pytest.raises(ChangePermissionError, match=message):
            change_request_approve(cr, actor=user)
    with pytest.raises(ChangePermissionError):
        propose(item, viewer, short_name="viewer edit")
    change_request_approve(cr, actor=approver)


def test_bank_account_and_tax_id_changes_need_two_approvers(supplier, steward, approver, approver2):
    cr = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=supplier.pk,
        changes={"ein": "36-7654321"},
        actor=steward,
        reason="W-9 received",
    )
    assert cr.required_approvals == 2 and cr.risk == "high" and cr.diff[0]["sensitive"]
    change_request_approve(cr, actor=approver)
    cr.refresh_from_db()
    supplier.refresh_from_db()
    assert cr.status == Status.SUBMITTED and supplier.ein == "36-1234567"
    with pytest.raises(ChangePermissionError, match="already approved"):
        change_request_approve(cr, actor=approver)
    change_request_approve(cr, actor=approver2)
    supplier.refresh_from_db()
    assert supplier.ein == "36-7654321"
    assert DecisionLog.objects.get(change_request=cr).approvers == ["alex.approver", "bea.approver"]


def test_a_changed_bank_account_needs_two_approvers_and_never_stores_the_number_in_clear(
    supplier, steward, approver, approver2
):
    account = supplier.bank_accounts.get()
    cr = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=supplier.pk,
        changes={"bank_accounts": [{"holder_name": "Medline Industries", "iban": "DE89 3704 0044 0532 0130 00"}]},
        actor=steward,
        reason="supplier letter of 2026-11-20",
    )
    assert cr.required_approvals == 2
    raw = ChangeRequest.objects.filter(pk=cr.pk).values_list("changes", "diff")[0]
    assert "DE89370400440532013000" not in str(raw) and "12345678901" not in str(raw)
    assert "3000" in str(cr.diff)  # the masked last four show what changed
    change_request_approve(cr, actor=approver)
    change_request_approve(cr, actor=approver2)
    supplier.refresh_from_db()
    (new,) = supplier.bank_accounts.all()
    assert new.pk != account.pk and new.iban == "DE89370400440532013000"


def test_stale_base_is_refused_then_rebased_and_approved(make_item, steward, approver, approver2):
    item = make_item("Blom trach tube")
    first = propose(item, steward, short_name="first")
    second = propose(item, steward, description="Blom tracheostomy tube, basic")
    change_request_approve(first, actor=approver)
    with pytest.raises(StaleBaseError, match="Rebase"):
        change_request_approve(second, actor=approver)
    assert ChangeRequest.objects.get(pk=second.pk).approvals.count() == 0  # the refused approval left nothing
    change_request_rebase(second, actor=steward)
    second.refresh_from_db()
    item.refresh_from_db()
    assert second.base_version == item.version and "Rebased" in second.comments.get().text
    change_request_approve(second, actor=approver)
    item.refresh_from_db()
    assert (item.short_name, item.description) == ("first", "Blom tracheostomy tube, basic")  # no lost update


def test_rebase_voids_earlier_approvals_and_reports_conflicts(supplier, steward, approver, approver2):
    cr = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=supplier.pk,
        changes={"vat": "DE136695976"},
        actor=steward,
        reason="EU entity",
    )
    change_request_approve(cr, actor=approver)
    other = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=supplier.pk,
        changes={"legal_name": "Medline Industries LP"},
        actor=steward,
        reason="name as on the W-9",
    )
    change_request_approve(other, actor=approver)
    change_request_rebase(cr, actor=steward)
    cr.refresh_from_db()
    assert cr.approvals.get().void and "no longer count" in cr.comments.get().text
    change_request_approve(cr, actor=approver)
    cr.refresh_from_db()
    assert cr.status == Status.SUBMITTED  # one fresh approval of two
    change_request_approve(cr, actor=approver2)
    assert Supplier.objects.get(pk=supplier.pk).vat == "DE136695976"


def test_reject_needs_a_reason_and_changes_nothing(make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="x")
    with pytest.raises(ValidationError) as exc:
        change_request_reject(cr, actor=approver, reason="  ")
    assert "reason" in exc.value.message_dict
    change_request_reject(cr, actor=approver, reason="the catalog name is right")
    cr.refresh_from_db()
    assert cr.status == Status.REJECTED
    assert Item.objects.get(pk=item.pk).short_name == ""
    assert DecisionLog.objects.get(change_request=cr).action == "rejected"
    with pytest.raises(ChangeError, match="rejected"):
        change_request_approve(cr, actor=approver)


def test_validation_errors_are_per_field_and_write_nothing(make_item, steward):
    item = make_item("Blom trach tube")
    with pytest.raises(ValidationError) as exc:
        propose(item, steward, ndc="0409-2720-01", colour="blue")
    assert {"colour"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        propose(item, steward, description=item.description)
    assert "Nothing changed" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        change_request_create(
            entity_type="item", kind="update", object_id=item.pk, changes={"short_name": "x"}, actor=steward, reason=""
        )
    assert "reason" in exc.value.message_dict
    assert not ChangeRequest.objects.exists()


def test_approver_scopes_by_category(make_item, steward, devices_approver):
    device = make_item("Blom trach tube", unspsc="42271706")
    glove = make_item("Exam glove", unspsc="53102800", part="G-1")
    in_scope, out_of_scope = propose(device, steward, short_name="trach"), propose(glove, steward, short_name="glove")
    assert in_scope.scope_category == "42271706"
    with pytest.raises(ChangePermissionError, match="outside your approval scopes"):
        change_request_approve(out_of_scope, actor=devices_approver)
    change_request_approve(in_scope, actor=devices_approver)
    assert ChangeRequest.objects.get(pk=in_scope.pk).status == Status.APPLIED


def test_withdraw_only_by_the_requester(make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="x")
    with pytest.raises(ChangePermissionError):
        change_request_withdraw(cr, actor=approver)
    change_request_withdraw(cr, actor=steward, reason="typo")
    assert ChangeRequest.objects.get(pk=cr.pk).status == Status.WITHDRAWN
    with pytest.raises(ChangeError):
        change_request_approve(cr, actor=approver)


def test_create_and_retire_are_change_requests(steward, approver, units):
    cr = change_request_create(
        entity_type="item",
        kind="create",
        changes={"description": "Suture, nylon 3-0", "item_type": "med_surg", "base_unit": "EA", "unspsc": "42312201"},
        actor=steward,
        reason="new product on contract",
    )
    assert cr.object_id is None and cr.scope_category == "42312201"
    change_request_approve(cr, actor=approver)
    cr.refresh_from_db()
    item = Item.objects.get(pk=cr.object_id)
    assert item.description == "Suture, nylon 3-0"
    retire = retire_propose(entity_type="item", object_id=item.pk, actor=steward, reason="discontinued")
    change_request_approve(retire, actor=approver)
    item.refresh_from_db()
    assert item.status == "retired"
    with pytest.raises(ChangeError, match="retired"):
        propose(item, steward, short_name="x")


def test_pinned_values_are_recorded(make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr = change_request_create(
        entity_type="item",
        kind="update",
        object_id=item.pk,
        changes={"short_name": "Blom 313"},
        pins=["short_name"],
        actor=steward,
        reason="the name our nurses search for",
    )
    change_request_approve(cr, actor=approver)
    pin = PinnedValue.objects.get(entity_type="item", object_id=item.pk, field="short_name")
    assert pin.value == "Blom 313" and pin.pinned_by == steward
    assert GoldenLineage.objects.get(object_id=item.pk).fields["short_name"]["rule"] == "pinned"


def test_a_new_record_missing_a_required_field_is_refused_when_proposed(steward, units):
    with pytest.raises(ValidationError) as exc:
        change_request_create(
            entity_type="item", kind="create", changes={"description": "Suture"}, actor=steward, reason="new"
        )
    assert {"item_type", "base_unit"} <= set(exc.value.message_dict)
    assert not ChangeRequest.objects.exists()


def test_admin_exports_selected_decisions_as_csv(make_item, steward, approver, admin_client):
    item = make_item("Blom trach tube")
    change_request_approve(propose(item, steward, short_name="=HYPERLINK(1)"), actor=approver)
    log = DecisionLog.objects.get()
    response = admin_client.post("/admin/mdm/decisionlog/", {"action": "export_csv", "_selected_action": [log.pk]})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response["Content-Type"].startswith("text/csv") and lines[0].startswith("when,action,entity_type")
    assert "applied" in lines[1] and "alex.approver" in lines[1]
