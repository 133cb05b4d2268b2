"""Price lookup and comparison: which contract price applies to an order, and why.

**The rules** (also in the README and the OpenAPI description):

1. *Candidates*: the item's price lines (not retired) whose dates contain the order date. Dates are whole
   days and inclusive at both ends: a price running 2025-01-01 to 2025-12-31 applies on both days.
   One indexed query on ``(item, start_date, end_date)`` reads them with their contract and supplier, and
   in the same round trip the item's packaging fingerprint (see :mod:`contracts.candidates`).
2. *Eligible*: the price line and its contract are active, the contract is in effect on the date too,
   the line's unit converts to the item's base unit (it has a price per base unit), and the order
   reaches the line's tier: the ordered quantity is converted to the line's unit through the item's
   packaging (``uom.conversions.item_convert``, exact Decimal) and must be at least ``min_quantity``
   (250 EA with 100 EA to a box is 2.5 BX: the tier "from 2 BX" applies, "from 3 BX" does not).
3. *Tier*: on one contract and unit the highest tier the order reaches applies; the lower tiers step aside.
4. *Precedence* between contracts: a local agreement over a GPO agreement over a distributor (list)
   agreement (``contracts.choices.CONTRACT_KIND_PRECEDENCE``); then the lowest price per base unit;
   then the most recent start date; then the lowest price id (so the answer is always the same).
5. *Currency*: prices are compared per base unit only in one currency. When the eligible prices are in
   several currencies and the caller named none, the lookup refuses with a clear error on ``currency``.

Every candidate comes back with its outcome (``chosen`` or why not) so a buyer can see the reasoning.
"""

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from contracts.candidates import KIND_NAMES, Candidate, PriceLookupError, fetch_candidates, price_candidates
from contracts.choices import PriceOutcome
from mdm.choices import RecordStatus
from uom.conversions import ConversionError, Packaging, item_convert

__all__ = ["Candidate", "PriceLookupError", "price_candidates", "price_compare", "price_lookup"]

PRECEDENCE_TEXT = "local agreements come before GPO agreements, which come before distributor agreements"


@dataclass
class PriceLookup:
    """The answer to a lookup: the chosen price (None when no price applies) and every candidate's outcome."""

    item_id: int
    on_date: dt.date
    quantity: Decimal | None
    unit: str
    base_unit: str
    quantity_in_base_units: Decimal | None
    supplier_id: int | None = None
    currency: str | None = None
    chosen: Candidate | None = None
    reason: str = ""
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class ComparisonRow:
    """One supplier's applicable price in a comparison, and how far it is from the lowest."""

    supplier_id: int
    supplier_name: str
    price: Candidate
    difference: Decimal
    difference_percent: Decimal | None


@dataclass
class PriceComparison:
    item_id: int
    on_date: dt.date
    quantity: Decimal | None
    unit: str | None
    base_unit: str
    currency: str | None
    rows: list[ComparisonRow] = field(default_factory=list)
    without_price: list[dict] = field(default_factory=list)
    spread: dict | None = None


def _number(value: Decimal) -> str:
    """A quantity as people write it: 2.5, 1000, 0.001 (no exponent, no trailing zeros)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _check_quantity(quantity) -> Decimal:
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        raise PriceLookupError("qty", f"The quantity must be a number above zero, not {quantity}.", "not_positive")
    return quantity


def _screen(candidate: Candidate, on_date: dt.date, currency: str | None) -> bool:
    """Mark a candidate that can't apply whatever the quantity; True when it still may."""
    if candidate.status != RecordStatus.ACTIVE:
        candidate.outcome, candidate.why = PriceOutcome.PRICE_INACTIVE, f"The price line is {candidate.status}."
    elif candidate.contract_status != RecordStatus.ACTIVE:
        candidate.outcome = PriceOutcome.CONTRACT_INACTIVE
        candidate.why = f"Contract {candidate.contract_number} is {candidate.contract_status}."
    elif not candidate.contract_start_date <= on_date <= candidate.contract_end_date:
        candidate.outcome = PriceOutcome.CONTRACT_NOT_IN_EFFECT
        candidate.why = (
            f"Contract {candidate.contract_number} runs {candidate.contract_start_date} to "
            f"{candidate.contract_end_date} (inclusive), not on {on_date}."
        )
    elif currency and candidate.currency != currency:
        candidate.outcome = PriceOutcome.OTHER_CURRENCY
        candidate.why = f"The price is in {candidate.currency}, not {currency}."
    elif candidate.price_per_base_unit is None:
        candidate.outcome = PriceOutcome.UNIT_NOT_CONVERTIBLE
        candidate.why = (
            f"Its unit {candidate.unit} can't be converted to the item's base unit, so it can't be compared "
            "(a price check task reports it)."
        )
    else:
        return True
    return False


def _reach_tier(candidate: Candidate, packaging: Packaging, quantity: Decimal, unit: str, cache: dict) -> bool:
    """Convert the order to the candidate's unit and check its tier; True when the tier is reached."""
    if candidate.unit not in cache:
        try:
            cache[candidate.unit] = item_convert(packaging, quantity, unit, candidate.unit)
        except ConversionError as exc:
            cache[candidate.unit] = exc
    converted = cache[candidate.unit]
    if isinstance(converted, ConversionError):
        candidate.outcome = PriceOutcome.UNIT_NOT_CONVERTIBLE
        candidate.why = f"The order can't be expressed in {candidate.unit}: {converted}"
        return False
    candidate.quantity_in_unit = converted
    if converted < candidate.min_quantity:
        candidate.outcome = PriceOutcome.TIER_NOT_REACHED
        order = f"is {_number(quantity)} {unit}"
        if unit != candidate.unit:
            order = f"of {_number(quantity)} {unit} is {_number(converted)} {candidate.unit}"
        candidate.why = f"This tier starts at {candidate.min_quantity} {candidate.unit}; the order {order}."
        return False
    return True


def _top_tiers(eligible: list[Candidate], *, entry: bool) -> list[Candidate]:
    """Keep one tier per contract and unit: the highest reached (or, with ``entry``, the lowest)."""
    best: dict[tuple[int, str], Candidate] = {}
    for candidate in eligible:
        key = (candidate.contract_id, candidate.unit)
        kept = best.get(key)
        better = kept is None or (
            candidate.min_quantity < kept.min_quantity if entry else candidate.min_quantity > kept.min_quantity
        )
        if better:
            best[key] = candidate
    for candidate in eligible:
        kept = best[(candidate.contract_id, candidate.unit)]
        if kept is not candidate:
            if entry:
                candidate.outcome = PriceOutcome.NOT_ENTRY_TIER
                candidate.why = (
                    f"Compared at the entry tier (from {kept.min_quantity} {kept.unit}, price line {kept.id}); "
                    f"this tier starts at {candidate.min_quantity} {candidate.unit}."
                )
            else:
                candidate.outcome = PriceOutcome.HIGHER_TIER_APPLIES
                candidate.why = (
                    f"The order reaches the higher tier from {kept.min_quantity} {kept.unit} of the same contract "
                    f"(price line {kept.id})."
                )
    return [c for c in eligible if c.outcome == ""]


def _rank(tops: list[Candidate]) -> Candidate:
    """Order by precedence, price per base unit, latest start, id; explain every loser against the winner."""
    tops.sort(key=Candidate.sort_key)
    winner = tops[0]
    base = winner.base_unit
    for loser in tops[1:]:
        if loser.rank > winner.rank:
            loser.outcome = PriceOutcome.LOWER_PRECEDENCE
            loser.why = (
                f"A {KIND_NAMES.get(winner.contract_kind)} agreement applies (price line {winner.id}); "
                f"{PRECEDENCE_TEXT}."
            )
        elif loser.price_per_base_unit > winner.price_per_base_unit:
            loser.outcome = PriceOutcome.HIGHER_PRICE
            loser.why = (
                f"{_number(loser.price_per_base_unit)} {loser.currency} per {base} is more than "
                f"{_number(winner.price_per_base_unit)} (price line {winner.id})."
            )
        elif loser.start_date < winner.start_date:
            loser.outcome = PriceOutcome.OLDER_START
            loser.why = (
                f"Same price per {base} as price line {winner.id}, which started later ({winner.start_date}); "
                "the most recent start wins."
            )
        else:
            loser.outcome = PriceOutcome.TIE_HIGHER_ID
            loser.why = f"Same price per {base} and start date as price line {winner.id}, which has the lower id."
    winner.outcome = PriceOutcome.CHOSEN
    kind = KIND_NAMES.get(winner.contract_kind, winner.contract_kind)
    if len(tops) == 1:
        winner.why = "The only price that applies."
    elif all(loser.outcome == PriceOutcome.LOWER_PRECEDENCE for loser in tops[1:]):
        winner.why = f"The {kind} agreement comes first: {PRECEDENCE_TEXT}."
    else:
        winner.why = (
            f"Among the {kind} agreements that apply (which come first: {PRECEDENCE_TEXT}), "
            f"the lowest price per {base}, then the most recent start."
        )
    return winner


def _choose(
    candidates: list[Candidate],
    *,
    packaging: Packaging,
    on_date: dt.date,
    quantity: Decimal | None,
    unit: str,
    currency: str | None,
) -> Candidate | None:
    """Set every candidate's outcome; return the chosen one (None when nothing applies)."""
    cache: dict = {}
    eligible = [
        c
        for c in candidates
        if _screen(c, on_date, currency) and (quantity is None or _reach_tier(c, packaging, quantity, unit, cache))
    ]
    currencies = sorted({c.currency for c in eligible})
    if len(currencies) > 1:
        raise PriceLookupError(
            "currency",
            f"Prices in {' and '.join(currencies)} apply to this item on {on_date}; name one with currency= "
            "(the hub compares prices per base unit within one currency and does not convert currencies).",
            "several_currencies",
        )
    tops = _top_tiers(eligible, entry=quantity is None)
    return _rank(tops) if tops else None


def _reason(chosen: Candidate, lookup: PriceLookup, candidates: list[Candidate]) -> str:
    parts = [
        f"Price line {chosen.id} on {chosen.label()}: {_number(chosen.price)} {chosen.currency} per {chosen.unit} "
        f"from {chosen.min_quantity} {chosen.unit}, which is {_number(chosen.price_per_base_unit)} per "
        f"{chosen.base_unit}."
    ]
    if chosen.quantity_in_unit is not None:
        order = f"{_number(lookup.quantity)} {lookup.unit}"
        if lookup.unit != chosen.unit:
            order += f" is {_number(chosen.quantity_in_unit)} {chosen.unit}, which"
        parts.append(f"The order of {order} reaches this tier.")
    parts.append(
        f"It runs {chosen.start_date} to {chosen.end_date}, both days included, so it applies on {lookup.on_date}."
    )
    outranked = [c for c in candidates if c.outcome == PriceOutcome.LOWER_PRECEDENCE]
    dearer = [c for c in candidates if c.outcome in (PriceOutcome.HIGHER_PRICE, PriceOutcome.OLDER_START)]
    tied = [c for c in candidates if c.outcome == PriceOutcome.TIE_HIGHER_ID]
    if outranked:
        parts.append(f"It outranks {len(outranked)} other price(s): {PRECEDENCE_TEXT}.")
    if dearer or tied:
        later = any(c.outcome == PriceOutcome.OLDER_START for c in dearer) or tied
        parts.append(
            f"Among the {KIND_NAMES.get(chosen.contract_kind)} agreements that apply it has the lowest price per "
            f"{chosen.base_unit}" + (" and, among equal prices, the most recent start." if later else ".")
        )
    if not (outranked or dearer or tied):
        parts.append("It is the only price that applies.")
    return " ".join(parts)


def _no_price_reason(lookup: PriceLookup, candidates: list[Candidate], supplier_id: int | None) -> str:
    scope = f" from supplier {supplier_id}" if supplier_id is not None else ""
    if not candidates:
        return f"Item {lookup.item_id} has no price{scope} in effect on {lookup.on_date} (dates are inclusive)."
    counts: dict[str, int] = {}
    for candidate in candidates:
        counts[candidate.outcome] = counts.get(candidate.outcome, 0) + 1
    summary = ", ".join(f"{n} {PriceOutcome(outcome).label.lower()}" for outcome, n in sorted(counts.items()))
    return (
        f"None of the {len(candidates)} price(s){scope} in effect on {lookup.on_date} applies to "
        f"{_number(lookup.quantity) if lookup.quantity is not None else 'an order'} {lookup.unit}: {summary}."
    )


def price_lookup(
    *,
    item_id: int,
    quantity: Decimal = Decimal(1),
    unit: str | None = None,
    on_date: dt.date | None = None,
    supplier_id: int | None = None,
    currency: str | None = None,
    price_ids: Collection[int] | None = None,
) -> PriceLookup:
    """The price that applies to an order of ``quantity`` ``unit`` (default: the item's base unit) of an item.

    ``supplier_id`` narrows to one supplier (default: the best across suppliers); ``on_date`` defaults to
    today. ``price_ids``, when given, are the only price lines considered (the caller's access limits). Returns a :class:`PriceLookup` whose ``chosen`` is None when no price applies (``reason``
    says why, each candidate says why not). Raises :class:`PriceLookupError` for an unknown item, supplier
    or unit, a quantity that is not above zero, or prices in several currencies without ``currency``.
    """
    quantity = _check_quantity(quantity)
    on_date = on_date or timezone.localdate()
    packaging, candidates = fetch_candidates(item_id, on_date, supplier_id)
    candidates = _only(candidates, price_ids)
    unit = unit or packaging.base_unit
    try:
        in_base = item_convert(packaging, quantity, unit, packaging.base_unit)
    except ConversionError as exc:
        raise PriceLookupError("unit", str(exc), exc.code) from None
    if supplier_id is not None and not candidates:
        _check_supplier(supplier_id)
    lookup = PriceLookup(
        item_id=item_id,
        on_date=on_date,
        quantity=quantity,
        unit=unit,
        base_unit=packaging.base_unit,
        quantity_in_base_units=in_base,
        supplier_id=supplier_id,
        currency=currency,
        candidates=candidates,
    )
    chosen = _choose(candidates, packaging=packaging, on_date=on_date, quantity=quantity, unit=unit, currency=currency)
    lookup.chosen = chosen
    lookup.reason = _reason(chosen, lookup, candidates) if chosen else _no_price_reason(lookup, candidates, supplier_id)
    candidates.sort(key=_display_order)
    return lookup


def _display_order(candidate: Candidate):
    """The chosen price first, then by precedence and price per base unit (unconvertible ones last)."""
    ppb = candidate.price_per_base_unit
    return (candidate.outcome != PriceOutcome.CHOSEN, candidate.rank, ppb is None, ppb or 0, candidate.id)


def _only(candidates: list[Candidate], price_ids: Collection[int] | None) -> list[Candidate]:
    """The candidates among ``price_ids`` (None: all); the others are not there for this caller."""
    if price_ids is None:
        return candidates
    return [candidate for candidate in candidates if candidate.id in price_ids]


def _check_supplier(supplier_id: int) -> None:
    from suppliers.models import Supplier

    if not Supplier.objects.filter(pk=supplier_id).exists():
        raise PriceLookupError("supplier", f"No supplier {supplier_id}.", "unknown_supplier")


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole == 0 else (part * 100 / whole).quantize(Decimal("0.01"))


def price_compare(
    *,
    item_id: int,
    on_date: dt.date | None = None,
    quantity: Decimal | None = None,
    unit: str | None = None,
    currency: str | None = None,
    price_ids: Collection[int] | None = None,
) -> PriceComparison:
    """Each supplier's applicable price for an item per base unit, lowest first, with the spread.

    Per supplier the price is the one :func:`price_lookup` would choose for that supplier; ``price_ids``,
    when given, are the only price lines considered (the caller's access limits). Without
    ``quantity`` every contract is compared at its entry tier (the lowest ``min_quantity`` of each unit),
    whatever the quantity it needs. One query for all suppliers.
    """
    if quantity is not None:
        quantity = _check_quantity(quantity)
    on_date = on_date or timezone.localdate()
    packaging, candidates = fetch_candidates(item_id, on_date, None)
    candidates = _only(candidates, price_ids)
    if unit is not None and quantity is None:
        quantity = Decimal(1)
    unit = unit or packaging.base_unit
    if quantity is not None:
        try:
            item_convert(packaging, quantity, unit, packaging.base_unit)
        except ConversionError as exc:
            raise PriceLookupError("unit", str(exc), exc.code) from None
    by_supplier: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        by_supplier.setdefault(candidate.supplier_id, []).append(candidate)
    comparison = PriceComparison(
        item_id=item_id,
        on_date=on_date,
        quantity=quantity,
        unit=unit if quantity is not None else None,
        base_unit=packaging.base_unit,
        currency=currency,
    )
    chosen: list[Candidate] = []
    for supplier_candidates in by_supplier.values():
        best = _choose(
            supplier_candidates, packaging=packaging, on_date=on_date, quantity=quantity, unit=unit, currency=currency
        )
        if best is not None:
            chosen.append(best)
            continue
        first = supplier_candidates[0]
        lookup = PriceLookup(item_id, on_date, quantity, unit, packaging.base_unit, None)
        comparison.without_price.append(
            {
                "supplier_id": first.supplier_id,
                "supplier_name": first.supplier_name,
                "reason": _no_price_reason(lookup, supplier_candidates, first.supplier_id),
            }
        )
    currencies = sorted({c.currency for c in chosen})
    if len(currencies) > 1:
        raise PriceLookupError(
            "currency",
            f"Suppliers price this item in {' and '.join(currencies)} on {on_date}; name one with currency= "
            "(the hub compares prices per base unit within one currency and does not convert currencies).",
            "several_currencies",
        )
    chosen.sort(key=lambda c: (c.price_per_base_unit, c.supplier_name, c.id))
    if chosen:
        lowest, highest = chosen[0].price_per_base_unit, chosen[-1].price_per_base_unit
        comparison.currency = currencies[0]
        comparison.rows = [
            ComparisonRow(
                supplier_id=c.supplier_id,
                supplier_name=c.supplier_name,
                price=c,
                difference=c.price_per_base_unit - lowest,
                difference_percent=_percent(c.price_per_base_unit - lowest, lowest),
            )
            for c in chosen
        ]
        comparison.spread = {
            "lowest": lowest,
            "highest": highest,
            "absolute": highest - lowest,
            "percent": _percent(highest - lowest, lowest),
            "suppliers": len(chosen),
        }
    comparison.without_price.sort(key=lambda row: row["supplier_name"])
    return comparison
