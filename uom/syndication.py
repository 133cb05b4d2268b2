"""A unit as downstream systems receive it, with its size against the category's reference unit.

Categories follow the common ERP convention (Odoo's among them): Unit (reference: each), Weight (kg),
Volume (L), Length (m), Surface (m²), Time (hour). ``ratio`` is how many reference units one of this unit
is (g -> 0.001, dozen -> 12); item-specific packaging units (box, case) have none.
"""

from fractions import Fraction

from uom.choices import Dimension
from uom.conversions import fraction_to_decimal
from uom.registry import _catalogue_index, _unit_def

# dimension -> (category, size of the reference unit in the converter's root units)
CATEGORIES = {
    Dimension.COUNT: ("Unit", Fraction(1)),
    Dimension.MASS: ("Weight", Fraction(1000)),  # root: gram
    Dimension.VOLUME: ("Volume", Fraction(1, 1000)),  # root: cubic metre
    Dimension.LENGTH: ("Length", Fraction(1)),
    Dimension.AREA: ("Surface", Fraction(1)),
    Dimension.TIME: ("Time", Fraction(3600)),  # root: second
}


def unit_publish(unit) -> dict:
    category, ratio = None, None
    # From the unit's own codes and the shipped catalogue: no database look-up while the unit is being saved.
    definition = _unit_def(
        unit.code, unit.name, unit.dimension, unit.unece_code, unit.ucum_code, "", _catalogue_index().units
    )
    if definition.factor is not None and unit.dimension in CATEGORIES:
        category, reference = CATEGORIES[unit.dimension]
        value, _exact = fraction_to_decimal(definition.factor / reference)
        ratio = format(value.normalize(), "f")
    return {
        "entity_type": "unit",
        "id": unit.pk,
        "version": unit.version,
        "status": unit.status,
        "merged_into": None,
        "code": unit.code,
        "name": unit.name,
        "dimension": unit.dimension,
        "unece_code": unit.unece_code,
        "ucum_code": unit.ucum_code,
        "category": category,
        "ratio": ratio,
        "is_reference": ratio == "1",
    }
