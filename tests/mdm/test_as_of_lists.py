"""?as_of list pages: children as they were at that time, in a constant number of queries."""

import pytest
from django.utils import timezone

from items.models import ItemPackagingLevel
from items.services import item_create
from mdm.services.golden import golden_save, golden_save_child
from uom.models import UnitAlias
from uom.services import unit_create


@pytest.fixture
def units(steward):
    return {
        code: unit_create(code=code, name=code, dimension="count", actor=steward, reason="t")
        for code in ("EA", "BX", "CS")
    }


def make_items(n, steward):
    return [
        item_create(
            data={
                "description": f"Glove nitrile {i}",
                "item_type": "med_surg",
                "base_unit": "EA",
                "packaging": [{"unit": "EA", "quantity": 1}, {"unit": "BX", "quantity": 100}],
            },
            actor=steward,
            reason="t",
        )
        for i in range(n)
    ]


@pytest.mark.django_db
def test_as_of_list_shows_children_as_they_were(api, steward, units):
    items = make_items(3, steward)
    before = timezone.now()
    # After `before`: item 0's box grows to 200 and gains a case level; a new alias appears on EA.
    box = ItemPackagingLevel.objects.get(item=items[0], level=1)
    box.quantity = 200
    golden_save_child(box, actor=steward, reason="repack")
    golden_save_child(
        ItemPackagingLevel(item=items[0], level=2, unit=units["CS"], quantity=10), actor=steward, reason="t"
    )
    golden_save_child(UnitAlias(unit=units["EA"], alias="each"), actor=steward, reason="t")
    items[0].description = "Glove nitrile, renamed"
    golden_save(items[0], actor=steward, reason="rename")

    now = {r["id"]: r for r in api.get("/api/v1/items/").json()["results"]}
    assert [(p["unit"], p["quantity"]) for p in now[items[0].pk]["packaging"]] == [("EA", 1), ("BX", 200), ("CS", 10)]

    then = {r["id"]: r for r in api.get("/api/v1/items/", {"as_of": before.isoformat()}).json()["results"]}
    assert then[items[0].pk]["description"] == "Glove nitrile 0"
    assert [(p["unit"], p["quantity"]) for p in then[items[0].pk]["packaging"]] == [("EA", 1), ("BX", 100)]
    assert [(p["unit"], p["quantity"]) for p in then[items[1].pk]["packaging"]] == [("EA", 1), ("BX", 100)]

    units_then = {u["code"]: u for u in api.get("/api/v1/units/", {"as_of": before.isoformat()}).json()["results"]}
    assert units_then["EA"]["aliases"] == []
    units_now = {u["code"]: u for u in api.get("/api/v1/units/").json()["results"]}
    assert [a["alias"] for a in units_now["EA"]["aliases"]] == ["each"]


@pytest.mark.django_db
def test_as_of_list_query_count_does_not_grow_with_the_page(api, steward, units, django_assert_max_num_queries):
    make_items(30, steward)
    as_of = timezone.now().isoformat()
    api.get("/api/v1/items/", {"as_of": as_of})  # warm the permission cache
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/items/", {"as_of": as_of})
    assert len(response.json()["results"]) == 30
    assert all(len(r["packaging"]) == 2 for r in response.json()["results"])
