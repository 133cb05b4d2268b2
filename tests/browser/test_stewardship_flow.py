"""The stewardship acceptance flow in real Chromium: a steward proposes a merge from the review inbox, cannot
approve it herself, a viewer cannot either, an approver approves it; the record pages show the merge and the
merged record's past."""

import re
from datetime import UTC

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from guardian.shortcuts import assign_perm

from items.services import item_create
from mdm.models import ApprovalScope, ChangeRequest, MatchCandidate
from mdm.services import matching
from tests.browser.conftest import publish
from uom.services import unit_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def user(username, role):
    person = User.objects.create_user(username, password=PASSWORD)
    person.groups.add(Group.objects.get(name=role))
    return person


@pytest.fixture
def cast(transactional_db):
    sam, alex, vic = user("sam", "steward"), user("alex", "approver"), user("vic", "viewer")
    scope, _ = ApprovalScope.objects.get_or_create(name="All records")
    assign_perm("mdm.approve_in_scope", alex, scope)
    return {"sam": sam, "alex": alex, "vic": vic}


@pytest.fixture
def twins(cast):
    """Two golden items for one trach tube and the duplicate proposal a match run leaves between them."""
    for code, name in (("EA", "Each"), ("BX", "Box")):
        unit_create(code=code, name=name, dimension="count", actor=None, reason="test")

    def make(description, part):
        return item_create(
            data={
                "description": description,
                "manufacturer_name": "PULMODYNE INC",
                "manufacturer_part_number": part,
                "item_type": "med_surg",
                "unspsc": "42271706",
                "base_unit": "EA",
            },
            actor=cast["sam"],
            reason="initial load",
        )

    survivor = make("Blom tracheostomy tube, basic, single-use", "313-71-015")
    merged = make("BLOM TRACH TUBE BASIC SINGLE USE", "31371015")
    _, adapter = matching._adapter("item")
    left, right = list(adapter.golden_rows([survivor.pk])), list(adapter.golden_rows([merged.pk]))
    [(_, _, explanation)] = matching.matcher_for("item").match_one(
        {**left[0], "id": "l"}, [{**right[0], "id": "r"}], top_k=1
    )
    explained = explanation.to_dict()
    candidate = MatchCandidate.objects.create(
        entity_type="item",
        kind=MatchCandidate.Kind.DUPLICATE,
        left_ref=f"g:{survivor.pk}",
        right_ref=f"g:{merged.pk}",
        left_golden_id=survivor.pk,
        right_golden_id=merged.pk,
        probability=0.991,
        match_weight=explained["match_weight"],
        band="match",
        priority=1,
        explanation={**explained, "probability": 0.991},
    )
    return {"survivor": survivor, "merged": merged, "candidate": candidate}


def log_in(browser, live_server, username, next_path="/"):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}{next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")
    return page


def forged_post(page, url):
    """POST with the page's own session and CSRF token, as a hand-made request from a logged-in browser would."""
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    return page.request.post(url, form={"csrfmiddlewaretoken": token, "reason": "forged"})


def save(page, screenshot_dir, name):
    path = screenshot_dir / name
    page.screenshot(path=str(path), full_page=True)
    publish(path, name)


def test_merge_proposed_by_a_steward_is_approved_by_someone_else(browser, live_server, cast, twins, screenshot_dir):
    survivor, merged = twins["survivor"], twins["merged"]
    before_merge = timezone.now()

    # (a) sam opens the review inbox, opens the duplicate pair and proposes the merge.
    sam = log_in(browser, live_server, "sam", "/review/")
    sam.locator(f'a[href^="/review/{twins["candidate"].pk}/"]').first.click()
    sam.wait_for_url(re.compile(rf"/review/{twins['candidate'].pk}/"))
    sam.check(f'input[name=survivor][value="{survivor.pk}"]')
    sam.fill("#id_reason", "Same part number and GUDID; one record per trach tube")
    sam.click("button[name=decision][value=match]")
    proposed = sam.locator("a", has_text=re.compile(r"^#\d+$")).first
    proposed.wait_for()
    cr = ChangeRequest.objects.get(kind="merge", object_id=survivor.pk)
    assert cr.status == ChangeRequest.Status.SUBMITTED and cr.requested_by == cast["sam"]
    assert cr.changes["merged_id"] == merged.pk
    detail = f"{live_server.url}/changes/{cr.pk}/"

    # (b) sam opens her request: no approve button, the four-eyes note, and a forged approval is refused.
    sam.goto(detail)
    assert sam.locator("h1").inner_text().startswith(f"#{cr.pk} Merge")
    assert sam.locator(f'form[action="/changes/{cr.pk}/approve/"]').count() == 0
    assert "someone else must approve it" in sam.locator("#why-not").inner_text()
    response = forged_post(sam, f"{detail}approve/")
    assert response.status == 403 and "four-eyes" in response.text()
    cr.refresh_from_db()
    assert cr.status == ChangeRequest.Status.SUBMITTED and not cr.approvals.exists()

    # (f) a viewer sees no button and the approve endpoint refuses them too.
    vic = log_in(browser, live_server, "vic", f"/changes/{cr.pk}/")
    assert vic.locator(f'form[action="/changes/{cr.pk}/approve/"]').count() == 0
    assert vic.locator("#change-panel form").count() == 0
    response = forged_post(vic, f"{detail}approve/")
    assert response.status == 403
    cr.refresh_from_db()
    assert not cr.approvals.exists()

    # (c) alex logs in, finds it under "waiting for me" and approves it.
    alex = log_in(browser, live_server, "alex", "/")
    assert alex.locator("#inbox-awaiting .num").inner_text() == "1"
    save(alex, screenshot_dir, "dashboard.png")
    alex.click("#inbox-awaiting")
    alex.wait_for_url(re.compile(r"/changes/\?tab=awaiting"))
    row = alex.locator(f'tr[data-pk="{cr.pk}"]')
    assert "sam" in row.inner_text() and "0/1" in row.inner_text()
    save(alex, screenshot_dir, "changes-list.png")
    row.locator(f'a[href="/changes/{cr.pk}/"]').click()
    alex.wait_for_url(detail)
    assert alex.locator(".side-by-side").is_visible(), "both records side by side"
    assert "Match evidence" in alex.content()
    save(alex, screenshot_dir, "change-request.png")
    # htmx swaps the page in place (no reload: the marker survives); a reject without a reason shows the error.
    alex.evaluate("window.noReload = true")
    alex.click("button[name=reject]")
    alex.locator("#action-errors", has_text="Say why you reject").wait_for()
    assert alex.locator("#cr-status").inner_text() == "Submitted"
    alex.fill("#approve-reason", "Checked against GUDID")
    alex.click("button[name=approve]")
    alex.locator(".messages", has_text="Approved and applied").wait_for()
    assert alex.evaluate("window.noReload") is True
    assert alex.locator("#cr-status").inner_text() == "Applied"
    cr.refresh_from_db()
    merged.refresh_from_db()
    assert cr.status == ChangeRequest.Status.APPLIED and merged.status == "retired"

    # (d) the survivor's page lists the merge, in its merges and in its history timeline (from the decision log);
    # the merged record is retired, its timeline names the request.
    assert alex.goto(f"{live_server.url}/records/item/{survivor.pk}/").status == 200
    timeline = alex.locator("#history").inner_text()
    assert f"Merged item #{merged.pk} into #{survivor.pk}" in timeline and f"change request #{cr.pk}" in timeline
    merges = alex.locator("#merges")
    assert f"change request #{cr.pk}" in merges.inner_text()
    assert merges.locator(f'a[href="/records/item/{merged.pk}/"]').count() == 1
    assert alex.goto(f"{live_server.url}/records/item/{merged.pk}/").status == 200
    assert alex.locator("#record-status").inner_text() == "retired"
    assert alex.locator(f'#merges a[href="/records/item/{survivor.pk}/"]').count() == 1
    assert f"change request #{cr.pk}" in alex.locator("#history").inner_text()

    # (e) as of a time before the merge, the merged record was active.
    as_of = before_merge.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")  # naive: read as UTC
    assert alex.goto(f"{live_server.url}/records/item/{merged.pk}/?as_of={as_of}").status == 200
    assert alex.locator("#as-of-banner").is_visible()
    assert alex.locator("#record-status").inner_text() == "active"

    for page in (sam, vic, alex):
        page.context.close()
