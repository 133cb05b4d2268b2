"""Cross-level packaging rules, shared by the payload serializer and the create service.

Field-level checks (a GTIN's check digit, a known unit) happen before these run; here the GTINs are
already 14 digits.
"""

from collections import defaultdict

from mdm.identifiers import gtin_indicator, gtin_item_reference


def _unit_code(unit) -> str:
    # Serializers work with hub codes, services with Unit instances: compare on the code either way.
    return getattr(unit, "code", unit)


def packaging_problems(levels: list[dict], *, base_unit) -> dict[int, dict[str, list[str]]]:
    """Problems per packaging index (0 = base level) and field, for ``levels`` given base level first.

    Each level is a dict with ``unit``, ``quantity`` and ``gtin`` (14 digits or blank). An empty
    result means the hierarchy is consistent.
    """
    problems: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if levels:
        base = levels[0]
        if base["quantity"] != 1:
            problems[0]["quantity"].append(
                f"The base level (packaging[0]) is one base unit: its quantity must be 1, not {base['quantity']}."
            )
        if _unit_code(base["unit"]) != _unit_code(base_unit):
            problems[0]["unit"].append(
                f"The base level's unit must be the item's base unit '{_unit_code(base_unit)}', "
                f"not '{_unit_code(base['unit'])}'."
            )
    first_level_of: dict[str, int] = {}
    for index, level in enumerate(levels):
        if level["quantity"] < 1:
            problems[index]["quantity"].append(
                f"Quantity must be at least 1 (how many of level {index - 1} one level {index} holds)."
                if index
                else "Quantity must be 1 for the base level."
            )
        gtin = level.get("gtin") or ""
        if not gtin:
            continue
        indicator = gtin_indicator(gtin)
        if indicator == 9:
            problems[index]["gtin"].append(
                f"GTIN '{gtin}' has indicator digit 9, which marks a variable-measure trade item; "
                "a packaging level needs a fixed-quantity GTIN (indicator 0-8)."
            )
            continue
        # Levels of one product share the item reference and differ in the indicator digit. With a valid
        # check digit, same reference + same indicator means the very same GTIN, so this one check
        # enforces both "distinct GTINs" and "distinct indicators per item reference".
        if gtin in first_level_of:
            problems[index]["gtin"].append(
                f"GTIN '{gtin}' is already given for packaging level {first_level_of[gtin]}: each level needs "
                f"its own GTIN. Levels sharing item reference {gtin_item_reference(gtin)} must use different "
                f"indicator digits (both use {indicator})."
            )
        else:
            first_level_of[gtin] = index
    return {index: dict(fields) for index, fields in problems.items()}
