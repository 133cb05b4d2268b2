"""How stewards change items through change requests: the ``StewardshipAdapter`` registered in apps.py.

Values are JSON-safe, because change requests store them: units as hub codes (``EA``), the content per
base unit as a decimal string (``"30"``), the packaging as a list of ``{level, unit, quantity, gtin}``.
"""

from django.core.exceptions import ValidationError
from django.db.models import Q

from items.models import Item, ItemPackagingLevel, part_number_key
from items.services import ITEM_CHANGE_FIELDS, item_changes_clean, item_create, item_update
from mdm.identifiers import clean_gtin, clean_ndc, clean_udi_di, clean_unspsc
from mdm.registry import StewardshipAdapter

SCALARS = tuple(name for name in ITEM_CHANGE_FIELDS if name != "packaging")
FLAGS = ("sterile", "latex_free", "single_use", "implantable", "prescription")

LABELS = {
    "description": "Description",
    "short_name": "Short name",
    "manufacturer_name": "Manufacturer",
    "manufacturer_part_number": "Manufacturer part number",
    "item_type": "Item type",
    "unspsc": "UNSPSC",
    "sterile": "Sterile",
    "latex_free": "Latex-free",
    "single_use": "Single use",
    "implantable": "Implantable",
    "prescription": "Prescription (Rx)",
    "ndc": "NDC",
    "gudid_di": "GUDID DI",
    "base_unit": "Base unit",
    "content_quantity": "Content per base unit",
    "content_unit": "Content unit",
    "packaging": "Packaging",
}


def decimal_text(value) -> str | None:
    """A decimal as plain text without trailing zeros (``30.000000`` -> ``"30"``); None stays None."""
    if value is None:
        return None
    return format(value.normalize(), "f")


def _unit_code(unit) -> str:
    return unit.code if unit is not None else ""


def _level(level: ItemPackagingLevel) -> dict:
    return {"level": level.level, "unit": level.unit.code, "quantity": level.quantity, "gtin": level.gtin}


def snapshot(item: Item) -> dict:
    """The editable fields of ``item``, JSON-safe (units as codes, the packaging base level first)."""
    values = {name: getattr(item, name) for name in SCALARS if name not in ("base_unit", "content_unit")}
    values["base_unit"] = _unit_code(item.base_unit)
    values["content_quantity"] = decimal_text(item.content_quantity)
    values["content_unit"] = _unit_code(item.content_unit)
    levels = item.packaging_levels.select_related("unit").order_by("level")
    values["packaging"] = [_level(level) for level in levels]
    return values


def validate(changes: dict, item: Item | None) -> dict:
    """Normalized, JSON-safe values of the given fields; ``ValidationError`` keyed by field otherwise."""
    cleaned = item_changes_clean(dict(changes), item)
    out = {}
    for name, value in cleaned.items():
        if name in ("base_unit", "content_unit"):
            out[name] = _unit_code(value)
        elif name == "content_quantity":
            out[name] = decimal_text(value)
        elif name == "packaging":
            out[name] = [
                {
                    "level": level["level"],
                    "unit": level["unit"].code,
                    "quantity": level["quantity"],
                    "gtin": level["gtin"],
                }
                for level in value
            ]
        else:
            out[name] = value
    return out


def create(data: dict, *, actor, reason: str) -> Item:
    """A new item from validated values (``validate(data, None)``); without packaging it gets a base level."""
    data = dict(data)
    if not data.get("content_unit"):
        data.pop("content_unit", None)
    if data.get("content_quantity") in ("", None):
        data.pop("content_quantity", None)
    return item_create(data=data, actor=actor, reason=reason)


def update(item: Item, changes: dict, *, actor, reason: str) -> Item:
    """Apply validated values of some fields (``item_update``: the packaging is replaced level by level)."""
    return item_update(item, changes=changes, actor=actor, reason=reason)


def scope(item: Item | None, values: dict | None = None) -> dict:
    """Approvers are scoped by UNSPSC prefix: the proposed category, else the item's own."""
    return {"category": (values or {}).get("unspsc") or (item.unspsc if item is not None else "")}


SURVIVORSHIP = {
    "description": "complete",
    "short_name": "complete",
    "manufacturer_name": "trust",
    "manufacturer_part_number": "trust",
    "ndc": "trust",
    "gudid_di": "trust",
    "unspsc": "trust",
    **dict.fromkeys(FLAGS, "recent"),
}

# Payload key -> golden field, for the scalars an item payload (``ItemPayloadSerializer``) carries.
_PAYLOAD_FIELDS = {
    "description": "description",
    "short_name": "short_name",
    "manufacturer": "manufacturer_name",
    "manufacturer_part_number": "manufacturer_part_number",
    "item_type": "item_type",
    "unspsc": "unspsc",
    **{flag: flag for flag in FLAGS},
    "ndc": "ndc",
    "gudid_di": "gudid_di",
    "base_unit": "base_unit",
}


def source_values(standardized: dict) -> dict:
    """A standardized item payload as golden values (``manufacturer`` -> ``manufacturer_name``, units as codes).

    Keys the payload does not carry are left out; empty text stays ``""`` and an unknown flag ``None``.
    The packaging is a child collection and is not survived.
    """
    values = {}
    for key, name in _PAYLOAD_FIELDS.items():
        if key not in standardized:
            continue
        value = standardized[key]
        values[name] = value if name in FLAGS else ("" if value is None else value)
    return values


def merge_children(survivor: Item, merged: Item, *, actor, reason: str) -> list[dict]:
    """GTINs of the merged item move to the survivor's matching packaging levels that have none.

    A level matches when it has the same level number, unit and quantity. The GTIN is unique across all
    levels, so each move is two steps, in this order: clear it on the merged level, then set it on the
    survivor's (the unmerge undoes them in reverse).
    """
    from mdm.services.golden import golden_save_child

    mine = {level.level: level for level in survivor.packaging_levels.all()}
    moves = []
    for theirs in merged.packaging_levels.order_by("level"):
        target = mine.get(theirs.level)
        if not theirs.gtin or target is None or target.gtin:
            continue
        if (target.unit_id, target.quantity) != (theirs.unit_id, theirs.quantity):
            continue
        gtin = theirs.gtin
        theirs.gtin = ""
        golden_save_child(theirs, actor=actor, reason=reason)
        target.gtin = gtin
        golden_save_child(target, actor=actor, reason=reason)
        model = "items.ItemPackagingLevel"
        moves.append({"op": "update", "model": model, "pk": theirs.pk, "field": "gtin", "old": gtin, "new": ""})
        moves.append({"op": "update", "model": model, "pk": target.pk, "field": "gtin", "old": "", "new": gtin})
    return moves


def _cleaned(clean, text: str) -> str:
    try:
        return clean(text)
    except ValidationError:
        return ""


def search(text: str):
    """Items whose description, short name or manufacturer contains every word of ``text``, or that ``text``
    identifies exactly: a GTIN of any packaging level (8 to 14 digits), an NDC in any notation, a
    manufacturer part number however it is punctuated, a UDI-DI, a UNSPSC code.

    Contains-searches are served by the trigram indexes on PostgreSQL (``mdm.trigram``). Every status is
    included: the UI filters.
    """
    text = " ".join(str(text or "").split())
    if not text:
        return Item.objects.none()
    words = Q()
    for word in text.split()[:8]:
        words &= Q(description__icontains=word) | Q(short_name__icontains=word) | Q(manufacturer_name__icontains=word)
    exact = Q(pk__in=[])
    gtin = _cleaned(clean_gtin, text)
    if gtin:
        exact |= Q(pk__in=ItemPackagingLevel.objects.filter(gtin=gtin).values("item_id"))
    for name, clean in (("ndc", clean_ndc), ("gudid_di", clean_udi_di), ("unspsc", clean_unspsc)):
        value = _cleaned(clean, text)
        if value:
            exact |= Q(**{name: value})
    key = part_number_key(text)
    if key:
        exact |= Q(part_number_key=key)
    return Item.objects.filter(words | exact)


def label(item: Item) -> str:
    """The short name (or the start of the description) with the manufacturer part number."""
    name = item.short_name or item.description[:80]
    return f"{name} ({item.manufacturer_part_number})" if item.manufacturer_part_number else name


ADAPTER = StewardshipAdapter(
    fields=ITEM_CHANGE_FIELDS,
    snapshot=snapshot,
    validate=validate,
    create=create,
    update=update,
    labels=LABELS,
    sensitive=(),
    low_risk=("description", "short_name", "sterile", "latex_free", "single_use"),
    scope=scope,
    survivorship=SURVIVORSHIP,
    source_values=source_values,
    merge_children=merge_children,
    search=search,
    label=label,
)
