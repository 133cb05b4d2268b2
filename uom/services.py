"""Writes for units."""

from django.db import transaction

from mdm.services.golden import golden_save, golden_save_child
from uom.models import Unit, UnitAlias, normalize_alias


@transaction.atomic
def unit_create(*, code, name, dimension, unece_code="", ucum_code="", aliases=(), system=None, actor, reason):
    """Create a unit golden record with its aliases (scoped to ``system`` when given)."""
    unit = golden_save(
        Unit(code=code, name=name, dimension=dimension, unece_code=unece_code, ucum_code=ucum_code),
        actor=actor,
        reason=reason,
    )
    seen = set()
    for alias in aliases:
        norm = normalize_alias(alias)
        if norm in seen or norm == normalize_alias(code):
            continue
        seen.add(norm)
        golden_save_child(UnitAlias(unit=unit, system=system, alias=alias), actor=actor, reason=reason)
    return unit


def unit_create_from_payload(standardized: dict, *, system, actor, reason):
    """``EntitySpec.create_golden`` for units."""
    return unit_create(**standardized, system=system, actor=actor, reason=reason)
