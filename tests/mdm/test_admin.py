"""Admin: every model registered; every golden model shows its history with who, when and the difference."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from simple_history.admin import SimpleHistoryAdmin

from mdm import registry
from mdm.services.golden import golden_save
from uom.services import unit_create

PROJECT_APPS = {"mdm", "uom", "suppliers", "items", "contracts", "sync"}


def test_every_project_model_is_registered_in_admin():
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
        and not model.__name__.startswith("Historical")
        and model not in admin.site._registry
    ]
    assert missing == []


def test_every_golden_model_uses_the_history_admin():
    for spec in registry.all_specs():
        model_admin = admin.site._registry.get(spec.model)
        assert isinstance(model_admin, SimpleHistoryAdmin), spec.model_label
        assert not model_admin.has_delete_permission(None), f"{spec.model_label} must not be deletable in admin"


@pytest.mark.django_db
def test_history_page_shows_who_when_and_the_difference(client, steward):
    superuser = User.objects.create_superuser("root", "root@example.org", "correct horse battery")
    unit = unit_create(code="BX", name="Box", dimension="count", actor=steward, reason="initial load")
    unit.name = "Box of 100"
    golden_save(unit, actor=superuser, reason="clarify pack size")
    client.force_login(superuser)
    page = client.get(f"/admin/uom/unit/{unit.pk}/history/").content.decode()
    assert "sam.steward" in page and "root" in page
    assert "initial load" in page and "clarify pack size" in page
    assert "Box of 100" in page and "&rarr;" in page  # the field-level delta


@pytest.mark.django_db
def test_admin_list_pages_render_for_every_registered_model(client):
    superuser = User.objects.create_superuser("root", "root@example.org", "correct horse battery")
    client.force_login(superuser)
    for model in admin.site._registry:
        if model._meta.app_label not in PROJECT_APPS:
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client.get(url, {"q": "x"})
        assert response.status_code == 200, url


@pytest.mark.django_db
def test_admin_search_uses_exact_identifiers_and_related_rows_without_joins(client, steward):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    superuser = User.objects.create_superuser("root", "root@example.org", "correct horse battery")
    client.force_login(superuser)
    box = unit_create(code="BX", name="Box", dimension="count", aliases=["carton box"], actor=steward, reason="t")
    unit_create(code="CS", name="Case", dimension="count", actor=steward, reason="t")
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/admin/uom/unit/", {"q": "carton"}).content.decode()
    assert f"/admin/uom/unit/{box.pk}/change/" in page and "Case" not in page
    searches = [q["sql"] for q in ctx.captured_queries if "uom_unitalias" in q["sql"]]
    assert searches and all("JOIN" not in sql.upper() and "DISTINCT" not in sql.upper() for sql in searches)
    # '=' fields match exactly, also when typed in lower case; no partial matches.
    assert f"/admin/uom/unit/{box.pk}/change/" in client.get("/admin/uom/unit/", {"q": "bx"}).content.decode()
