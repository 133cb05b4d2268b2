"""factory_boy factories for items (kept apart from tests/factories.py, which other apps share)."""

import factory

from items.models import Item, ItemPackagingLevel
from tests.factories import UnitFactory


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    description = factory.Sequence(lambda n: f"GLOVE,EXAM,NITRILE,SIZE {n}")
    manufacturer_name = "Acme Medical"
    manufacturer_part_number = factory.Sequence(lambda n: f"AM-{n:05d}")
    item_type = "med_surg"
    base_unit = factory.SubFactory(UnitFactory, code="EA", name="Each")


class ItemPackagingLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ItemPackagingLevel

    item = factory.SubFactory(ItemFactory)
    level = 0
    unit = factory.LazyAttribute(lambda o: o.item.base_unit)
    quantity = 1
    gtin = ""
