"""An item as downstream systems receive it (the outbox payload)."""


def _unit(unit) -> dict | None:
    return None if unit is None else {"id": unit.pk, "code": unit.code}


def item_publish(item) -> dict:
    levels = list(item.packaging_levels.select_related("unit").order_by("level"))
    base_gtin = next((level.gtin for level in levels if level.gtin), "")
    return {
        "entity_type": "item",
        "id": item.pk,
        "version": item.version,
        "status": item.status,
        "merged_into": None,
        "description": item.description,
        "short_name": item.short_name,
        "manufacturer_name": item.manufacturer_name,
        "manufacturer_part_number": item.manufacturer_part_number,
        "item_type": item.item_type,
        "unspsc": item.unspsc,
        "sterile": item.sterile,
        "latex_free": item.latex_free,
        "single_use": item.single_use,
        "implantable": item.implantable,
        "prescription": item.prescription,
        "ndc": item.ndc,
        "gudid_di": item.gudid_di,
        "gtin": base_gtin,
        "base_unit": _unit(item.base_unit),
        "content_quantity": None if item.content_quantity is None else str(item.content_quantity.normalize()),
        "content_unit": _unit(item.content_unit),
        "packaging": [
            {"level": level.level, "unit": _unit(level.unit), "quantity": level.quantity, "gtin": level.gtin}
            for level in levels
        ],
    }
