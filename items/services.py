"""Writes for items."""

from decimal import Decimal, InvalidOperation

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


# --- stewardship: changing named fields of an item (change requests apply these) -----------------------------

ITEM_CHANGE_FIELDS = (*(name for name in ITEM_FIELDS if name != "status"), "packaging")
"""The item fields stewards change through change requests, in form order (``packaging`` last)."""
_TEXTS = ("description", "short_name", "manufacturer_name", "manufacturer_part_number")
_FLAGS = ("sterile", "latex_free", "single_use", "implantable", "prescription")
# A model rule over two fields reports on one of them; when only the other changed, the message goes there.
_RELATED = {"ndc": ("item_type",), "content_quantity": ("content_unit",), "content_unit": ("content_quantity",)}
_FLAG_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False, "": None}


def _flag(value, errors: dict, name: str):
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _FLAG_WORDS:
        return _FLAG_WORDS[word]
    errors.setdefault(name, []).append(f"Give true, false or nothing (not known), not {value!r}.")
    return None


def _decimal(value, errors: dict, name: str):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        errors.setdefault(name, []).append(f"'{value}' is not a number.")
        return None
    return number


def _whole(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _packaging_clean(raw_levels, *, item: Item | None, base_unit, system, cache, errors: dict) -> list[dict]:
    if not isinstance(raw_levels, list | tuple):
        errors.setdefault("packaging", []).append("Give the packaging as a list of levels, base level first.")
        return []
    if not raw_levels:
        errors.setdefault("packaging", []).append("An item needs at least its base level (one base unit).")
        return []
    levels, broken = [], False
    for index, raw in enumerate(raw_levels):
        prefix = f"packaging[{index}]."
        if not isinstance(raw, dict):
            errors.setdefault(f"packaging[{index}]", []).append("A packaging level is an object of fields.")
            broken = True
            continue
        for key in sorted(set(raw) - {"level", "unit", "quantity", "gtin"}):
            errors.setdefault(f"{prefix}{key}", []).append("Not a packaging level field.")
        if raw.get("level") not in (None, "") and _whole(raw["level"]) != index:
            errors.setdefault(f"{prefix}level", []).append(
                f"Levels are listed base first: entry {index} is level {index}, not {raw['level']}."
            )
        unit = _resolve_unit(raw.get("unit"), system=system, cache=cache)
        if unit is None:
            errors.setdefault(f"{prefix}unit", []).append(_unknown_unit(raw.get("unit")))
        gtin = str(raw.get("gtin") or "").strip()
        if gtin:
            try:
                gtin = clean_gtin(gtin)
            except ValidationError as exc:
                errors.setdefault(f"{prefix}gtin", []).extend(exc.messages)
        quantity = _whole(raw.get("quantity"))
        if quantity is None:
            errors.setdefault(f"{prefix}quantity", []).append(
                f"Quantity must be a whole number, not {raw.get('quantity')!r}."
            )
        levels.append({"level": index, "unit": unit, "quantity": quantity, "gtin": gtin})
        broken = broken or unit is None or quantity is None
    if broken or base_unit is None:
        return levels

    for index, fields in packaging_problems(levels, base_unit=base_unit).items():
        for field, messages in fields.items():
            errors.setdefault(f"packaging[{index}].{field}", []).extend(messages)
    first_level: dict[int, int] = {}
    for index, level in enumerate(levels):
        if level["unit"].pk in first_level:
            errors.setdefault(f"packaging[{index}].unit", []).append(
                f"'{level['unit'].code}' is already packaging level {first_level[level['unit'].pk]}: "
                "each level needs its own unit."
            )
        first_level.setdefault(level["unit"].pk, index)
    # The unique constraint would refuse it too, but only with a bare IntegrityError at save time.
    taken = ItemPackagingLevel.objects.filter(gtin__in=[level["gtin"] for level in levels if level["gtin"]])
    if item is not None and item.pk:
        taken = taken.exclude(item_id=item.pk)
    owners = {gtin: (item_id, level) for gtin, item_id, level in taken.values_list("gtin", "item_id", "level")}
    for index, level in enumerate(levels):
        if level["gtin"] in owners:
            other_item, other_level = owners[level["gtin"]]
            errors.setdefault(f"packaging[{index}].gtin", []).append(
                f"GTIN '{level['gtin']}' already belongs to item {other_item} (packaging level {other_level}); "
                "a GTIN identifies one packaging level of one item."
            )
    for index, level in enumerate(levels):
        try:
            ItemPackagingLevel(**level).full_clean(
                exclude=["item", "unit"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                known = errors.setdefault(f"packaging[{index}].{field}", [])
                known.extend(message for message in messages if message not in known)
    return levels


def item_changes_clean(changes: dict, item: Item | None = None, *, system=None) -> dict:
    """Check and normalize proposed values of the named item fields (``item`` None: a new item).

    Only the fields in ``changes`` are checked, with the rules that tie them to the item's other fields
    (an NDC only for drugs, the content as an amount and a unit, the base level in the base unit); names
    outside ``ITEM_CHANGE_FIELDS`` are errors. One field can be normalized on its own: the fields a new item
    lacks are ``item_create``'s to refuse. Units (codes or aliases of ``system``) come back as ``Unit`` rows, ``content_quantity``
    as a ``Decimal``, identifiers canonical, and ``packaging`` as the complete new list of levels
    ``{level, unit, quantity, gtin}`` base first. A GTIN another item holds is refused.

    Raises Django's ``ValidationError`` keyed by field (``packaging[1].gtin``).
    """
    errors: dict[str, list[str]] = {}
    for name in sorted(set(changes) - set(ITEM_CHANGE_FIELDS)):
        errors[name] = ["Not an item field that can be changed here."]
    given = [name for name in ITEM_CHANGE_FIELDS if name in changes and name != "packaging"]
    cache: dict = {}
    cleaned: dict = {}
    for name in given:
        value = changes[name]
        if name in _TEXTS:
            value = str(value).strip() if value is not None else ""
        elif name in _FLAGS:
            value = _flag(value, errors, name)
        elif name in _IDENTIFIERS:
            value = str(value).strip() if value is not None else ""
            if value:
                try:
                    value = _IDENTIFIERS[name](value)
                except ValidationError as exc:
                    errors.setdefault(name, []).extend(exc.messages)
        elif name == "base_unit":
            unit = _resolve_unit(value, system=system, cache=cache)
            if unit is None:
                errors.setdefault(name, []).append(_unknown_unit(value))
            value = unit
        elif name == "content_unit":
            unit = _resolve_unit(value, system=system, cache=cache) if value else None
            if value and unit is None:
                errors.setdefault(name, []).append(_unknown_unit(value))
            value = unit
        elif name == "content_quantity":
            value = _decimal(value, errors, name)
        elif name == "item_type":
            value = str(value).strip() if value is not None else ""
        cleaned[name] = value

    candidate = Item(**({name: getattr(item, name) for name in ITEM_FIELDS} if item is not None else {}))
    for name, value in cleaned.items():
        if name not in errors:
            setattr(candidate, name, value)
    checked = set(given)
    exclude = ["base_unit", "content_unit", *(f.name for f in Item._meta.fields if f.name not in checked)]
    found: dict[str, list[str]] = {}
    try:
        candidate.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        found = exc.message_dict
    for name, messages in found.items():
        if item is None and name in _RELATED and not any(other in checked for other in _RELATED[name]):
            continue  # a rule over two fields waits for both on a new item (one field is normalized on its own)
        target = name if name in checked else next((r for r in _RELATED.get(name, ()) if r in checked), None)
        if target is not None and name not in errors:  # a stored value of another field is not this change's problem
            errors.setdefault(target, []).extend(messages)

    base_unit = candidate.base_unit if candidate.base_unit_id is not None else None
    if "packaging" in changes:
        cleaned["packaging"] = _packaging_clean(
            changes["packaging"], item=item, base_unit=base_unit, system=system, cache=cache, errors=errors
        )
    elif item is not None and "base_unit" in cleaned and base_unit is not None:
        levels = [
            {"unit": level.unit, "quantity": level.quantity, "gtin": level.gtin}
            for level in item.packaging_levels.select_related("unit").order_by("level")
        ]
        for fields in packaging_problems(levels, base_unit=base_unit).values():
            for messages in fields.values():
                errors.setdefault("base_unit", []).extend(
                    f"{message} Change the packaging together with the base unit." for message in messages
                )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _delete_child(row, *, actor, reason: str) -> None:
    # The history row of a deletion records who removed it and why, like any other write.
    row._history_user = actor
    row._change_reason = reason
    row.delete()


def _packaging_replace(item: Item, levels: list[dict], *, actor, reason: str) -> None:
    existing = {row.level: row for row in item.packaging_levels.all()}
    for number, row in existing.items():
        if number >= len(levels):
            _delete_child(row, actor=actor, reason=reason)
    # A GTIN is unique across all levels: one moving to another level of this item leaves its old level first.
    moving = {level["gtin"] for level in levels if level["gtin"]}
    for number, row in existing.items():
        if number < len(levels) and row.gtin and row.gtin in moving and row.gtin != levels[number]["gtin"]:
            row.gtin = ""
            golden_save_child(row, actor=actor, reason=reason)
    for number, level in enumerate(levels):
        row = existing.get(number)
        values = {"unit": level["unit"], "quantity": level["quantity"], "gtin": level["gtin"]}
        if row is None:
            golden_save_child(ItemPackagingLevel(item=item, level=number, **values), actor=actor, reason=reason)
        elif (row.unit_id, row.quantity, row.gtin) != (level["unit"].pk, level["quantity"], level["gtin"]):
            for name, value in values.items():
                setattr(row, name, value)
            golden_save_child(row, actor=actor, reason=reason)


@transaction.atomic
def item_update(
    item: Item, *, changes: dict, actor, reason: str, system=None, expected_version: int | None = None
) -> Item:
    """Change the named fields of an item (``ITEM_CHANGE_FIELDS``), all or nothing, with history.

    ``changes`` takes the forms ``item_changes_clean`` accepts (unit codes, decimals as strings...).
    ``packaging`` replaces the item's levels: a level keeps its row when it stays (its history goes on),
    levels beyond the new list are deleted (their history keeps them). The item's version goes up even
    when only its packaging changes. With ``expected_version`` the update is refused
    (``StaleVersionError``) when the record changed since.
    """
    cleaned = item_changes_clean(changes, item, system=system)
    packaging = cleaned.pop("packaging", None)
    for name, value in cleaned.items():
        setattr(item, name, value)
    golden_save(item, actor=actor, reason=reason, expected_version=expected_version)
    if packaging is not None:
        _packaging_replace(item, packaging, actor=actor, reason=reason)
    return item
