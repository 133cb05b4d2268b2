"""Login lockout (django-axes): 5 failed logins for a username from one address pause it for 15 minutes, even with
the right password; the page says when to retry and whom to ask; one audit row per lockout; success resets."""

from datetime import timedelta

import pytest
from axes.exceptions import AxesBackendRequestParameterRequired
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone

from mdm.models import AuditEvent

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "correct horse battery"  # tests/conftest.py


def attempt(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_settings_are_the_documented_defaults():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME * 60 == 15
    assert settings.AXES_RESET_ON_SUCCESS is True


def test_five_failures_lock_even_the_right_password_with_a_helpful_page(steward):
    client = Client()
    for _ in range(4):
        response = attempt(client, steward.username, "wrong password")
        assert response.status_code == 200 and not logged_in(client)  # the form again, with its error
    response = attempt(client, steward.username, "wrong password")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Login paused" in html and steward.username in html and "Try again after" in html
    assert "your MDM hub administrator" in html and "15 minutes" in html

    response = attempt(client, steward.username, PASSWORD)
    assert response.status_code == 429 and not logged_in(client)
    retry = response.context["retry_at"]
    assert timedelta(minutes=14) < retry - timezone.now() <= timedelta(minutes=15)

    # One audit row for the lockout, not one per refused attempt.
    rows = AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_LOCKED)
    assert rows.count() == 1
    row = rows.get()
    assert (row.object_type, row.object_id, row.actor, row.via) == ("auth.user", str(steward.pk), None, "login")
    assert row.detail["username"] == steward.username and row.detail["failures"] == 5
    assert row.ip == "127.0.0.1"


def test_the_pause_ends_after_the_cool_off(steward):
    client = Client()
    for _ in range(5):
        attempt(client, steward.username, "wrong password")
    assert attempt(client, steward.username, PASSWORD).status_code == 429
    # Time passes: the failures are now 16 minutes old.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = attempt(client, steward.username, PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_a_successful_login_resets_the_count(steward):
    client = Client()
    for _ in range(4):
        attempt(client, steward.username, "wrong password")
    assert attempt(client, steward.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, steward.username, "wrong password").status_code == 200
    assert attempt(client, steward.username, PASSWORD).status_code == 302
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_LOCKED).exists()


def test_lockout_is_per_username_and_address(steward, viewer):
    locker = Client(REMOTE_ADDR="10.0.0.66")
    for _ in range(5):
        attempt(locker, steward.username, "wrong password")
    assert attempt(locker, steward.username, PASSWORD).status_code == 429
    # The steward at their own desk, and a colleague behind the same address, still get in.
    desk = Client(REMOTE_ADDR="10.0.0.7")
    assert attempt(desk, steward.username, PASSWORD).status_code == 302
    colleague = Client(REMOTE_ADDR="10.0.0.66")
    assert attempt(colleague, viewer.username, PASSWORD).status_code == 302


def test_admin_login_is_counted_too(steward):
    client = Client()
    for _ in range(5):
        response = client.post("/admin/login/", {"username": steward.username, "password": "wrong", "next": "/admin/"})
    assert response.status_code == 429
    assert attempt(client, steward.username, PASSWORD).status_code == 429


def test_an_unknown_username_is_locked_and_audited_by_name(db):
    client = Client()
    for _ in range(5):
        response = attempt(client, "no.such.user", "guess")
    assert response.status_code == 429
    row = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_LOCKED)
    assert (row.object_type, row.object_id, row.object_repr) == ("auth.user", "", "no.such.user")


def test_client_login_without_a_request_is_refused_so_tests_use_force_login(steward):
    """django-axes needs the request; Django's test ``Client.login`` does not pass one (use ``force_login``)."""
    with pytest.raises(AxesBackendRequestParameterRequired):
        Client().login(username=steward.username, password=PASSWORD)
