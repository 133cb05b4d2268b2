"""Project-level behaviour: start-up checks, schema and docs, health, error pages, roles."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import Group


def _run_check(env_overrides):
    env = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ALLOWED_HOSTS"}
    }
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_start_up_refuses_missing_secrets():
    result = _run_check({"DEBUG": "0"})
    assert result.returncode != 0
    assert (
        "DEBUG is off and these production settings are missing: SECRET_KEY, FIELD_ENCRYPTION_KEY, ALLOWED_HOSTS"
        in (result.stderr)
    )


def test_production_start_up_with_secrets_passes(tmp_path):
    from cryptography.fernet import Fernet

    key_file = tmp_path / "key"
    key_file.write_text(Fernet.generate_key().decode())
    result = _run_check(
        {
            "DEBUG": "0",
            "SECRET_KEY": "x" * 50,
            "FIELD_ENCRYPTION_KEY_FILE": str(key_file),
            "ALLOWED_HOSTS": "mdm.example.org",
        }
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_openapi_schema_and_docs(api, client, steward):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/source-records/", "/api/v1/units/", "/api/v1/units/{id}/"]:
        assert path in paths
    client.force_login(steward)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn.jsdelivr" not in docs.content  # assets are served locally


@pytest.mark.django_db
def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.django_db
def test_dashboard_needs_login_and_renders(client, steward):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(steward)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Golden records" in response.content


@pytest.mark.django_db
def test_api_404_is_json(api):
    response = api.get("/api/v1/units/999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_unknown_api_path_is_json_404_and_ui_path_is_a_page(api, client, steward):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    client.force_login(steward)
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert b"Page not found" in page.content and b"Back to the dashboard" in page.content


@pytest.mark.django_db
def test_role_groups_exist_with_permissions():
    names = set(Group.objects.values_list("name", flat=True))
    assert {"viewer", "steward", "approver", "integration"} <= names
    viewer = Group.objects.get(name="viewer")
    assert viewer.permissions.filter(codename="view_unit").exists()
    assert not viewer.permissions.filter(codename="add_sourcerecord").exists()
    assert Group.objects.get(name="integration").permissions.filter(codename="add_sourcerecord").exists()


def test_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").stat().st_size > 10_000
