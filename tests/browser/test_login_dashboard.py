"""A steward logs in and sees the dashboard; a wrong password gets a clear message. Real Chromium."""

import pytest
from django.contrib.auth.models import Group, User

from mdm.models import SourceSystem
from uom.services import unit_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def steward_login(transactional_db):
    user = User.objects.create_user("sam.steward", password="correct horse battery")
    user.groups.add(Group.objects.get(name="steward"))
    return user


def log_in(page, live_server, password):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # the dashboard needs a login
    page.fill("#id_username", "sam.steward")
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_steward_logs_in_and_sees_counts(page, live_server, steward_login, screenshot_dir):
    SourceSystem.objects.create(name="odoo-prod", kind="odoo", trust_rank=1)
    for code in ("EA", "BX"):
        unit_create(code=code, name=code, dimension="count", actor=None, reason="t")
    log_in(page, live_server, "correct horse battery")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Dashboard"
    unit_card = page.locator("a.card", has_text="active unit records")
    assert unit_card.locator(".num").inner_text() == "2"
    # A steward has no admin access: the card leads to the API list instead.
    assert unit_card.get_attribute("href") == "/api/v1/units/"
    assert page.locator("header nav a", has_text="Admin").count() == 0
    assert page.locator("table", has_text="odoo-prod").is_visible()
    assert "Nothing ingested yet." in page.content()
    proposals = page.locator("a.card", has_text="match proposals waiting for review")
    assert proposals.locator(".num").inner_text() == "0"
    assert proposals.get_attribute("href") == "/api/v1/match/candidates/?status=open"
    assert "No match runs yet." in page.content()
    page.screenshot(path=str(screenshot_dir / "dashboard.png"), full_page=True)


def test_wrong_password_is_refused_with_a_message(page, live_server, steward_login):
    log_in(page, live_server, "wrong password")
    error = page.locator(".errorlist")
    error.wait_for()
    assert "correct username and password" in error.inner_text()
    assert "/accounts/login/" in page.url


def test_dashboard_shows_match_runs_and_waiting_proposals(page, live_server, steward_login, screenshot_dir):
    from mdm.models import MatchCandidate, MatchRun

    run = MatchRun.objects.create(entity_type="supplier", mode="incremental", status="done", records=12, auto_linked=9)
    for n in range(3):
        MatchCandidate.objects.create(
            entity_type="supplier",
            kind="link",
            left_ref=f"c:{n + 1}",
            right_ref="g:1",
            right_golden_id=1,
            probability=0.8,
            match_weight=2.0,
            band="review",
            explanation={},
            run=run,
        )
    log_in(page, live_server, "correct horse battery")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("a.card", has_text="match proposals").locator(".num").inner_text() == "3"
    row = page.locator("table tr", has_text="Incremental")
    cells = [cell.inner_text() for cell in row.locator("td").all()]
    assert cells[1:6] == ["supplier", "Incremental (new and changed source records)", "12", "9", "0"]
    assert cells[6] == "3", "the run's proposals waiting for review"
    page.screenshot(path=str(screenshot_dir / "dashboard-matching.png"), full_page=True)
