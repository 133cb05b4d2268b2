"""Units API: list, search, filters, as_of; the golden service writes history with who and why."""

import datetime as dt

import pytest
from django.utils import timezone

from mdm.models import SourceRecord
from mdm.services.golden import golden_create_from_source, golden_save
from uom.models import Unit
from uom.services import unit_create


@pytest.mark.django_db
def test_unit_from_source_record_links_the_crosswalk(api, odoo, steward):
    api.post(
        "/api/v1/source-records/",
        {
            "system": "odoo-prod",
            "entity_type": "unit",
            "records": [
                {
                    "external_id": "uom.uom,7",
                    "payload": {"code": "cs", "name": "Case", "dimension": "count", "aliases": ["Case", "case of 12"]},
                }
            ],
        },
        format="json",
    )
    unit = golden_create_from_source(SourceRecord.objects.get(), actor=steward)
    assert unit.code == "CS"
    assert sorted(a.alias for a in unit.aliases.all()) == ["Case", "case of 12"]
    assert all(a.system == odoo for a in unit.aliases.all())
    crosswalk = SourceRecord.objects.get().crosswalk
    assert (crosswalk.golden_id, crosswalk.link_method, crosswalk.linked_by) == (unit.pk, "created", steward)
    assert unit.history.get().history_user == steward


@pytest.mark.django_db
def test_list_search_filter(api, steward):
    unit_create(code="EA", name="Each", dimension="count", aliases=["each", "EACH-1"], actor=steward, reason="t")
    unit_create(code="MG", name="Milligram", dimension="mass", ucum_code="mg", actor=steward, reason="t")
    assert api.get("/api/v1/units/").json()["count"] == 2
    assert [u["code"] for u in api.get("/api/v1/units/", {"dimension": "mass"}).json()["results"]] == ["MG"]
    assert [u["code"] for u in api.get("/api/v1/units/", {"search": "milli"}).json()["results"]] == ["MG"]
    assert [u["code"] for u in api.get("/api/v1/units/", {"alias": "each-1"}).json()["results"]] == ["EA"]


@pytest.mark.django_db
def test_as_of_returns_values_before_an_edit(api, steward):
    unit = unit_create(code="BX", name="Box", dimension="count", aliases=["box"], actor=steward, reason="t")
    before_edit = timezone.now()
    unit.name = "Box (100)"
    golden_save(unit, actor=steward, reason="rename", expected_version=1)
    assert unit.version == 2

    live = api.get(f"/api/v1/units/{unit.pk}/").json()
    assert (live["name"], live["version"]) == ("Box (100)", 2)
    then = api.get(f"/api/v1/units/{unit.pk}/", {"as_of": before_edit.isoformat()}).json()
    assert (then["name"], then["version"]) == ("Box", 1)
    assert [a["alias"] for a in then["aliases"]] == ["box"]
    listed = api.get("/api/v1/units/", {"as_of": before_edit.isoformat()}).json()
    assert [u["name"] for u in listed["results"]] == ["Box"]


@pytest.mark.django_db
def test_as_of_before_creation_is_404_and_bad_dates_are_400(api, steward):
    unit = unit_create(code="BX", name="Box", dimension="count", actor=steward, reason="t")
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    response = api.get(f"/api/v1/units/{unit.pk}/", {"as_of": past})
    assert response.status_code == 404
    assert "existed at" in response.json()["detail"]
    response = api.get("/api/v1/units/", {"as_of": "yesterday"})
    assert response.status_code == 400
    assert "as_of" in response.json()["errors"]


@pytest.mark.django_db
def test_stale_version_is_refused(steward):
    from mdm.models import StaleVersionError

    unit = unit_create(code="BX", name="Box", dimension="count", actor=steward, reason="t")
    first, second = Unit.objects.get(pk=unit.pk), Unit.objects.get(pk=unit.pk)
    first.name = "Box A"
    golden_save(first, actor=steward, reason="a", expected_version=1)
    second.name = "Box B"
    with pytest.raises(StaleVersionError, match="at version 2, but the change was based on version 1"):
        golden_save(second, actor=steward, reason="b", expected_version=1)
    assert Unit.objects.get(pk=unit.pk).name == "Box A"


@pytest.mark.django_db
def test_golden_records_are_never_deleted(steward):
    from mdm.models import GoldenRecordDeleteError

    unit = unit_create(code="BX", name="Box", dimension="count", actor=steward, reason="t")
    with pytest.raises(GoldenRecordDeleteError):
        unit.delete()
    with pytest.raises(GoldenRecordDeleteError):
        Unit.objects.all().delete()


@pytest.mark.django_db
def test_as_of_list_filters_on_historical_values(api, steward):
    unit = unit_create(code="BX", name="Box", dimension="count", aliases=["box"], actor=steward, reason="t")
    before = timezone.now()
    unit.dimension = "other"
    golden_save(unit, actor=steward, reason="t")
    results = api.get("/api/v1/units/", {"as_of": before.isoformat(), "dimension": "count"}).json()["results"]
    assert [u["code"] for u in results] == ["BX"]
    assert api.get("/api/v1/units/", {"dimension": "count"}).json()["count"] == 0
    response = api.get("/api/v1/units/", {"as_of": before.isoformat(), "alias": "box"})
    assert response.status_code == 400
    assert "not available together with as_of" in response.json()["errors"]["alias"][0]
