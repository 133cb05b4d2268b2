"""Change-request pages, the decisions CSV and the dashboard inbox, through Django's test client on the real DB."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from items.services import item_create
from mdm import roles
from mdm.models import ApprovalScope, ChangeApproval, ChangeRequest, DecisionLog, MatchCandidate
from mdm.services.changes import change_request_approve, change_request_create, merge_propose
from mdm.services.golden import golden_save
from suppliers.services import supplier_create
from tests.conftest import _user, global_scope
from uom.services import unit_create

pytestmark = pytest.mark.django_db

Status = ChangeRequest.Status


@pytest.fixture
def units(steward):
    for code, name in (("EA", "Each"), ("BX", "Box")):
        unit_create(code=code, name=name, dimension="count", actor=steward, reason="test")


@pytest.fixture
def make_item(steward, units):
    def make(description, *, unspsc="42271706", part="313-71-015", **extra):
        return item_create(
            data={
                "description": description,
                "manufacturer_name": "PULMODYNE INC",
                "manufacturer_part_number": part,
                "item_type": "med_surg",
                "unspsc": unspsc,
                "base_unit": "EA",
                **extra,
            },
            actor=steward,
            reason="test",
        )

    return make


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


def login(client, user):
    client.force_login(user)
    return client


def propose(item, actor, **changes):
    return change_request_create(
        entity_type="item", kind="update", object_id=item.pk, changes=changes, actor=actor, reason="catalog fix"
    )


def listed(response) -> list[int]:
    return [row["cr"].pk for row in response.context["rows"]]


# --- the list -------------------------------------------------------------------------------------------------


def test_tabs_awaiting_excludes_own_and_out_of_scope_requests(client, make_item, steward, approver, devices_approver):
    device = make_item("Blom trach tube")
    paper = make_item("Copy paper, A4", unspsc="14111507", part="PAPER-1")
    by_steward = propose(device, steward, short_name="Blom 313")
    paper_change = propose(paper, steward, short_name="A4 paper")
    by_approver = propose(device, approver, manufacturer_part_number="313-71-016")

    login(client, approver)
    response = client.get("/changes/")
    assert response.status_code == 200
    assert response.context["tab"] == "awaiting", "approvers start on their queue"
    assert listed(response) == [by_steward.pk, paper_change.pk], "oldest first, never their own request"
    assert "Waiting for me" in response.text

    mine = client.get("/changes/?tab=mine")
    assert listed(mine) == [by_approver.pk]
    assert set(listed(client.get("/changes/?tab=open"))) == {by_steward.pk, paper_change.pk, by_approver.pk}

    login(client, devices_approver)
    # The devices approver answers for UNSPSC 42 only: the paper change is not theirs.
    awaiting = set(listed(client.get("/changes/?tab=awaiting")))
    assert awaiting == {by_steward.pk, by_approver.pk}
    assert paper_change.pk not in awaiting

    login(client, steward)
    response = client.get("/changes/")
    assert response.context["tab"] == "open", "stewards do not approve: no queue of their own"
    assert "?tab=awaiting" not in response.text
    assert "Nothing is waiting for you" in client.get("/changes/?tab=awaiting").text


def test_filters_by_entity_type_kind_and_status(client, make_item, steward, approver):
    item = make_item("Blom trach tube")
    other = make_item("Copy paper, A4", unspsc="14111507", part="PAPER-1")
    update = propose(item, steward, short_name="Blom 313")
    retire = change_request_create(
        entity_type="item", kind="retire", object_id=other.pk, actor=steward, reason="discontinued"
    )
    applied = propose(other, steward, short_name="paper")
    change_request_approve(applied, actor=approver)

    login(client, approver)
    assert listed(client.get("/changes/?tab=all&kind=retire")) == [retire.pk]
    assert listed(client.get("/changes/?tab=all&status=applied")) == [applied.pk]
    assert set(listed(client.get("/changes/?tab=all&entity_type=item"))) == {update.pk, retire.pk, applied.pk}
    assert listed(client.get("/changes/?tab=all&entity_type=supplier")) == []
    empty = client.get("/changes/?tab=all&entity_type=supplier")
    assert "No change requests match these filters." in empty.text
    assert set(listed(client.get("/changes/?tab=open"))) == {update.pk, retire.pk}
    # An unknown filter value is ignored rather than answering with nothing.
    assert len(listed(client.get("/changes/?tab=all&kind=bogus"))) == 3


def test_list_columns_risk_sla_and_empty_states(client, make_item, steward, approver, settings):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="Blom 313")
    ChangeRequest.objects.filter(pk=cr.pk).update(
        submitted_at=timezone.now() - timedelta(hours=settings.MDM_CHANGE_SLA_HOURS + 1), risk="high"
    )
    login(client, approver)
    response = client.get("/changes/?tab=awaiting")
    row = response.text.split(f'data-pk="{cr.pk}"')[1].split("</tr>")[0]
    assert f"/records/item/{item.pk}/" in row
    assert "sam.steward" in row and "0/1" in row
    assert "SLA breached" in row and "2 approvers" in row

    login(client, steward)
    assert "You have not requested any change yet" not in client.get("/changes/?tab=mine").text
    login(client, approver)
    assert "You have not requested any change yet" in client.get("/changes/?tab=mine").text


def test_list_pages_by_25_with_a_constant_number_of_queries(client, make_item, steward, approver):
    item = make_item("Blom trach tube")

    def add(n):
        ChangeRequest.objects.bulk_create(
            ChangeRequest(
                entity_type="item",
                object_id=item.pk,
                kind="update",
                status=Status.SUBMITTED,
                title=f"change {i}",
                reason="r",
                requested_by=steward,
                submitted_at=timezone.now(),
                base_version=item.version,
            )
            for i in range(n)
        )

    login(client, approver)
    add(3)
    client.get("/changes/?tab=all")  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        assert len(listed(client.get("/changes/?tab=all"))) == 3
    add(40)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/changes/?tab=all")
    assert len(listed(response)) == 25 and response.context["page"].paginator.num_pages == 2
    assert len(many) == len(few), "one query for the page, whatever its size"
    assert len(listed(client.get("/changes/?tab=all&page=2"))) == 18
    assert "page=2" in response.text


def test_reading_needs_the_view_permission(client, outsider, make_item, steward):
    cr = propose(make_item("Blom trach tube"), steward, short_name="x")
    login(client, outsider)
    assert client.get("/changes/").status_code == 403
    assert client.get(f"/changes/{cr.pk}/").status_code == 403
    client.logout()
    assert client.get("/changes/").status_code == 302


# --- the detail page and its actions --------------------------------------------------------------------------


def test_detail_shows_the_diff_and_approve_applies_the_change(client, make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="Blom trach 313")
    login(client, approver)
    page = client.get(f"/changes/{cr.pk}/")
    assert page.status_code == 200
    assert 'data-field="short_name"' in page.text and "Blom trach 313" in page.text
    assert f"/records/item/{item.pk}/" in page.text
    assert f'action="/changes/{cr.pk}/approve/"' in page.text
    assert f'action="/changes/{cr.pk}/reject/"' in page.text
    assert f'action="/changes/{cr.pk}/withdraw/"' not in page.text, "only the requester withdraws"

    response = client.post(f"/changes/{cr.pk}/approve/", {"reason": "matches the GUDID"}, follow=True)
    assert response.redirect_chain == [(f"/changes/{cr.pk}/", 302)]
    assert "Approved and applied" in response.text
    item.refresh_from_db()
    cr.refresh_from_db()
    assert item.short_name == "Blom trach 313" and cr.status == Status.APPLIED
    assert cr.approvals.get().reason == "matches the GUDID"
    assert f"applied as v{item.version}" in response.text
    assert f'action="/changes/{cr.pk}/approve/"' not in response.text


def test_reject_needs_a_reason_and_changes_nothing_without_one(client, make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="Blom trach 313")
    login(client, approver)
    response = client.post(f"/changes/{cr.pk}/reject/", {"reason": "  "})
    assert response.status_code == 400
    assert "Say why you reject this change" in response.text
    assert 'id="action-errors"' in response.text
    cr.refresh_from_db()
    assert cr.status == Status.SUBMITTED and not cr.approvals.exists()

    response = client.post(f"/changes/{cr.pk}/reject/", {"reason": "wrong part number"}, follow=True)
    assert "Rejected" in response.text
    cr.refresh_from_db()
    item.refresh_from_db()
    assert cr.status == Status.REJECTED and item.short_name == ""
    assert DecisionLog.objects.get(change_request=cr).reason == "wrong part number"


def test_an_htmx_post_with_an_error_is_answered_200_so_the_panel_is_swapped(client, make_item, steward, approver):
    cr = propose(make_item("Blom trach tube"), steward, short_name="x")
    login(client, approver)
    response = client.post(f"/changes/{cr.pk}/reject/", {"reason": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Say why you reject" in response.text
    assert 'id="change-panel"' in response.text


def test_the_requester_sees_no_approve_button_and_a_forged_post_is_refused(client, make_item, approver, approver2):
    item = make_item("Blom trach tube")
    cr = propose(item, approver, short_name="my own edit")
    login(client, approver)
    page = client.get(f"/changes/{cr.pk}/")
    assert f'action="/changes/{cr.pk}/approve/"' not in page.text
    assert f'action="/changes/{cr.pk}/reject/"' not in page.text
    assert "You requested this change: someone else must approve it" in page.text
    assert f'action="/changes/{cr.pk}/withdraw/"' in page.text

    for action, data in (("approve", {}), ("reject", {"reason": "forged"})):
        response = client.post(f"/changes/{cr.pk}/{action}/", data)
        assert response.status_code == 403
        assert "four-eyes" in response.text
    cr.refresh_from_db()
    item.refresh_from_db()
    assert cr.status == Status.SUBMITTED and not cr.approvals.exists() and item.short_name == ""

    login(client, approver2)
    assert f'action="/changes/{cr.pk}/approve/"' in client.get(f"/changes/{cr.pk}/").text


def test_a_steward_requester_gets_403_too(client, make_item, steward):
    cr = propose(make_item("Blom trach tube"), steward, short_name="mine")
    login(client, steward)
    assert client.post(f"/changes/{cr.pk}/approve/").status_code == 403
    assert ChangeRequest.objects.get(pk=cr.pk).status == Status.SUBMITTED


def test_a_viewer_sees_no_buttons_and_every_post_is_refused(client, make_item, steward, viewer):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="Blom trach 313")
    login(client, viewer)
    page = client.get(f"/changes/{cr.pk}/")
    assert page.status_code == 200 and "Blom trach 313" in page.text
    assert "<form" not in page.text.split('id="change-panel"')[1], "no action form at all"
    for action in ("approve", "reject", "withdraw", "submit", "rebase", "comment"):
        response = client.post(f"/changes/{cr.pk}/{action}/", {"reason": "viewer", "text": "hello"})
        assert response.status_code == 403, action
    cr.refresh_from_db()
    assert cr.status == Status.SUBMITTED and not cr.approvals.exists() and not cr.comments.exists()


def test_withdraw_submit_and_comment(client, make_item, steward, approver):
    item = make_item("Blom trach tube")
    draft = change_request_create(
        entity_type="item",
        kind="update",
        object_id=item.pk,
        changes={"short_name": "draft"},
        actor=steward,
        reason="r",
        submit=False,
    )
    login(client, steward)
    page = client.get(f"/changes/{draft.pk}/")
    assert f'action="/changes/{draft.pk}/submit/"' in page.text
    response = client.post(f"/changes/{draft.pk}/submit/", follow=True)
    assert "Submitted" in response.text
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED

    response = client.post(f"/changes/{draft.pk}/comment/", {"text": ""})
    assert response.status_code == 400 and "Write a comment." in response.text
    client.post(f"/changes/{draft.pk}/comment/", {"text": "GUDID says 313-71-015"})
    assert draft.comments.get().text == "GUDID says 313-71-015"

    login(client, approver)
    assert client.post(f"/changes/{draft.pk}/withdraw/").status_code == 403, "only the requester withdraws"
    login(client, steward)
    response = client.post(f"/changes/{draft.pk}/withdraw/", {"reason": "not needed"}, follow=True)
    assert "Withdrawn." in response.text
    draft.refresh_from_db()
    assert draft.status == Status.WITHDRAWN
    assert "GUDID says 313-71-015" in response.text


def test_a_stale_request_is_rebased_then_approved(client, make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="Blom trach 313")
    item.refresh_from_db()
    item.description = "Blom tracheostomy tube, basic"
    golden_save(item, actor=steward, reason="someone else edited it")

    login(client, approver)
    page = client.get(f"/changes/{cr.pk}/")
    assert "The record changed since this request was made" in page.text
    assert f'action="/changes/{cr.pk}/approve/"' not in page.text, "approving a stale diff is pointless"
    assert f'action="/changes/{cr.pk}/rebase/"' in page.text

    response = client.post(f"/changes/{cr.pk}/approve/", follow=True)
    assert response.redirect_chain == [(f"/changes/{cr.pk}/", 302)]
    assert "Rebase the request" in response.text and f'action="/changes/{cr.pk}/rebase/"' in response.text
    cr.refresh_from_db()
    assert cr.status == Status.SUBMITTED and not cr.approvals.exists()

    login(client, steward)
    response = client.post(f"/changes/{cr.pk}/rebase/", follow=True)
    assert "Rebased" in response.text
    assert "The record changed since" not in response.text
    cr.refresh_from_db()
    item.refresh_from_db()
    assert cr.base_version == item.version

    login(client, approver)
    client.post(f"/changes/{cr.pk}/approve/")
    item.refresh_from_db()
    assert item.short_name == "Blom trach 313" and item.description == "Blom tracheostomy tube, basic"


def test_void_approvals_are_struck_through(client, make_item, steward, approver):
    item = make_item("Blom trach tube")
    cr = propose(item, steward, short_name="x")
    ChangeApproval.objects.create(change_request=cr, actor=approver, decision="approve", void=True)
    login(client, approver)
    page = client.get(f"/changes/{cr.pk}/")
    assert '<tr class="void"' in page.text and "(void)" in page.text


def test_a_merge_shows_both_records_and_the_match_evidence(client, make_item, steward, approver):
    survivor = make_item("Blom tracheostomy tube, basic")
    merged = make_item("BLOM TRACH TUBE BASIC", part="313-71-015 ")
    explanation = {
        "prior_weight": -6.0,
        "match_weight": 9.5,
        "fields": [
            {
                "field": "description",
                "left": "blom trach tube",
                "right": "blom tracheostomy",
                "label": "fuzzy",
                "weight": 2.5,
            },
            {
                "field": "manufacturer_part_number",
                "left": "3137101",
                "right": "3137101",
                "label": "exact",
                "weight": 13.0,
            },
        ],
    }
    candidate = MatchCandidate.objects.create(
        entity_type="item",
        kind=MatchCandidate.Kind.DUPLICATE,
        left_ref=f"g:{survivor.pk}",
        right_ref=f"g:{merged.pk}",
        left_golden_id=survivor.pk,
        right_golden_id=merged.pk,
        probability=0.9993,
        match_weight=9.5,
        band="match",
        explanation=explanation,
    )
    cr = merge_propose(
        entity_type="item",
        survivor_id=survivor.pk,
        merged_id=merged.pk,
        actor=steward,
        reason="same GUDID",
        candidate=candidate,
    )
    login(client, approver)
    page = client.get(f"/changes/{cr.pk}/")
    assert "The two records" in page.text
    assert "Blom tracheostomy tube, basic" in page.text and "BLOM TRACH TUBE BASIC" in page.text
    assert f'href="/records/item/{merged.pk}/"' in page.text
    assert "Match evidence" in page.text and "100%" in page.text and "13.00" in page.text
    assert "manufacturer part number" in page.text

    client.post(f"/changes/{cr.pk}/approve/")
    merged.refresh_from_db()
    assert merged.status == "retired"
    page = client.get(f"/changes/{cr.pk}/")
    assert "Applied" in page.text and "(retired)" in page.text


def test_a_bank_account_change_is_readable_masked_and_needs_two_approvers(client, steward, approver, approver2):
    supplier = supplier_create(
        data={
            "legal_name": "Medline Industries, LP",
            "bank_accounts": [
                {"holder_name": "Medline Industries", "aba_routing": "071000013", "account_number": "12345678901"}
            ],
        },
        actor=steward,
        reason="test",
    )
    cr = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=supplier.pk,
        changes={"bank_accounts": [{"holder_name": "Medline Industries", "iban": "DE89 3704 0044 0532 0130 00"}]},
        actor=steward,
        reason="new remit-to bank letter",
    )
    login(client, approver)
    page = client.get(f"/changes/{cr.pk}/")
    row = page.text.split('data-field="bank_accounts"')[1].split("</tr>")[0]
    assert "sensitive" in row and "two approvers" in page.text
    assert '<li class="removed">' in row and "••••8901" in row, "the old account, struck through"
    assert '<li class="added">' in row and "••••3000" in row, "the new account, highlighted"
    assert "12345678901" not in page.text and "DE89" not in page.text and "0130 00" not in page.text
    assert "_encrypted" not in page.text and "{" not in row
    assert 'id="approval-count">0/2' in page.text

    client.post(f"/changes/{cr.pk}/approve/")
    assert "needs another approver" in client.get(f"/changes/{cr.pk}/").text
    login(client, approver2)
    client.post(f"/changes/{cr.pk}/approve/")
    cr.refresh_from_db()
    assert cr.status == Status.APPLIED
    assert supplier.bank_accounts.get().iban.replace(" ", "") == "DE89370400440532013000"


def test_list_of_dicts_values_are_shown_readably():
    from mdm.ui.changes import value_html

    old = [{"holder_name": "Medline", "account": "••••8901", "is_primary": True}]
    new = [*old, {"holder_name": "Medline", "account": "••••3000", "is_primary": False}]
    html = value_html(new, old, marker="added")
    assert '<li class="">' in html and '<li class="added">' in html
    assert '<span class="key">account</span> ••••3000' in html
    assert html.count("is primary") == 1, "a set flag reads as its name, an unset one is left out"
    assert "{" not in html, "no Python dict repr"
    assert 'class="missing"' in value_html(None)
    assert value_html(True) == "yes"
    assert "&lt;script&gt;" in value_html("<script>")


# --- the decisions CSV ----------------------------------------------------------------------------------------


def test_decisions_export_rows_range_and_permissions(client, make_item, steward, approver, outsider):
    item = make_item("Blom trach tube")
    applied = propose(item, steward, short_name="Blom 313")
    change_request_approve(applied, actor=approver)
    older = DecisionLog.objects.create(action="rejected", entity_type="item", object_id=item.pk, summary="old one")
    DecisionLog.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=10))

    login(client, approver)
    today = timezone.localdate()
    response = client.get(f"/decisions/export.csv?from={today}&to={today}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["change_request"] for row in rows] == [str(applied.pk)]
    assert rows[0]["action"] == "applied" and rows[0]["approvers"] == "alex.approver"
    assert rows[0]["requested_by"] == "sam.steward" and rows[0]["object_id"] == str(item.pk)
    assert list(rows[0]) == [
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
    whole = client.get(f"/decisions/export.csv?from={today - timedelta(days=10)}")
    assert b"old one" in b"".join(whole.streaming_content)
    bad = client.get("/decisions/export.csv?from=31/12/2026")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    assert client.get(f"/decisions/export.csv?from={today}&to={today - timedelta(days=1)}").status_code == 400

    assert "Export decisions" in client.get("/changes/").text
    login(client, outsider)
    assert client.get("/decisions/export.csv").status_code == 403


# --- the dashboard --------------------------------------------------------------------------------------------


def test_dashboard_inbox(client, make_item, steward, approver, viewer, settings):
    item = make_item("Blom trach tube")
    waiting = propose(item, steward, short_name="Blom 313")
    ChangeRequest.objects.filter(pk=waiting.pk).update(
        submitted_at=timezone.now() - timedelta(hours=settings.MDM_CHANGE_SLA_HOURS + 2)
    )
    done = propose(make_item("Copy paper", unspsc="14111507", part="P-1"), steward, short_name="paper")
    change_request_approve(done, actor=approver)
    for priority, n in ((1, 2), (2, 1), (3, 1)):
        for i in range(n):
            MatchCandidate.objects.create(
                entity_type="item",
                kind="duplicate",
                left_ref=f"g:{100 + priority * 10 + i}",
                right_ref=f"g:{i + 1}",
                right_golden_id=i + 1,
                probability=0.8,
                match_weight=2.0,
                band="review",
                explanation={},
                priority=priority,
            )
    old = MatchCandidate.objects.filter(priority=3).get()
    MatchCandidate.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=settings.MDM_REVIEW_SLA_DAYS + 1)
    )

    login(client, approver)
    response = client.get("/")
    inbox = response.context["inbox"]
    assert inbox["awaiting"] == 1 and inbox["mine_open"] == 0
    assert inbox["reviews"] == {"high": 2, "normal": 1, "low": 1, "total": 4}
    assert inbox["changes_late"] == 1 and inbox["reviews_late"] == 1 and inbox["sla_total"] == 2
    assert [d.change_request_id for d in inbox["decisions"]] == [done.pk]
    assert 'id="inbox-awaiting" href="/changes/?tab=awaiting"' in response.text and 'href="/review/"' in response.text
    assert f'href="/changes/{done.pk}/"' in response.text

    login(client, steward)
    response = client.get("/")
    assert response.context["inbox"]["mine_open"] == 1
    assert 'id="inbox-mine"' in response.text
    assert 'id="inbox-awaiting"' not in response.text, "stewards approve nothing: no queue card"

    login(client, viewer)
    response = client.get("/")
    assert response.status_code == 200 and response.context["inbox"]["awaiting"] == 0


def test_dashboard_cards_lead_to_search_for_types_stewards_change(client, steward, units):
    from mdm import registry

    login(client, steward)
    cards = {entity["entity_type"]: entity["url"] for entity in client.get("/").context["entities"]}
    for entity_type, url in cards.items():
        if registry.get(entity_type).stewardship is not None:
            assert url == f"/search/?type={entity_type}"
        else:
            assert url.startswith("/api/v1/")
    assert cards["unit"] == "/api/v1/units/"
