"""API tokens: hashed at rest, scoped on top of the role, expiring, revocable, last use recorded, rate-limited;
the self-service page, the admin and the command."""

from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from mdm import roles, tokens
from mdm.models import ApiToken, AuditEvent
from sync.models import Delivery
from tests.conftest import _user
from tests.sync.test_ops_ui import make_delivery, make_target

pytestmark = pytest.mark.django_db

INGEST = "/api/v1/source-records/"
ALL_SCOPES = ["read", "ingest", "match", "changes"]


def bearer(secret: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


def unit_batch(external_id="uom.1"):
    return {
        "system": "odoo-prod",
        "entity_type": "unit",
        "records": [{"external_id": external_id, "payload": {"code": "BX", "name": "Box", "dimension": "count"}}],
    }


@pytest.fixture
def ops(db):
    return _user("olga.ops", roles.OPERATIONS)


# --- issuing and storing --------------------------------------------------------------------------------------


def test_secret_format_and_only_its_digest_is_stored(integration):
    token, secret = tokens.issue_token(integration, name="Odoo connector", scopes=["read"])
    prefix, _, random_part = secret.removeprefix("mdm_").partition("_")
    assert secret.startswith("mdm_") and prefix == token.prefix and len(random_part) >= 43
    assert token.key_hash == tokens.hash_secret(secret) and len(token.key_hash) == 64
    # Grep every row of every table: neither the secret nor its random part is anywhere.
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the database itself
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                if random_part in text:
                    found.append(table)
    assert found == []
    assert tokens.authenticate_secret(secret) == token


def test_unknown_and_empty_scopes_are_refused_with_the_valid_ones(integration):
    with pytest.raises(ValidationError, match="Unknown token scope: admin. Expected one or more of: read, ingest"):
        tokens.issue_token(integration, name="x", scopes=["read", "admin"])
    with pytest.raises(ValidationError, match="at least one scope"):
        tokens.issue_token(integration, name="x", scopes=[])
    assert not ApiToken.objects.exists()


def test_create_and_revoke_are_audited(integration, steward):
    token, _ = tokens.issue_token(integration, name="feed", scopes=["read", "ingest"], created_by=steward)
    tokens.revoke_token(token, by=steward, reason="rotated")
    created, revoked = AuditEvent.objects.filter(action__startswith="token.").order_by("id")
    assert (created.action, created.actor, created.object_id) == ("token.create", steward, str(token.pk))
    assert created.detail["scopes"] == ["read", "ingest"] and created.detail["user"] == integration.username
    assert (revoked.action, revoked.detail["reason"]) == ("token.revoke", "rotated")
    tokens.revoke_token(token, by=steward, reason="again")  # already revoked: nothing more
    assert AuditEvent.objects.filter(action__startswith="token.").count() == 2


# --- authentication -------------------------------------------------------------------------------------------


def test_bearer_and_token_keywords_authenticate(integration):
    token, secret = tokens.issue_token(integration, name="feed", scopes=["read"])
    for keyword in ("Bearer", "Token"):
        response = bearer(secret, keyword).get("/api/v1/source-systems/")
        assert response.status_code == 200, response.content


def test_unknown_token_is_401_saying_so(db):
    response = bearer("mdm_00000000_nope").get("/api/v1/source-systems/")
    assert response.status_code == 401
    assert "Unknown API token" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_old_drf_tokens_are_not_accepted(integration):
    response = bearer("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "Token").get("/api/v1/source-systems/")
    assert response.status_code == 401 and "start with 'mdm_'" in response.json()["detail"]


def test_expired_token_is_401_with_the_date(integration):
    token, secret = tokens.issue_token(
        integration, name="feed", scopes=["read"], expires_at=timezone.now() + timedelta(days=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    response = bearer(secret).get("/api/v1/source-systems/")
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert f"API token {token.prefix} expired on" in detail and timezone.now().strftime("%Y-") in detail


def test_revoked_token_is_401_at_once(integration, steward):
    token, secret = tokens.issue_token(integration, name="feed", scopes=["read"])
    client = bearer(secret)
    assert client.get("/api/v1/source-systems/").status_code == 200
    tokens.revoke_token(token, by=steward, reason="leaked")
    response = client.get("/api/v1/source-systems/")
    assert response.status_code == 401 and "was revoked on" in response.json()["detail"]


def test_token_of_a_disabled_account_is_refused(integration):
    _, secret = tokens.issue_token(integration, name="feed", scopes=["read"])
    User.objects.filter(pk=integration.pk).update(is_active=False)
    response = bearer(secret).get("/api/v1/source-systems/")
    assert response.status_code == 401 and "disabled" in response.json()["detail"]


def test_request_auth_is_the_token_and_audit_rows_name_it(token_api):
    from mdm import audit

    seen = {}

    class Probe(APIView):
        permission_classes = [IsAuthenticated]
        required_scope = "ingest"

        def post(self, request):
            seen["auth"] = request.auth
            audit.record(AuditEvent.Action.DELIVERY_REPLAY, request=request)
            return Response({})

    secret_header = token_api._credentials["HTTP_AUTHORIZATION"]
    request = APIRequestFactory().post("/probe/", {}, format="json", HTTP_AUTHORIZATION=secret_header)
    response = Probe.as_view()(request)
    assert response.status_code == 200
    assert seen["auth"] == token_api.token
    assert AuditEvent.objects.get(action="delivery.replay").via == f"token:{token_api.token.prefix}"


# --- scopes on top of the role --------------------------------------------------------------------------------


def test_read_token_cannot_ingest_and_the_message_names_the_scope(integration, odoo):
    _, secret = tokens.issue_token(integration, name="reader", scopes=["read"])
    client = bearer(secret)
    assert client.get(INGEST).status_code == 200
    response = client.post(INGEST, unit_batch(), format="json")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "lacks the 'ingest' scope" in detail and "POST /api/v1/source-records/" in detail and "read" in detail


def test_ingest_token_can_ingest_but_needs_read_to_read(integration, odoo):
    _, secret = tokens.issue_token(integration, name="feeder", scopes=["ingest"])
    client = bearer(secret)
    response = client.post(INGEST, unit_batch(), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["outcome"] == "stored"
    response = client.get(INGEST)
    assert response.status_code == 403 and "'read' scope" in response.json()["detail"]


def test_the_role_still_applies_to_a_token_with_the_scope(viewer, ops):
    """A viewer's token with syndication_admin cannot replay; operations with the same scope can."""
    target = make_target()
    dead = make_delivery(target, Delivery.Status.DEAD)
    url = f"/api/v1/sync/deliveries/{dead.pk}/replay/"
    _, viewer_secret = tokens.issue_token(viewer, name="x", scopes=["read", "syndication_admin"])
    assert bearer(viewer_secret).post(url).status_code == 403
    _, ops_read = tokens.issue_token(ops, name="watch", scopes=["read"])
    response = bearer(ops_read).post(url)
    assert response.status_code == 403 and "'syndication_admin' scope" in response.json()["detail"]
    dead.refresh_from_db()
    assert dead.status == Delivery.Status.DEAD
    _, ops_admin = tokens.issue_token(ops, name="replayer", scopes=["read", "syndication_admin"])
    response = bearer(ops_admin).post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending"


def test_change_requests_need_the_changes_scope(integration):
    _, secret = tokens.issue_token(integration, name="feeder", scopes=["read", "ingest"])
    body = {"entity_type": "unit", "kind": "create", "changes": {"code": "BX"}, "reason": "new unit"}
    response = bearer(secret).post("/api/v1/change-requests/", body, format="json")
    assert response.status_code == 403 and "'changes' scope" in response.json()["detail"]


def test_a_write_without_a_declared_scope_is_closed_to_tokens(token_api, integration):
    class Undeclared(APIView):
        permission_classes = [IsAuthenticated]

        def post(self, request):
            return Response({})

    header = token_api._credentials["HTTP_AUTHORIZATION"]
    response = Undeclared.as_view()(APIRequestFactory().post("/new/", {}, format="json", HTTP_AUTHORIZATION=header))
    response.render()
    assert response.status_code == 403
    assert "declares no token scope" in response.data["detail"]
    # A session (no token) is not scope-limited: the role alone decides.
    request = APIRequestFactory().post("/new/", {}, format="json")
    force_authenticate(request, integration)
    assert Undeclared.as_view()(request).status_code == 200


def test_every_api_write_declares_a_known_scope():
    """A new write endpoint must say which token scope opens it (or it stays closed to tokens by design)."""
    from django.urls import get_resolver

    from mdm.api.permissions import required_scope

    missing = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            callback = pattern.callback
            cls = getattr(callback, "cls", None)
            if cls is None or not (prefix + str(pattern.pattern)).startswith("api/"):
                continue
            actions = getattr(callback, "actions", None)
            if actions is None:  # a plain APIView: its handler methods
                actions = {m: None for m in ("post", "put", "patch", "delete") if hasattr(cls, m)}
            for method, action in actions.items():
                if method in ("get", "head", "options"):
                    continue
                view = cls(action=action) if action else cls()
                request = SimpleNamespace(method=method.upper())
                if required_scope(view, request) is None:
                    missing.append(f"{method.upper()} {prefix}{pattern.pattern} ({cls.__name__}.{action})")

    walk(get_resolver().url_patterns)
    assert missing == []


# --- last use -------------------------------------------------------------------------------------------------


def test_last_use_is_recorded_at_most_once_a_minute_with_one_conditional_update(integration):
    token, secret = tokens.issue_token(integration, name="feed", scopes=["read"])
    client = bearer(secret)
    client.get("/api/v1/source-systems/", REMOTE_ADDR="10.1.2.3")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and token.last_used_ip == "10.1.2.3"

    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/source-systems/", REMOTE_ADDR="10.9.9.9")
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "mdm_apitoken"')]
    assert len(updates) == 1 and "last_used_at" in updates[0].split("WHERE")[1]  # the condition, not a read first
    token.refresh_from_db()
    assert (token.last_used_at, token.last_used_ip) == (first, "10.1.2.3")  # within the minute: not written

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(seconds=61))
    client.get("/api/v1/source-systems/", REMOTE_ADDR="10.9.9.9")
    token.refresh_from_db()
    assert token.last_used_at > first and token.last_used_ip == "10.9.9.9"


def test_record_use_writes_once_between_concurrent_requests(integration):
    token, _ = tokens.issue_token(integration, name="feed", scopes=["read"])
    now = timezone.now()
    assert tokens.record_use(token, "10.0.0.1", now=now) is True
    stale = ApiToken.objects.get(pk=token.pk)  # a second request that read the token before the first wrote
    assert tokens.record_use(stale, "10.0.0.2", now=now + timedelta(seconds=5)) is False
    assert tokens.record_use(stale, "10.0.0.2", now=now + timedelta(seconds=61)) is True


# --- rate limits ----------------------------------------------------------------------------------------------


@override_settings(MDM_API_RATE_TOKEN="3/min")
def test_rate_limit_per_token_is_429_with_retry_after(integration):
    _, secret = tokens.issue_token(integration, name="busy", scopes=["read"])
    _, other = tokens.issue_token(integration, name="quiet", scopes=["read"])
    client = bearer(secret)
    assert [client.get("/api/v1/source-systems/").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/v1/source-systems/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["code"] == "throttled"
    assert "at most 3 requests per minute for one API token" in body["detail"] and "Retry in" in body["detail"]
    # The budget is the token's: the account's other token is not held back.
    assert bearer(other).get("/api/v1/source-systems/").status_code == 200


@override_settings(MDM_API_RATE_USER="2/min", MDM_API_RATE_TOKEN="100/min")
def test_rate_limit_per_signed_in_person(steward, integration):
    client = APIClient()
    client.force_login(steward)  # a browser session
    assert [client.get("/api/v1/source-systems/").status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/v1/source-systems/")
    assert response.status_code == 429 and "for one signed-in account" in response.json()["detail"]
    assert int(response["Retry-After"]) >= 1
    other = APIClient()
    other.force_login(integration)
    assert other.get("/api/v1/source-systems/").status_code == 200
    # Tokens count on their own rate, not the person's.
    _, secret = tokens.issue_token(steward, name="s", scopes=["read"])
    assert bearer(secret).get("/api/v1/source-systems/").status_code == 200


@override_settings(MDM_API_RATE_ANON="1/min")
def test_rate_limit_for_anonymous_callers(db):
    client = APIClient()
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 429 and "without credentials" in response.data["detail"]


def test_schema_documents_bearer_auth(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    scheme = schema["components"]["securitySchemes"]["apiToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    ingest = schema["paths"]["/api/v1/source-records/"]["post"]
    assert {"apiToken": []} in ingest["security"]
    assert "tokenAuth" not in schema["components"]["securitySchemes"]


# --- self-service page ----------------------------------------------------------------------------------------


def test_token_page_creates_shows_secret_once_lists_and_revokes(integration, steward):
    other_token, _ = tokens.issue_token(steward, name="steward's own", scopes=["read"])
    client = Client()
    client.force_login(integration)
    page = client.get("/account/tokens/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "steward&#x27;s own" not in html and other_token.prefix not in html
    # Only the scopes the role can use are offered.
    assert 'value="ingest"' in html and 'value="syndication_admin"' not in html

    expires = (timezone.localdate() + timedelta(days=30)).isoformat()
    response = client.post(
        "/account/tokens/", {"name": "Odoo connector", "scopes": ["read", "ingest"], "expires_on": expires}
    )
    assert response.status_code == 201
    token = ApiToken.objects.get(user=integration)
    secret = response.context["secret"]
    assert secret.startswith(f"mdm_{token.prefix}_") and secret in response.content.decode()
    assert "only time the token is shown" in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    assert (token.scopes, token.created_by, token.expires_at.date().isoformat()) == (
        ["read", "ingest"],
        integration,
        expires,
    )
    assert bearer(secret).get("/api/v1/source-systems/").status_code == 200

    listing = client.get("/account/tokens/").content.decode()
    assert token.prefix in listing and "Odoo connector" in listing and secret not in listing
    assert secret.split("_", 2)[2] not in listing

    # Someone else's token: not found; one's own: revoked.
    assert client.post(f"/account/tokens/{other_token.pk}/revoke/").status_code == 404
    response = client.post(f"/account/tokens/{token.pk}/revoke/", {"reason": "moved to vault"}, follow=True)
    assert "no longer works" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoke_reason == "moved to vault" and token.revoked_by == integration
    assert bearer(secret).get("/api/v1/source-systems/").status_code == 401
    assert list(AuditEvent.objects.filter(actor=integration).values_list("action", "via")) == [
        ("token.revoke", "session"),
        ("token.create", "session"),
    ]


def test_token_page_refuses_scopes_beyond_the_role_and_long_expiry(integration):
    client = Client()
    client.force_login(integration)
    too_far = (timezone.localdate() + timedelta(days=400)).isoformat()
    response = client.post("/account/tokens/", {"name": "x", "scopes": ["syndication_admin"], "expires_on": too_far})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "scopes" in errors and "At most 365 days" in errors["expires_on"][0]
    assert not ApiToken.objects.exists()


def test_token_page_needs_the_permission(viewer):
    client = Client()
    client.force_login(viewer)
    assert client.get("/account/tokens/").status_code == 403
    assert 'href="/account/tokens/"' not in client.get("/").content.decode()


def test_nav_links_the_token_page_for_service_roles(integration):
    client = Client()
    client.force_login(integration)
    assert 'href="/account/tokens/"' in client.get("/account/tokens/").content.decode()


# --- admin ----------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(db):
    admin = User.objects.create_superuser("root", "root@example.org", "correct horse battery")
    client = Client()
    client.force_login(admin)
    return client, admin


def test_admin_issues_a_token_for_any_account_and_shows_the_secret_once(admin_client, ops):
    client, admin = admin_client
    response = client.post(
        "/admin/mdm/apitoken/add/",
        {
            "user": ops.pk,
            "name": "replay bot",
            "scopes": ["read", "syndication_admin"],
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert response.status_code == 200, response.content[:500]
    token = ApiToken.objects.get(user=ops)
    secret = response.context["secret"]
    html = response.content.decode()
    assert secret in html and "only time it is shown" in html
    assert (token.created_by, token.scopes, token.expires_at) == (admin, ["read", "syndication_admin"], None)
    assert tokens.authenticate_secret(secret) == token

    for url in ("/admin/mdm/apitoken/", f"/admin/mdm/apitoken/{token.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert token.prefix in text and secret not in text and token.key_hash not in text
    assert AuditEvent.objects.filter(action="token.create", actor=admin).count() == 1


def test_admin_revoke_action(admin_client, integration):
    client, admin = admin_client
    token, secret = tokens.issue_token(integration, name="feed", scopes=["read"])
    response = client.post(
        "/admin/mdm/apitoken/", {"action": "revoke_selected", "_selected_action": [token.pk]}, follow=True
    )
    assert "1 token(s) revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_by == admin and token.revoke_reason == "revoked in admin"
    assert bearer(secret).get("/api/v1/source-systems/").status_code == 401


def test_admin_is_read_only_for_token_holders_without_the_manage_permission(integration, steward):
    integration.is_staff = True
    integration.save()
    mine, _ = tokens.issue_token(integration, name="mine", scopes=["read"])
    theirs, _ = tokens.issue_token(steward, name="theirs", scopes=["read"])
    client = Client()
    client.force_login(integration)
    html = client.get("/admin/mdm/apitoken/").content.decode()
    assert mine.prefix in html and theirs.prefix not in html
    assert client.get("/admin/mdm/apitoken/add/").status_code == 403


# --- command --------------------------------------------------------------------------------------------------


def test_command_create_list_revoke(integration):
    out = StringIO()
    call_command(
        "mdm_token",
        "create",
        "--user",
        integration.username,
        "--name",
        "cli",
        "--scope",
        "read",
        "--scope",
        "ingest",
        "--expires-days",
        "30",
        stdout=out,
    )
    text = out.getvalue()
    token = ApiToken.objects.get(name="cli")
    secret = next(line for line in text.splitlines() if line.startswith("mdm_"))
    assert tokens.authenticate_secret(secret) == token and "not stored" in text
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert AuditEvent.objects.get(action="token.create").via == "command"

    out = StringIO()
    call_command("mdm_token", "list", "--user", integration.username, stdout=out)
    assert token.prefix in out.getvalue() and secret not in out.getvalue()

    call_command("mdm_token", "revoke", token.prefix, "--reason", "rotated", stdout=StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoke_reason == "rotated"
    out = StringIO()
    call_command("mdm_token", "list", stdout=out)
    assert token.prefix not in out.getvalue()

    out = StringIO()
    call_command(
        "mdm_token",
        "create",
        "--user",
        integration.username,
        "--name",
        "s",
        "--scope",
        "read",
        "--secret-only",
        stdout=out,
    )
    assert out.getvalue().strip().startswith("mdm_") and len(out.getvalue().strip().splitlines()) == 1


def test_command_refuses_unknown_scope_and_user(integration):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown token scope: everything"):
        call_command("mdm_token", "create", "--user", integration.username, "--name", "x", "--scope", "everything")
    with pytest.raises(CommandError, match="No account 'nobody'"):
        call_command("mdm_token", "create", "--user", "nobody", "--name", "x", "--scope", "read")
