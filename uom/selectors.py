"""Reads for units."""

from uom.errors import ConversionError
from uom.models import Unit, normalize_alias
from uom.registry import resolve_unit


def unit_resolve(text: str, *, system=None, cache: dict | None = None) -> Unit | None:
    """The hub ``Unit`` a source means by ``text``, or None.

    Resolution follows the unit registry (``uom.registry``): the system's own aliases first (an X12 feed's
    ``CA`` is a case), then hub codes, UN/ECE Rec 20 and Rec 21 codes (``MGM``, ``XBX``), global aliases
    and UCUM codes. A code the registry knows but the hub has no ``Unit`` row for gives None.
    ``cache`` (a dict shared over a batch) saves a query per repeated look-up.
    """
    if not text or not str(text).strip():
        return None
    key = ("unit", getattr(system, "pk", system), normalize_alias(text))
    if cache is not None and key in cache:
        return cache[key]
    try:
        code = resolve_unit(text, system=system).code
    except ConversionError:
        unit = None
    else:
        unit = Unit.objects.filter(code=code).first()
    if cache is not None:
        cache[key] = unit
    return unit
