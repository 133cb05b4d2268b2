"""A steward searches, opens a record, and sees likely duplicates appear while typing a new one. Real Chromium."""

import pytest
from django.contrib.auth.models import Group, User
from guardian.shortcuts import assign_perm

from mdm.models import SourceRecord, SourceSystem
from mdm.services.changes import change_request_approve, change_request_create
from mdm.services.golden import golden_create_from_source
from mdm.services.ingest import source_records_ingest
from suppliers.services import supplier_create
from tests.browser.conftest import publish
from tests.conftest import global_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def users(transactional_db):
    steward = User.objects.create_user("sam.steward", password="correct horse battery")
    steward.groups.add(Group.objects.get(name="steward"))
    approver = User.objects.create_user("alex.approver", password="correct horse battery")
    approver.groups.add(Group.objects.get(name="approver"))
    assign_perm("mdm.approve_in_scope", approver, global_scope())
    return steward, approver


@pytest.fixture
def suppliers(users):
    """Medline from Odoo (with a bank account and a later rename), plus a few other suppliers to search through."""
    steward, approver = users
    odoo = SourceSystem.objects.create(name="odoo-prod", kind="odoo", trust_rank=1)
    payload = {
        "legal_name": "Medline Industries, LP",
        "ein": "36-1234567",
        "duns": "025483210",
        "aliases": ["MEDLINE IND LP"],
        "addresses": [{"kind": "remit_to", "line1": "Three Lakes Drive", "city": "Northfield", "country": "US"}],
        "bank_accounts": [{"holder_name": "Medline Industries", "iban": "DE89370400440532013000"}],
    }
    source_records_ingest(
        system=odoo,
        entity_type="supplier",
        records=[{"external_id": "V-100", "payload": payload}],
        actor=steward,
        match=False,
    )
    medline = golden_create_from_source(SourceRecord.objects.get(external_id="V-100"), actor=steward)
    cr = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=medline.pk,
        changes={"gln": "0614141000005", "screening_status": "clear", "screened_on": "2026-03-02"},
        actor=steward,
        reason="OIG exclusion screening done; GLN from the GS1 registry",
    )
    change_request_approve(cr, actor=approver)
    for name in ("Cardinal Health 200, LLC", "Owens & Minor Distribution, Inc.", "McKesson Medical-Surgical Inc."):
        supplier_create(data={"legal_name": name}, actor=steward, reason="initial load")
    return medline


def test_steward_searches_opens_a_record_and_sees_duplicates_while_creating(
    page, live_server, suppliers, screenshot_dir
):
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "sam.steward")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # search from the header, by identifier (the EIN without its hyphen)
    page.fill("header form.search input[name=q]", "361234567")
    page.press("header form.search input[name=q]", "Enter")
    page.wait_for_url("**/search/?q=361234567")
    result = page.locator("#results-supplier a", has_text="Medline Industries, LP")
    assert result.count() == 1
    page.screenshot(path=str(screenshot_dir / "search.png"), full_page=True)
    result.click()
    page.wait_for_url(f"**/records/supplier/{suppliers.pk}/")
    assert page.locator("#record-label").inner_text() == "Medline Industries, LP"
    assert "odoo-prod" in page.locator("tr[data-field=ein] .lineage").inner_text()
    assert "OIG exclusion screening done" in page.locator("#history").inner_text()
    assert page.locator("#propose-change").is_visible()
    page.screenshot(path=str(screenshot_dir / "record.png"), full_page=True)

    # a new supplier: likely duplicates appear as the steward types (htmx), before anything is saved
    page.goto(f"{live_server.url}/records/supplier/new/")
    assert "Type a name" in page.locator("#suggestions").inner_text()
    page.locator("#id_legal_name").press_sequentially("Medline Industries Inc", delay=20)
    suggestion = page.locator("#suggestions tr.suggestion a", has_text="Medline Industries, LP")
    suggestion.wait_for()
    assert suggestion.get_attribute("href") == f"/records/supplier/{suppliers.pk}/"
    assert page.locator("#suggestions", has_text="Cardinal").count() == 0
    assert "/records/supplier/new/" in page.url  # nothing was submitted
    page.screenshot(path=str(screenshot_dir / "create-suggestions.png"), full_page=True)

    for name in ("record.png", "create-suggestions.png"):
        publish(screenshot_dir / name, name)
