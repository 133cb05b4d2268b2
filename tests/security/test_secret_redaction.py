"""Planted secrets never come out: not in logs, error pages, delivery excerpts, operations pages or API responses.

The secrets: SECRET_KEY, a FIELD_ENCRYPTION_KEY, MDM_METRICS_TOKEN (all set for the test), an Odoo target's API key
and a wrong one, an API token's secret, a supplier's IBAN and US account number. The test then drives the hub for
real: deliveries to the Odoo test server that fail (access refused for the bank account, a wrong key), a view that
crashes with secrets in its local variables and its message (DEBUG on: the technical page, HTML and text; DEBUG
off: the 500 page), the API with the token, the operations pages. Every text produced (responses, the rows the
excerpts are stored in, log records as caught by pytest, what the project's console handler writes) is searched
for every planted value.
"""

import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import include, path
from rest_framework.test import APIClient

from mdm import redaction, roles
from mdm.models import ApiToken
from mdm.redaction import SafeExceptionReporterFilter, redact
from suppliers.services import supplier_create
from sync.models import Delivery, Target
from tests.conftest import _user
from tests.odoo_server import OdooTestServer
from tests.sync.records import drain, odoo_target

pytestmark = pytest.mark.django_db

ODOO_KEY = "PLANTED-odoo-key-5b1e8c2a9d7f"
WRONG_KEY = "PLANTED-wrong-key-0c4d7e1f2a3b"
SECRET_KEY = "PLANTED-secret-key-9f8e7d6c5b4a3928171605"
FIELD_KEY = Fernet.generate_key().decode()
METRICS_TOKEN = "PLANTED-metrics-token-a1b2c3d4e5"
IBAN = "DE89370400440532013000"
IBAN_SPACED = "DE89 3704 0044 0532 0130 00"
ACCOUNT_NUMBER = "987654321012"
PLANTED = [ODOO_KEY, WRONG_KEY, SECRET_KEY, FIELD_KEY, METRICS_TOKEN, IBAN, IBAN_SPACED, ACCOUNT_NUMBER]


# --- a view that fails with secrets at hand (this module is also the URLconf of the error-page tests) -----------


def crash(request):
    target = Target.objects.get(name="odoo-planted")
    api_key = target.secret  # noqa: F841 - a local variable the technical page would show
    credentials = {"login": "mdm", "password": target.secret, "iban": IBAN}  # noqa: F841
    raise RuntimeError(f"Odoo refused key {target.secret} while paying {IBAN_SPACED} (account {IBAN})")


urlpatterns = [path("crash/", crash), path("", include("mdm.urls"))]


@pytest.fixture(autouse=True)
def planted_settings():
    with override_settings(SECRET_KEY=SECRET_KEY, FIELD_ENCRYPTION_KEYS=[FIELD_KEY], MDM_METRICS_TOKEN=METRICS_TOKEN):
        redaction.forget_known_secrets()
        yield
    redaction.forget_known_secrets()


@pytest.fixture
def token_secret(db):
    from mdm.tokens import issue_token

    owner = _user("svc.reader", roles.APPROVER)
    _token, secret = issue_token(owner, name="planted", scopes=[ApiToken.Scope.READ])
    PLANTED.append(secret) if secret not in PLANTED else None
    return secret


@pytest.fixture
def captured(caplog):
    """Everything logged, as pytest catches the records and as the project's console handler formats them."""
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    console = next((h for h in logging.getLogger().handlers if h.get_name() == "console"), None)
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    if console is not None:
        handler.setFormatter(console.formatter)
        for f in console.filters:
            handler.addFilter(f)
    logging.getLogger().addHandler(handler)
    try:
        yield lambda: caplog.text + "\n".join(r.getMessage() for r in caplog.records) + stream.getvalue()
    finally:
        logging.getLogger().removeHandler(handler)


def leaks(text: str, extra=()) -> list[str]:
    return [value for value in [*PLANTED, *extra] if value and value in text]


# --- the pieces -----------------------------------------------------------------------------------------------------


def test_redact_takes_out_known_secrets_and_secret_looking_values(token_secret):
    Target.objects.create(name="hook", kind=Target.Kind.WEBHOOK, url="http://127.0.0.1:9", secret=ODOO_KEY)
    text = (
        f"key={SECRET_KEY} fernet {FIELD_KEY} metrics {METRICS_TOKEN} odoo {ODOO_KEY} token {token_secret} "
        f"Authorization: Bearer abcdefghijklmnopqrstuv password=hunter2hunter2 "
        f'{{"api_key": "k-123456789", "has_secret": true}} paid to {IBAN_SPACED} / {IBAN}'
    )
    clean = redact(text)
    assert not leaks(clean, ["abcdefghijklmnopqrstuv", "hunter2hunter2", "k-123456789"]), clean
    assert "Authorization: Bearer [redacted]" in clean and '"has_secret": true' in clean
    assert "[iban ••••3000]" in clean
    assert (
        redact("GET /api/v1/suppliers/ 200 sam.steward DE136695976")
        == "GET /api/v1/suppliers/ 200 sam.steward DE136695976"
    )


@pytest.mark.django_db(transaction=True)
def test_target_secrets_saved_by_another_process_are_read_from_the_database():
    """No signal in this process (``bulk_create``): the once-a-minute refresh finds the committed row."""
    Target.objects.bulk_create([Target(name="other", kind=Target.Kind.WEBHOOK, url="http://x", secret=WRONG_KEY)])
    assert redaction._column_values == set() or WRONG_KEY not in redaction._column_values
    redaction.forget_known_secrets()
    assert redact(f"x {WRONG_KEY} y") == "x [redacted] y"


def test_a_target_saved_in_this_process_is_known_at_once():
    redact("warm up")  # the refresh has just run: the next one is a minute away
    Target.objects.create(name="hook", kind=Target.Kind.WEBHOOK, url="http://x", secret=WRONG_KEY)
    assert redact(f"x {WRONG_KEY} y") == "x [redacted] y"


def test_exception_reporter_filter_hides_secret_settings_and_headers(rf):
    request = rf.get("/x", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}", HTTP_COOKIE="sessionid=abc")
    reporter_filter = SafeExceptionReporterFilter()
    safe = reporter_filter.get_safe_settings()
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "MDM_METRICS_TOKEN", "DATABASE_URL", "CELERY_BROKER_URL"):
        assert safe[name] == reporter_filter.cleansed_substitute, name
    meta = reporter_filter.get_safe_request_meta(request)
    assert meta["HTTP_AUTHORIZATION"] == reporter_filter.cleansed_substitute
    assert meta["HTTP_COOKIE"] == reporter_filter.cleansed_substitute
    assert not leaks(str(safe) + str(meta))


# --- driving the hub --------------------------------------------------------------------------------------------------


@pytest.fixture
def odoo_planted():
    """The Odoo test server, accepting the planted API key."""
    server = OdooTestServer(version=17, api_key=ODOO_KEY).start()
    try:
        yield server
    finally:
        server.stop()


def test_failing_deliveries_excerpts_pages_api_and_logs_hold_no_secret(
    odoo_planted, steward, token_secret, captured, client
):
    supplier = supplier_create(
        data={
            "legal_name": "Medline Industries, LP",
            "bank_accounts": [
                {"holder_name": "Medline", "bank_name": "Commerzbank", "iban": IBAN, "is_primary": True},
                {"holder_name": "Medline US", "aba_routing": "021000021", "account_number": ACCOUNT_NUMBER},
            ],
        },
        actor=steward,
        reason="test",
    )
    good = odoo_target(odoo_planted, name="odoo-planted", entity_types=("supplier",))
    good.secret = ODOO_KEY
    good.save()
    wrong = odoo_target(odoo_planted, name="odoo-wrong-key", entity_types=("supplier",), max_attempts=1)
    wrong.secret = WRONG_KEY
    wrong.save()
    # the bank account write is refused by Odoo (an access error after the partner was sent): a permanent failure
    odoo_planted.inject("access", times=None, model="res.partner.bank")
    drain(good)
    drain(wrong)
    deliveries = list(Delivery.objects.filter(entity_type="supplier"))
    assert {d.target.name: d.status for d in deliveries} == {"odoo-planted": "dead", "odoo-wrong-key": "dead"}, [
        (d.target.name, d.status, d.last_error) for d in deliveries
    ]
    stored = " ".join(f"{d.last_error} {d.request_excerpt} {d.response_excerpt}" for d in deliveries)
    assert stored.strip() and not leaks(stored), stored

    ops = _user("olga.ops", roles.OPERATIONS)
    client.force_login(ops)
    pages = [client.get("/operations/deliveries/"), client.get("/operations/")]
    pages += [client.get(f"/operations/deliveries/{d.pk}/") for d in deliveries]
    pages += [client.get(f"/operations/targets/{t.pk}/") for t in (good, wrong)]
    for page in pages:
        assert page.status_code == 200
        assert not leaks(page.content.decode()), page.request["PATH_INFO"]

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_secret}")
    staff_api = APIClient()
    staff_api.force_authenticate(_user("ada.auditor", roles.AUDITOR))
    responses = [
        api.get("/api/v1/suppliers/"),
        api.get(f"/api/v1/suppliers/{supplier.pk}/"),
        staff_api.get("/api/v1/sync/targets/"),
        staff_api.get(f"/api/v1/sync/targets/{good.pk}/"),
        staff_api.get("/api/v1/sync/deliveries/"),
        *[staff_api.get(f"/api/v1/sync/deliveries/{d.pk}/") for d in deliveries],
        staff_api.get("/api/v1/sync/events/"),
        staff_api.get("/api/v1/sync/keymap/"),
    ]
    for response in responses:
        assert response.status_code == 200, (response.request["PATH_INFO"], response.content[:300])
        assert not leaks(response.content.decode()), response.request["PATH_INFO"]
    assert "••••3000" in responses[1].content.decode()

    # a token that is wrong, and the metrics endpoint with its token: nothing of either is logged
    APIClient(HTTP_AUTHORIZATION=f"Bearer {token_secret[:-3]}xyz").get("/api/v1/suppliers/")
    Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    logging.getLogger("sync.test").warning("Odoo said: key %s rejected for %s", ODOO_KEY, IBAN)
    logging.getLogger("sync.test").info("headers %s", {"Authorization": f"Bearer {token_secret}"})
    logged = captured()
    assert "Odoo said: key [redacted] rejected for [iban ••••3000]" in logged
    assert not leaks(logged), [value for value in PLANTED if value in logged]


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_error_pages_and_error_logs_hold_no_secret(debug, accept, token_secret, captured):
    Target.objects.create(name="odoo-planted", kind=Target.Kind.ODOO, url="http://127.0.0.1:9", secret=ODOO_KEY)
    user = User.objects.create_superuser("root", email="root@example.org", password="correct horse battery")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    with override_settings(DEBUG=debug):
        response = client.get(
            f"/crash/?api_key={ODOO_KEY}&q={IBAN}",
            HTTP_ACCEPT=accept,
            HTTP_AUTHORIZATION=f"Bearer {token_secret}",
            HTTP_X_API_KEY=METRICS_TOKEN,
        )
    assert response.status_code == 500
    body = response.content.decode()
    if debug:
        assert "RuntimeError" in body and "Odoo refused key [redacted]" in body  # the technical page, redacted
        if accept == "text/html":
            assert "api_key" in body and "credentials" in body  # the local variables are listed, values hidden
    assert not leaks(body), [value for value in PLANTED if value in body]
    logged = captured()
    assert "RuntimeError" in logged  # the error was logged, with its traceback
    assert not leaks(logged), [value for value in PLANTED if value in logged]
