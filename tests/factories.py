"""factory_boy factories for golden records and source systems (one name stem per model)."""

import factory

from mdm.models import SourceSystem
from uom.models import Unit, UnitAlias


class SourceSystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SourceSystem
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"system-{n}")
    kind = "api"
    trust_rank = 50


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"U{n}")
    name = factory.LazyAttribute(lambda o: f"Unit {o.code}")
    dimension = "count"


class UnitAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitAlias

    unit = factory.SubFactory(UnitFactory)
    alias = factory.Sequence(lambda n: f"alias {n}")
