"""The item's content per base unit (30 mL per vial) and the packaging the item app hands to uom."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from items.models import Item
from items.selectors import item_packaging
from items.services import item_create
from uom.conversions import ConversionError, Packaging, PackagingLevel, packaging_for_item
from uom.services import unit_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(steward):
    for code, name, dimension in (("VI", "Vial", "count"), ("ML", "Millilitre", "volume"), ("BX", "Box", "count")):
        unit_create(code=code, name=name, dimension=dimension, actor=steward, reason="t")


def _data(**extra):
    return {"description": "Heparin 5,000 units/mL, 10 mL vial", "item_type": "drug", "base_unit": "VI", **extra}


def test_item_packaging_is_uom_plain_data(steward, units):
    item = item_create(
        data=_data(
            content_quantity=Decimal("10"),
            content_unit="ML",
            packaging=[{"unit": "VI", "quantity": 1}, {"unit": "BX", "quantity": 25}],
        ),
        actor=steward,
        reason="t",
    )
    expected = Packaging(
        "VI", (PackagingLevel(0, "VI", 1), PackagingLevel(1, "BX", 25)), content_quantity=Decimal(10), content_unit="ML"
    )
    assert item_packaging(item.pk) == expected
    assert packaging_for_item(item.pk) == expected  # through the provider the item app registered


def test_unknown_item(db):
    with pytest.raises(ConversionError) as caught:
        packaging_for_item(424242)
    assert (caught.value.code, caught.value.field, caught.value.message) == (
        "unknown_item",
        "item",
        "There is no item 424242.",
    )


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"content_quantity": Decimal("10")}, "content_unit", "Give the content per base unit as an amount and a unit"),
        ({"content_unit": "ML"}, "content_quantity", "Give the content per base unit as an amount and a unit"),
        ({"content_quantity": Decimal("-1"), "content_unit": "ML"}, "content_quantity", "must be greater than zero"),
        ({"content_quantity": Decimal("1"), "content_unit": "BX"}, "content_unit", "must be in a physical unit"),
        ({"content_quantity": Decimal("1"), "content_unit": "NOPE"}, "content_unit", "Unknown unit 'NOPE'"),
    ],
)
def test_bad_content_is_refused_and_nothing_written(steward, units, extra, field, message):
    with pytest.raises(ValidationError) as caught:
        item_create(data=_data(**extra), actor=steward, reason="t")
    assert message in " ".join(caught.value.message_dict[field])
    assert Item.objects.count() == 0
