"""Writes for contracts and contract prices."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from contracts.models import Contract, ContractPrice
from mdm.choices import RecordStatus
from mdm.identifiers import clean_currency
from mdm.models import Crosswalk
from mdm.services.golden import golden_save
from mdm.signals import golden_saved
from uom.conversions import ConversionError, packaging_for_item
from uom.models import Unit
from uom.selectors import unit_resolve

OVERLAP_CONSTRAINT = "contract_price_no_overlap"
"""The PostgreSQL exclusion constraint (migration 0003) behind :meth:`ContractPrice._overlapping`."""


def _as_date(value):
    # Standardized payloads are stored as JSON, so their dates come back as ISO strings.
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value  # full_clean reports it against the field
    return value


def _as_decimal(value):
    if isinstance(value, Decimal) or value is None:
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def _full_clean(instance, *, foreign_keys: tuple[str, ...], errors: dict[str, list[str]]) -> None:
    """Model validation, adding field-named messages to ``errors``.

    Foreign keys the caller resolved already are not queried again. The check constraints repeat the
    field validators (price >= 0, min_quantity >= 1) and ``clean()`` (end on or after start), so they
    are not evaluated a second time; uniqueness is checked by the callers with a clearer message.
    """
    exclude = [name for name in foreign_keys if getattr(instance, f"{name}_id") is not None] + list(errors)
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)


@transaction.atomic
def contract_create(
    *,
    number: str,
    supplier,
    kind: str,
    start_date,
    end_date,
    currency: str,
    gpo_name: str = "",
    facility: str = "",
    status: str = RecordStatus.ACTIVE,
    actor,
    reason: str,
) -> Contract:
    """Create a contract golden record for ``supplier`` (a ``suppliers.Supplier``).

    ``facility`` names the facility or business unit a local contract belongs to; empty means group-wide.

    Raises Django's ``ValidationError`` keyed by field, writing nothing, when the data is invalid: end
    before start (on ``end_date``), a currency that is not ISO 4217, or a number the supplier already uses.
    """
    errors: dict[str, list[str]] = {}
    try:
        currency = clean_currency(currency)
    except ValidationError as exc:
        errors["currency"] = exc.messages
    contract = Contract(
        number=str(number).strip(),
        supplier=supplier,
        kind=kind,
        gpo_name=gpo_name or "",
        facility=" ".join((facility or "").split()),
        start_date=_as_date(start_date),
        end_date=_as_date(end_date),
        currency=currency,
        status=status,
    )
    _full_clean(contract, foreign_keys=("supplier",), errors=errors)
    if "number" not in errors and contract.supplier_id is not None:
        taken = Contract.objects.filter(supplier_id=contract.supplier_id, number=contract.number).first()
        if taken is not None:
            errors["number"] = [
                f"Supplier {contract.supplier_id} already has contract number '{contract.number}' "
                f"(contract {taken.pk}); a contract number is unique per supplier."
            ]
    if errors:
        raise ValidationError(errors)
    return golden_save(contract, actor=actor, reason=reason)


@transaction.atomic
def contract_price_create(
    *,
    contract: Contract,
    item,
    unit: Unit,
    price,
    start_date,
    end_date,
    min_quantity: int = 1,
    status: str = RecordStatus.ACTIVE,
    actor,
    reason: str,
) -> ContractPrice:
    """Create a contract price golden record: ``price`` per ``unit`` of ``item`` from ``min_quantity`` on.

    Raises Django's ``ValidationError`` keyed by field, writing nothing, when the price is negative or
    has more than 4 decimal places, the dates are reversed or outside the contract's dates, or the same
    tier (contract, item, unit, min_quantity) already has a price on one of these days.
    """
    contract_price = ContractPrice(
        contract=contract,
        item=item,
        unit=unit,
        price=_as_decimal(price),
        min_quantity=min_quantity,
        start_date=_as_date(start_date),
        end_date=_as_date(end_date),
        status=status,
    )
    errors: dict[str, list[str]] = {}
    _full_clean(contract_price, foreign_keys=("contract", "item", "unit"), errors=errors)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():  # a savepoint: the constraint error below leaves the caller's transaction usable
            return golden_save(contract_price, actor=actor, reason=reason)
    except IntegrityError as exc:
        if OVERLAP_CONSTRAINT not in str(exc):
            raise
        # Another transaction stored an overlapping price of this tier between our check and our insert.
        raise ValidationError(
            {
                "start_date": [
                    f"Another price of this item per {unit.code} from quantity {contract_price.min_quantity} on "
                    f"contract {contract.number} was stored at the same time and overlaps {contract_price.start_date} "
                    f"to {contract_price.end_date}: a tier has one price on any day."
                ]
            }
        ) from exc


@transaction.atomic
def contract_prices_recompute(item_id: int, *, actor=None, reason: str = "price per base unit recomputed") -> int:
    """Recompute the price per base unit of every price line of item ``item_id`` from its current packaging.

    Call it when the item's packaging, content or base unit changes (``contracts.signals`` does, after
    the change commits). Lines whose figure or base unit actually changes are saved with history and a
    new version; a unit that can no longer be converted leaves a null figure (the price checks report
    it). Returns the number of lines changed.
    """
    prices = list(
        ContractPrice.objects.select_for_update(of=("self",))
        .filter(item_id=item_id)
        .select_related("item", "unit")
        .order_by("id")
    )
    if not prices:
        return 0
    try:
        packaging = packaging_for_item(item_id)
    except ConversionError:
        packaging = None  # no usable packaging: every figure becomes null and is reported by the checks
    changed = []
    for price in prices:
        before = (price.price_per_base_unit, price.base_unit_id)
        if packaging is None:
            price.price_per_base_unit, price.base_unit_id = None, price.item.base_unit_id
        else:
            price.refresh_price_per_base_unit(packaging)
        if (price.price_per_base_unit, price.base_unit_id) != before:
            price.version += 1
            price.updated_at = timezone.now()
            changed.append(price)
    if changed:
        bulk_update_with_history(
            changed,
            ContractPrice,
            ["price_per_base_unit", "base_unit", "version", "updated_at"],
            default_user=actor,
            default_change_reason=reason,
        )
        for price in changed:  # bulk_update skips save(): tell the outbox about each new version here
            golden_saved.send(sender=ContractPrice, instance=price, created=False)
    return len(changed)


def _golden_id(system, entity_type: str, external_id: str) -> int | None:
    return (
        Crosswalk.objects.filter(system=system, entity_type=entity_type, external_id=str(external_id).strip())
        .values_list("golden_id", flat=True)
        .first()
    )


def _linked(system, *, entity_type: str, label: str, external_id, model):
    """The golden record a source reference points at, or an error message naming what is missing."""
    golden_id = _golden_id(system, entity_type, external_id)
    if golden_id is None:
        return None, (
            f"{label} '{external_id}' from {system.name} is not linked to a golden {label} yet: "
            f"link or create the golden {label} for that source record first."
        )
    golden = model._default_manager.filter(pk=golden_id).first()
    if golden is None:
        return (
            None,
            f"{label} '{external_id}' from {system.name} is linked to {label} {golden_id}, which does not exist.",
        )
    return golden, None


def contract_create_from_payload(standardized: dict, *, system, actor, reason: str) -> Contract:
    """``EntitySpec.create_golden`` for contracts: the supplier is resolved through its crosswalk.

    Raises ``ValidationError({"supplier": [...]})`` when the supplier's source record is not linked to a
    golden supplier yet. ``supplier_name`` stays on the source record.
    """
    supplier, problem = _linked(
        system,
        entity_type="supplier",
        label="supplier",
        external_id=standardized["supplier"],
        model=apps.get_model("suppliers", "Supplier"),
    )
    if problem:
        raise ValidationError({"supplier": [problem]})
    return contract_create(
        number=standardized["number"],
        supplier=supplier,
        kind=standardized["kind"],
        gpo_name=standardized.get("gpo_name") or "",
        facility=standardized.get("facility") or "",
        start_date=standardized["start_date"],
        end_date=standardized["end_date"],
        currency=standardized["currency"],
        actor=actor,
        reason=reason,
    )


def _item_by_identifiers(standardized: dict):
    """The golden item a price file names by GTIN (any packaging level) or manufacturer part number.

    Returns ``(item, "")``, or ``(None, why)`` with a sentence for the error message. A part number must
    identify one item, narrowed by the manufacturer's name when the payload gives one.
    """
    from items.models import Item, part_number_key
    from items.selectors import packaging_level_by_gtin

    gtin, part_number = standardized.get("item_gtin"), standardized.get("item_part_number")
    if gtin:
        level = packaging_level_by_gtin(gtin)
        if level is not None:
            return level.item, ""
    if part_number:
        matches = Item.objects.filter(part_number_key=part_number_key(part_number)).exclude(status=RecordStatus.RETIRED)
        manufacturer = (standardized.get("item_manufacturer") or "").strip()
        if manufacturer and matches.count() > 1:
            matches = matches.filter(manufacturer_name__iexact=manufacturer)
        found = list(matches[:2])
        if len(found) == 1:
            return found[0], ""
        if found:
            return None, f"Manufacturer part number '{part_number}' belongs to several items: link the item by hand."
    named = [f"GTIN {gtin}" if gtin else "", f"manufacturer part number '{part_number}'" if part_number else ""]
    named = [text for text in named if text]
    return None, (f"No golden item has {' or '.join(named)} either." if named else "")


def contract_price_create_from_payload(standardized: dict, *, system, actor, reason: str) -> ContractPrice:
    """``EntitySpec.create_golden`` for contract prices: contract and item through their crosswalks.

    An item not linked through its crosswalk is found by the payload's ``item_gtin`` (any packaging
    level) or ``item_part_number``, as GPO price files name items. The unit is resolved like at ingest
    (hub code, then the system's alias, then a global alias). A ``currency`` in the payload must be the
    contract's. Raises ``ValidationError`` naming every unresolved reference (``contract``, ``item``, ``unit``).
    """
    errors: dict[str, list[str]] = {}
    resolved = {}
    for field, model in (("contract", Contract), ("item", apps.get_model("items", "Item"))):
        golden, problem = _linked(system, entity_type=field, label=field, external_id=standardized[field], model=model)
        if golden is None and field == "item":
            golden, why = _item_by_identifiers(standardized)
            if why:
                problem = f"{problem} {why}"
        if golden is None:
            errors[field] = [problem]
        resolved[field] = golden
    unit = unit_resolve(standardized["unit"], system=system)
    if unit is None:
        errors["unit"] = [
            f"Unknown unit '{standardized['unit']}': not a hub unit code and not an alias known for {system.name}."
        ]
    currency, contract = standardized.get("currency"), resolved["contract"]
    if currency and contract is not None and currency != contract.currency:
        errors["currency"] = [
            f"The price is in {currency} but contract {contract.number} is in {contract.currency}; "
            "a price is in its contract's currency."
        ]
    if errors:
        raise ValidationError(errors)
    return contract_price_create(
        contract=resolved["contract"],
        item=resolved["item"],
        unit=unit,
        price=standardized["price"],
        min_quantity=standardized.get("min_quantity") or 1,
        start_date=standardized["start_date"],
        end_date=standardized["end_date"],
        actor=actor,
        reason=reason,
    )
