"""A steward works the review inbox in real Chromium: opens a proposal, types a reason, presses "n", moves on."""

import pytest
from django.contrib.auth.models import Group, User

from mdm.models import MatchCandidate, SourceRecord, SourceSystem
from mdm.services import matching
from mdm.services.ingest import source_records_ingest
from suppliers.services import supplier_create
from tests.browser.conftest import publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def steward_login(transactional_db):
    user = User.objects.create_user("sam.steward", password="correct horse battery")
    user.groups.add(Group.objects.get(name="steward"))
    return user


def duplicate(a, b, probability):
    _, adapter = matching._adapter("supplier")
    left, right = list(adapter.golden_rows([a.pk])), list(adapter.golden_rows([b.pk]))
    [(_, _, explanation)] = matching.matcher_for("supplier").match_one(
        {**left[0], "id": "l"}, [{**right[0], "id": "r"}], top_k=1
    )
    explained = explanation.to_dict()
    return MatchCandidate.objects.create(
        entity_type="supplier",
        kind="duplicate",
        left_ref=f"g:{a.pk}",
        right_ref=f"g:{b.pk}",
        left_golden_id=a.pk,
        right_golden_id=b.pk,
        probability=probability,
        match_weight=explained["match_weight"],
        band="match" if probability >= 0.95 else "review",
        priority=1 if probability >= 0.95 else 2,
        explanation={**explained, "probability": probability},
    )


@pytest.fixture
def proposals(steward_login):
    def make(name, **extra):
        return supplier_create(data={"legal_name": name, **extra}, actor=steward_login, reason="test")

    medline = make("Medline Industries, LP", duns="025483210", ein="36-1234567")
    twin = make("MEDLINE INDUSTRIES LP", duns="025483210")
    bard = make("Bard Access Systems, Inc.", duns="099105123")
    bard_pv = make("Bard Peripheral Vascular, Inc.", duns="181201222")
    cardinal = make("Cardinal Health, Inc.", duns="041629111")
    catalog = SourceSystem.objects.create(name="distributor-catalog", kind="file", trust_rank=20)
    source_records_ingest(
        system=catalog,
        entity_type="supplier",
        records=[{"external_id": "C-7", "payload": {"legal_name": "CARDINAL HEALTH", "city": "Dublin"}}],
        actor=steward_login,
    )
    record = SourceRecord.objects.get(system=catalog, external_id="C-7")
    matching.match_source_records("supplier", source_record_ids=[record.pk])
    first = duplicate(medline, twin, 0.985)
    second = duplicate(bard, bard_pv, 0.62)
    return {"first": first, "second": second, "cardinal": cardinal}


def log_in(page, live_server, next_path):
    page.goto(f"{live_server.url}{next_path}")
    page.fill("#id_username", "sam.steward")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def save(page, screenshot_dir, name):
    path = screenshot_dir / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    publish(path, f"{name}.png")


def test_steward_rejects_a_proposal_with_the_keyboard(page, live_server, proposals, screenshot_dir):
    first = proposals["first"]
    inbox = list(MatchCandidate.objects.filter(status="open").values_list("pk", flat=True))
    assert inbox[0] == first.pk and len(inbox) >= 3, "the match band comes first"
    following = inbox[1]
    log_in(page, live_server, "/review/")
    assert page.locator("h1").inner_text() == "Review inbox"
    rows = page.locator("table.inbox tbody tr")
    assert [row.get_attribute("data-candidate") for row in rows.all()] == [str(pk) for pk in inbox]
    assert "98.5%" in rows.first.inner_text()
    save(page, screenshot_dir, "review-inbox")

    rows.first.locator("a", has_text="Compare").click()
    page.wait_for_url(f"{live_server.url}/review/{first.pk}/")
    assert page.locator("[data-probability]").inner_text() == "98.5%"
    assert page.locator('tr[data-field="duns"]').get_attribute("data-state") == "same"
    assert page.locator('tr[data-field="ein"]').get_attribute("data-state") == "missing"
    survivor = page.locator('input[name="survivor"]:checked')
    assert survivor.get_attribute("value") == str(min(first.left_golden_id, first.right_golden_id))

    # "?" shows the help; the shortcuts don't fire while typing in the reason field
    page.keyboard.press("?")
    assert page.locator("#review-help").is_visible()
    page.keyboard.press("?")
    assert page.locator("#review-help").is_hidden()
    page.fill("#id_reason", "two legal entities")
    save(page, screenshot_dir, "review-compare")
    page.locator("#id_reason").press("n")
    assert page.locator("#id_reason").input_value() == "two legal entitiesn"
    first.refresh_from_db()
    assert first.status == "open", "typing n in the reason must not decide"
    page.fill("#id_reason", "two legal entities")

    # leave the field (Esc), then press the shortcut
    page.locator("#id_reason").press("Escape")
    page.keyboard.press("n")
    page.wait_for_url(f"{live_server.url}/review/{following}/")
    page.locator("ul.messages").wait_for()
    assert "Not a match" in page.locator("ul.messages").inner_text()
    first.refresh_from_db()
    assert first.status == "rejected" and first.decision_reason == "two legal entities"

    # k goes back to the previous pending proposal, j forward again
    page.keyboard.press("j")
    page.wait_for_url(f"{live_server.url}/review/{inbox[2]}/")
    page.keyboard.press("k")
    page.wait_for_url(f"{live_server.url}/review/{following}/")


def test_defer_with_the_keyboard_without_htmx_still_works(page, live_server, proposals):
    """The shortcut clicks a real submit button: a plain form POST and redirect, htmx or not."""
    first = proposals["first"]
    page.route("**/htmx*.js", lambda route: route.abort())  # no htmx: the plain form and redirect
    log_in(page, live_server, f"/review/{first.pk}/")
    page.keyboard.press("d")
    page.wait_for_url(lambda url: f"/review/{first.pk}/" not in url)
    first.refresh_from_db()
    assert first.status == "deferred"


def test_with_htmx_the_panel_is_swapped_in_place(page, live_server, proposals):
    """htmx enhances the same form: the decision swaps the review panel to the next proposal without a reload."""
    first = proposals["first"]
    inbox = list(MatchCandidate.objects.filter(status="open").values_list("pk", flat=True))
    log_in(page, live_server, f"/review/{first.pk}/")
    assert page.evaluate("Boolean(window.htmx)"), "base.html loads htmx"
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_reason", "come back after the vendor call")
    page.locator("#id_reason").press("Escape")
    page.keyboard.press("d")
    page.wait_for_url(f"{live_server.url}/review/{inbox[1]}/")
    page.locator("ul.messages").wait_for()
    assert "Deferred" in page.locator("ul.messages").inner_text()
    assert page.evaluate("window.__sameDocument === true"), "the panel was swapped, the page not reloaded"
    assert page.locator("#review-panel").get_attribute("data-candidate") == str(inbox[1])
    first.refresh_from_db()
    assert first.status == "deferred" and first.decision_reason == "come back after the vendor call"
    # the swapped panel's shortcuts work: back to the deferred proposal with k
    page.keyboard.press("k")
    page.wait_for_url(f"{live_server.url}/review/{first.pk}/")
