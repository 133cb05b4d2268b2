"""Second factor (django-otp TOTP): enrolment with a QR code, the code prompt after a password login, roles that
must have one (approving needs a verified session), removal; API tokens are not asked. Codes are computed from
the device's key with django_otp.oath.totp, as an authenticator app does."""

import base64
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from mdm import tokens
from mdm.models import AuditEvent, ChangeRequest
from tests.mdm.test_changes_api import act, make_item, propose  # noqa: F401 - make_item is a fixture

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
REQUIRED = override_settings(MDM_OTP_REQUIRED_ROLES=["approver"])


def code(device, steps_ahead=0) -> str:
    """The code the app shows now (``steps_ahead``: the next 30-second window, still accepted)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


def next_window(device):
    """A code may be used once per 30-second window: let the clock move on."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)


def wait_after_a_wrong_code(device):
    """django-otp holds the next try back for a second or more after a wrong code: let that time pass."""
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=timezone.now() - timedelta(minutes=1))


def password_login(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD, "next": "/"})
    assert response.status_code == 302, response.content[:300]


def enrol(client, user) -> TOTPDevice:
    page = client.get("/account/otp/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "otpauth" not in html  # the QR is drawn inline; the URL itself is not in the page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert page.context["key_text"].replace(" ", "") in base64.b32encode(device.bin_key).decode()
    response = client.post("/account/otp/", {"code": code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_enrolment_confirms_with_a_real_code_and_is_audited(steward):
    client = Client()
    client.force_login(steward)
    page = client.get("/account/otp/")
    device = TOTPDevice.objects.get(user=steward)
    wrong = client.post("/account/otp/", {"code": "000000" if code(device) != "000000" else "111111"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    assert "<svg" in page.content.decode()
    wait_after_a_wrong_code(device)
    assert client.post("/account/otp/", {"code": code(device)}).status_code == 302
    row = AuditEvent.objects.get(action=AuditEvent.Action.OTP_CHANGE)
    assert (row.actor, row.object_id, row.detail["change"]) == (steward, str(steward.pk), "enrolled")
    assert client.get("/").status_code == 200  # the enrolling session counts as verified


def test_with_a_device_the_code_is_asked_after_the_password(steward):
    setup = Client()
    setup.force_login(steward)
    device = enrol(setup, steward)

    client = Client()
    password_login(client, steward)
    response = client.get("/changes/")
    assert response.status_code == 302 and response["Location"].startswith("/account/otp/verify/?next=%2Fchanges%2F")
    api = client.get("/api/v1/change-requests/")
    assert api.status_code == 403 and api.json()["code"] == "second_factor_required"

    assert client.post("/account/otp/verify/", {"code": "12345", "next": "/changes/"}).status_code == 400
    wait_after_a_wrong_code(device)
    response = client.post("/account/otp/verify/", {"code": code(device, steps_ahead=1), "next": "/changes/"})
    assert response.status_code == 302 and response["Location"] == "/changes/"
    assert client.get("/changes/").status_code == 200
    assert client.get("/api/v1/change-requests/").status_code == 200


def test_the_code_prompt_refuses_an_outside_next_url(steward):
    setup = Client()
    setup.force_login(steward)
    device = enrol(setup, steward)
    client = Client()
    password_login(client, steward)
    response = client.post("/account/otp/verify/", {"code": code(device, 1), "next": "https://evil.example/"})
    assert response["Location"] == "/"


@REQUIRED
def test_a_required_role_is_sent_to_enrolment_and_cannot_approve_before(make_item, steward, approver):  # noqa: F811
    item = make_item("Blom trach tube")
    cr = propose(_api(steward), item, short_name="Blom 313").json()["id"]

    client = Client()
    password_login(client, approver)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/account/otp/?next=")
    # Approving is refused, in the UI and through the API with the session.
    ui = client.post(f"/changes/{cr}/approve/", {"reason": "ok"})
    assert ui.status_code == 302 and ui["Location"].startswith("/account/otp/")
    api = APIClient()
    api.cookies = client.cookies
    refused = api.post(f"/api/v1/change-requests/{cr}/approve/", {"reason": "ok"}, format="json")
    assert refused.status_code == 403 and "second factor" in refused.json()["detail"]
    assert ChangeRequest.objects.get(pk=cr).status == "submitted"

    enrol(client, approver)
    response = api.post(f"/api/v1/change-requests/{cr}/approve/", {"reason": "ok"}, format="json")
    assert response.status_code == 200, response.content
    assert ChangeRequest.objects.get(pk=cr).status == "applied"


@REQUIRED
def test_api_tokens_are_not_asked_for_a_second_factor(approver, integration):
    _, secret = tokens.issue_token(approver, name="approver's script", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/change-requests/").status_code == 200


@REQUIRED
def test_other_roles_are_not_asked(steward):
    client = Client()
    password_login(client, steward)
    assert client.get("/").status_code == 200


def test_removal_needs_a_verified_session_and_a_current_code(steward):
    client = Client()
    client.force_login(steward)
    device = enrol(client, steward)
    next_window(device)
    response = client.post("/account/otp/remove/", {"code": "99999999"}, follow=True)
    assert TOTPDevice.objects.filter(pk=device.pk).exists() and "not right" in response.content.decode()
    next_window(device)
    wait_after_a_wrong_code(device)
    client.post("/account/otp/remove/", {"code": code(device)})
    assert not TOTPDevice.objects.filter(user=steward).exists()
    changes = list(AuditEvent.objects.filter(action="otp.change").order_by("id").values_list("detail", flat=True))
    assert [c["change"] for c in changes] == ["enrolled", "removed"]

    # An unverified session (password only) cannot reach the removal at all.
    device = enrol(client, steward)
    other = Client()
    password_login(other, steward)
    next_window(device)
    response = other.post("/account/otp/remove/", {"code": code(device)})
    assert response.status_code == 302 and response["Location"].startswith("/account/otp/verify/")
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()


@REQUIRED
def test_removing_the_device_of_a_required_role_leads_back_to_enrolment(approver):
    client = Client()
    client.force_login(approver)
    device = enrol(client, approver)
    next_window(device)
    client.post("/account/otp/remove/", {"code": code(device)})
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/account/otp/")


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client
