"""Reads for units."""

from uom.models import Unit, UnitAlias, normalize_alias


def unit_resolve(text: str, *, system=None, cache: dict | None = None) -> Unit | None:
    """Find the unit a source means by ``text``: the hub code first, then the system's alias, then a global alias.

    ``cache`` (a dict shared over a batch) saves a query per repeated look-up.
    """
    if not text or not str(text).strip():
        return None
    key = ("unit", getattr(system, "pk", None), normalize_alias(text))
    if cache is not None and key in cache:
        return cache[key]
    unit = Unit.objects.filter(code__iexact=str(text).strip()).first()
    if unit is None:
        aliases = UnitAlias.objects.select_related("unit").filter(normalized=key[2])
        alias = (aliases.filter(system=system).first() if system is not None else None) or aliases.filter(
            system__isnull=True
        ).first()
        unit = alias.unit if alias else None
    if cache is not None:
        cache[key] = unit
    return unit
