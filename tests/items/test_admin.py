"""Admin: the item list stays cheap, the packaging is edited inline, items are retired not deleted."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from items.models import Item
from items.services import item_create
from mdm.models import ChangeRequest
from tests.items.conftest import GUDID_BOX, GUDID_EACH


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "correct horse battery"))
    return client


@pytest.fixture
def tube(steward, units):
    return item_create(
        data={
            "description": "Blom tracheostomy tube",
            "manufacturer_name": "PULMODYNE INC",
            "manufacturer_part_number": "313-71-015",
            "item_type": "med_surg",
            "base_unit": "EA",
            "packaging": [
                {"unit": "EA", "quantity": 1, "gtin": GUDID_EACH},
                {"unit": "BX", "quantity": 10, "gtin": GUDID_BOX},
            ],
        },
        actor=steward,
        reason="initial load",
    )


@pytest.mark.django_db
def test_changelist_search_and_queries_do_not_grow(admin_client, steward, units, tube):
    url = "/admin/items/item/"
    for query, found in [(GUDID_BOX, True), ("31371015", True), ("trache", True), ("nothing-like-it", False)]:
        page = admin_client.get(url, {"q": query}).content.decode()
        assert ("Blom tracheostomy tube" in page) is found, query
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url)
    for n in range(10):
        item_create(
            data={"description": f"Suture {n}", "item_type": "med_surg", "base_unit": "BX"}, actor=steward, reason="t"
        )
    with CaptureQueriesContext(connection) as eleven:
        assert admin_client.get(url).status_code == 200
    assert len(eleven.captured_queries) == len(one.captured_queries)  # base unit comes with the rows


@pytest.mark.django_db
def test_change_page_shows_the_packaging_inline(admin_client, tube):
    page = admin_client.get(f"/admin/items/item/{tube.pk}/change/").content.decode()
    assert GUDID_BOX in page and "packaging_levels-TOTAL_FORMS" in page


@pytest.mark.django_db
def test_no_delete_but_retire(admin_client, tube):
    assert admin_client.get(f"/admin/items/item/{tube.pk}/delete/").status_code == 403
    admin_client.post("/admin/items/item/", {"action": "retire_selected", "_selected_action": [tube.pk]}, follow=True)
    tube.refresh_from_db()
    assert tube.status == "active"  # proposed, not applied: an approver decides
    proposal = ChangeRequest.objects.get(kind="retire", object_id=tube.pk)
    assert (proposal.status, proposal.reason) == ("submitted", "retired in admin")
    assert Item.objects.count() == 1


@pytest.mark.django_db
def test_admin_forms_store_identifiers_canonical(tube, units):
    from django.forms.models import model_to_dict

    from items.admin import ItemAdminForm, ItemPackagingLevelForm

    data = {**model_to_dict(tube), "item_type": "drug", "ndc": "0409-4888-02", "unspsc": " 51161701 "}
    form = ItemAdminForm(data=data, instance=tube)
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["ndc"], form.instance.ndc, form.instance.unspsc) == (
        "00409488802",
        "00409488802",
        "51161701",
    )

    form = ItemAdminForm(data={**data, "item_type": "med_surg"}, instance=tube)
    assert not form.is_valid()
    assert "only allowed for drugs" in form.errors["ndc"][0]

    level = tube.packaging_levels.get(level=1)
    form = ItemPackagingLevelForm(data={**model_to_dict(level), "gtin": "1 0841470 10066 5"}, instance=level)
    assert not form.is_valid()
    assert "expected 4" in form.errors["gtin"][0]
    form = ItemPackagingLevelForm(data={**model_to_dict(level), "gtin": "1 0841470 10066 4"}, instance=level)
    assert form.is_valid(), form.errors
    assert form.instance.gtin == GUDID_BOX


def test_models_refuse_non_canonical_identifiers():
    from django.core.exceptions import ValidationError

    from items.models import validate_gtin14, validate_ndc11

    with pytest.raises(ValidationError, match="Store the NDC as '00409488802', not '0409-4888-02'"):
        validate_ndc11("0409-4888-02")
    with pytest.raises(ValidationError, match="Store the GTIN as '00841470100667'"):
        validate_gtin14("0841470100667")
    validate_gtin14(GUDID_EACH)


@pytest.mark.django_db
def test_packaging_level_list_and_history(admin_client, tube):
    assert admin_client.get("/admin/items/itempackaginglevel/", {"q": GUDID_EACH}).status_code == 200
    history = admin_client.get(f"/admin/items/item/{tube.pk}/history/").content.decode()
    assert "sam.steward" in history and "initial load" in history


@pytest.mark.django_db
def test_admin_form_explains_a_gtin_taken_by_another_item(tube, units):
    from django.forms.models import model_to_dict

    from items.admin import ItemPackagingLevelForm
    from tests.items.factories import ItemFactory

    other = ItemFactory(base_unit=units["EA"])
    data = {**model_to_dict(tube.packaging_levels.get(level=1)), "id": None, "item": other.pk, "level": 1}
    form = ItemPackagingLevelForm(data=data)
    assert not form.is_valid()
    assert "a GTIN belongs to one packaging level of one item" in str(form.errors)
