"""Writes for units."""

from dataclasses import dataclass, field

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


@dataclass
class CodeLoadResult:
    """What ``unit_codes_load`` did: counts, and the shipped entries it left alone with the reason."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    aliases_created: int = 0
    aliases_skipped: int = 0
    conflicts: list[str] = field(default_factory=list)


@transaction.atomic
def unit_codes_load(*, actor, reason: str = "UN/ECE Rec 20/21 and UCUM code lists", conventions=()) -> CodeLoadResult:
    """Load the shipped code lists into ``Unit`` rows and global aliases; safe to run again (idempotent).

    A unit missing from the hub is created. A unit the hub already has (same code) is never renamed or
    re-dimensioned: only a blank UN/ECE or UCUM code is filled in, and a different dimension is reported as
    a conflict. A global alias already used by another unit is skipped (aliases are unique per system).

    ``conventions`` are ``(source system, convention)`` pairs, e.g. ``(distributor, "x12")``: that system
    gets the convention's aliases (X12 ``CA`` = case) as its own ``UnitAlias`` rows.
    """
    from uom.registry import catalogue_units, code_lists

    result = CodeLoadResult()
    existing = {unit.code.upper(): unit for unit in Unit.objects.all()}
    taken_global = set(UnitAlias.objects.filter(system__isnull=True).values_list("normalized", flat=True))
    for entry in catalogue_units():
        aliases = entry.pop("aliases")
        unit = existing.get(entry["code"].upper())
        if unit is None:
            unit = golden_save(Unit(**entry), actor=actor, reason=reason)
            existing[unit.code.upper()] = unit
            result.created += 1
        else:
            changed = []
            if unit.dimension != entry["dimension"]:
                result.conflicts.append(
                    f"{unit.code}: the hub has dimension '{unit.dimension}', the code list says "
                    f"'{entry['dimension']}'; left as it is."
                )
            else:
                for name in ("unece_code", "ucum_code"):
                    if entry[name] and not getattr(unit, name):
                        setattr(unit, name, entry[name])
                        changed.append(name)
            if changed:
                golden_save(unit, actor=actor, reason=f"{reason}: filled {', '.join(changed)}")
                result.updated += 1
            else:
                result.unchanged += 1
        for alias in aliases:
            norm = normalize_alias(alias)
            if norm == normalize_alias(unit.code):
                continue
            if norm in taken_global:
                result.aliases_skipped += 1
                continue
            golden_save_child(UnitAlias(unit=unit, system=None, alias=alias), actor=actor, reason=reason)
            taken_global.add(norm)
            result.aliases_created += 1
    lists = code_lists()
    for system, convention in conventions:
        mapping = lists.conventions.get(convention)
        if mapping is None:
            raise ValueError(f"Unknown unit convention '{convention}'; known: {', '.join(sorted(lists.conventions))}.")
        taken = set(UnitAlias.objects.filter(system=system).values_list("normalized", flat=True))
        for alias, code in mapping.items():
            unit = existing.get(code.upper())
            if alias in taken or unit is None:
                result.aliases_skipped += alias in taken
                continue
            golden_save_child(UnitAlias(unit=unit, system=system, alias=alias.upper()), actor=actor, reason=reason)
            taken.add(alias)
            result.aliases_created += 1
    return result
