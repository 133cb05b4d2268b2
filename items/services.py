"""Writes for items."""

from django.core.exceptions import ValidationError
from django.db import transaction

from items.models import Item, ItemPackagingLevel
from items.rules import packaging_problems
from mdm.identifiers import clean_gtin, clean_ndc, clean_udi_di, clean_unspsc
from mdm.services.golden import golden_save, golden_save_child
from uom.models import Unit
from uom.selectors import unit_resolve

# The item columns a service (and the admin form) may set, in form order.
ITEM_FIELDS = (
    "description",
    "short_name",
    "manufacturer_name",
    "manufacturer_part_number",
    "item_type",
    "unspsc",
    "sterile",
    "latex_free",
    "single_use",
    "implantable",
    "prescription",
    "ndc",
    "gudid_di",
    "base_unit",
    "content_quantity",
    "content_unit",
    "status",
)
_IDENTIFIERS = {"unspsc": clean_unspsc, "ndc": clean_ndc, "gudid_di": clean_udi_di}


def _resolve_unit(value, *, system, cache) -> Unit | None:
    if isinstance(value, Unit):
        return value
    return unit_resolve(value, system=system, cache=cache) if value else None


def _unknown_unit(value) -> str:
    if not value:
        return "This field is required."
    return f"Unknown unit '{value}': not a hub unit code and not an alias known for this source system."


@transaction.atomic
def item_create(*, data: dict, system=None, actor, reason: str) -> Item:
    """Create an item golden record and its packaging levels, all or nothing.

    ``data`` uses the model's field names; ``base_unit`` and each ``packaging[i].unit`` are ``Unit``
    instances or codes/aliases (resolved for ``system``). ``packaging`` lists the levels base first,
    each ``{unit, quantity, gtin}``; without it the item gets one base level (its base unit, quantity
    1). Identifiers may be given in any accepted form and are stored canonical (GTIN 14 digits, NDC 11).

    Raises Django's ``ValidationError`` keyed by field (``packaging[1].gtin``) and writes nothing when
    the data is inconsistent or a GTIN already belongs to another item.
    """
    data = dict(data)
    packaging = list(data.pop("packaging", None) or [])
    unknown = set(data) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"item_create got unknown field(s): {', '.join(sorted(unknown))}")

    errors: dict[str, list[str]] = {}
    cache: dict = {}
    base_unit = _resolve_unit(data.get("base_unit"), system=system, cache=cache)
    if base_unit is None:
        errors["base_unit"] = [_unknown_unit(data.get("base_unit"))]
    data["base_unit"] = base_unit
    if data.get("content_unit"):
        content_unit = _resolve_unit(data["content_unit"], system=system, cache=cache)
        if content_unit is None:
            errors["content_unit"] = [_unknown_unit(data["content_unit"])]
        data["content_unit"] = content_unit
    for name, clean in _IDENTIFIERS.items():
        if data.get(name):
            try:
                data[name] = clean(data[name])
            except ValidationError as exc:
                errors[name] = exc.messages

    if not packaging and base_unit is not None:
        packaging = [{"unit": base_unit, "quantity": 1, "gtin": ""}]
    levels = []
    for index, raw in enumerate(packaging):
        unit = _resolve_unit(raw.get("unit"), system=system, cache=cache)
        if unit is None:
            errors[f"packaging[{index}].unit"] = [_unknown_unit(raw.get("unit"))]
        gtin = raw.get("gtin") or ""
        if gtin:
            try:
                gtin = clean_gtin(gtin)
            except ValidationError as exc:
                errors[f"packaging[{index}].gtin"] = exc.messages
        quantity = raw.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            errors[f"packaging[{index}].quantity"] = [f"Quantity must be a whole number, not {quantity!r}."]
        levels.append({"unit": unit, "quantity": quantity, "gtin": gtin})
    if errors:
        raise ValidationError(errors)

    for index, fields in packaging_problems(levels, base_unit=base_unit).items():
        for field, messages in fields.items():
            errors[f"packaging[{index}].{field}"] = messages
    # The unique constraint would refuse it too, but only with a bare IntegrityError at save time.
    gtins = [level["gtin"] for level in levels if level["gtin"]]
    taken = {
        gtin: (item_id, level)
        for gtin, item_id, level in ItemPackagingLevel.objects.filter(gtin__in=gtins).values_list(
            "gtin", "item_id", "level"
        )
    }
    for index, level in enumerate(levels):
        if level["gtin"] in taken:
            other_item, other_level = taken[level["gtin"]]
            errors.setdefault(f"packaging[{index}].gtin", []).append(
                f"GTIN '{level['gtin']}' already belongs to item {other_item} (packaging level {other_level}); "
                "a GTIN identifies one packaging level of one item."
            )

    # Model validation (lengths, choices, the drug-only NDC rule). Units were resolved from the database
    # already and the uniqueness rules are checked above, so skip those queries.
    item = Item(**data)
    try:
        item.full_clean(exclude=["base_unit", "content_unit"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    children = [ItemPackagingLevel(level=index, **level) for index, level in enumerate(levels)]
    for index, child in enumerate(children):
        try:
            child.full_clean(exclude=["item", "unit"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(f"packaging[{index}].{field}", []).extend(messages)
    if errors:
        raise ValidationError(errors)

    golden_save(item, actor=actor, reason=reason)
    for child in children:
        child.item = item
        golden_save_child(child, actor=actor, reason=reason)
    return item


def item_create_from_payload(standardized: dict, *, system, actor, reason: str) -> Item:
    """``EntitySpec.create_golden`` for items: a validated payload (see ``ItemPayloadSerializer``) to a golden item.

    Unit codes are resolved with ``uom.selectors.unit_resolve``. ``pack_string`` stays on the source
    record (the golden item holds the parsed hierarchy, not one source's notation).
    """
    data = {key: value for key, value in standardized.items() if key not in ("manufacturer", "pack_string")}
    data["manufacturer_name"] = standardized.get("manufacturer") or ""
    cache: dict = {}
    data["base_unit"] = _resolve_unit(standardized.get("base_unit"), system=system, cache=cache) or data.get(
        "base_unit"
    )
    data["packaging"] = [
        {**level, "unit": _resolve_unit(level.get("unit"), system=system, cache=cache) or level.get("unit")}
        for level in standardized.get("packaging") or []
    ]
    return item_create(data=data, system=system, actor=actor, reason=reason)
