"""Contracts and contract prices as downstream systems receive them (the outbox payload)."""

from decimal import Decimal


def _text(value) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")


def contract_publish(contract) -> dict:
    return {
        "entity_type": "contract",
        "id": contract.pk,
        "version": contract.version,
        "status": contract.status,
        "merged_into": None,
        "number": contract.number,
        "supplier_id": contract.supplier_id,
        "kind": contract.kind,
        "gpo_name": contract.gpo_name,
        "facility": contract.facility,
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat(),
        "currency": contract.currency,
    }


def contract_price_publish(price) -> dict:
    contract = price.contract
    min_base = None
    if price.price_per_base_unit is not None and price.price:
        # price / price_per_base_unit = base units in one priced unit (exact for the stored figures)
        per_unit = Decimal(price.price) / Decimal(price.price_per_base_unit)
        min_base = _text((per_unit * price.min_quantity).quantize(Decimal("0.000001")))
    return {
        "entity_type": "contract_price",
        "id": price.pk,
        "version": price.version,
        "status": price.status,
        "merged_into": None,
        "contract": {
            "id": contract.pk,
            "number": contract.number,
            "kind": contract.kind,
            "gpo_name": contract.gpo_name,
            "facility": contract.facility,
            "currency": contract.currency,
        },
        "supplier_id": contract.supplier_id,
        "item_id": price.item_id,
        "unit": {"id": price.unit_id, "code": price.unit.code},
        "price": _text(price.price),
        "min_quantity": price.min_quantity,
        "start_date": price.start_date.isoformat(),
        "end_date": price.end_date.isoformat(),
        "currency": contract.currency,
        "price_per_base_unit": _text(price.price_per_base_unit),
        "base_unit": None if price.base_unit_id is None else {"id": price.base_unit_id, "code": price.base_unit.code},
        "min_quantity_base": min_base,
    }
