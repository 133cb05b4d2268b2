"""Exact conversions between units, and between an item's packaging levels and physical quantities.

Plain data in, plain data out: the unit registry is held in memory (``uom.registry``) and a ``Packaging`` is a
frozen dataclass, so nothing here queries the database except ``packaging_for_item``.

Arithmetic is exact: factors are fractions (pint runs on ``fractions.Fraction``), quantities are ``Decimal``.
A result is exact whenever its decimal expansion ends (always so for metric factors and for packaging
multiples); otherwise (1 EA of a box of 3 is 1/3 box, 1 grain is 1/7000 lb) it is rounded half-even to
``RESULT_DIGITS`` significant digits and the ``Conversion`` says ``exact=False``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from fractions import Fraction

from uom.errors import ConversionError
from uom.registry import UnitDef, get_index

__all__ = [
    "Conversion",
    "ConversionError",
    "Packaging",
    "PackagingLevel",
    "Step",
    "base_units_per",
    "item_conversion",
    "item_convert",
    "packaging_for_item",
    "packaging_problems",
    "register_packaging_provider",
    "unit_conversion",
    "unit_convert",
]

RESULT_DIGITS = 28
_ROUNDING = Context(prec=RESULT_DIGITS, rounding=ROUND_HALF_EVEN)
_QTY_MAX_DIGITS = 40


@dataclass(frozen=True)
class PackagingLevel:
    """One packaging level: ``quantity`` is how many of the next lower level one of this level holds."""

    level: int
    unit: str
    quantity: int
    gtin: str = ""


@dataclass(frozen=True)
class Packaging:
    """An item's packaging hierarchy: level 0 is the base unit (quantity 1), then up (box, case...).

    ``content_quantity`` + ``content_unit`` give the physical content of one base unit (30 mL per vial).
    """

    base_unit: str
    levels: tuple[PackagingLevel, ...]
    content_quantity: Decimal | None = None
    content_unit: str | None = None


@dataclass(frozen=True)
class Step:
    """One factor on a conversion path: one ``from_unit`` is ``factor`` ``to_unit``.

    ``kind``: ``unit`` (a fixed physical or count factor), ``packaging`` (a level of the item) or
    ``content`` (the item's content per base unit).
    """

    from_unit: str
    to_unit: str
    factor: Fraction
    kind: str

    def inverted(self) -> Step:
        return Step(self.to_unit, self.from_unit, 1 / self.factor, self.kind)

    def as_dict(self) -> dict:
        return {"from": self.from_unit, "to": self.to_unit, "factor": format_fraction(self.factor), "kind": self.kind}


@dataclass(frozen=True)
class Conversion:
    """A conversion with its explanation: the result, whether it is exact, the units resolved and the path."""

    quantity: Decimal
    exact: bool
    from_unit: UnitDef
    to_unit: UnitDef
    path: tuple[Step, ...]
    factor: Fraction


# ---------------------------------------------------------------------------------------------------------
# numbers


def to_quantity(value, field: str = "qty") -> Decimal:
    """``value`` as a finite Decimal; strings and ints are fine, floats are refused (they carry binary drift)."""
    if isinstance(value, bool | float):
        raise ConversionError(
            "invalid_quantity",
            f"Quantity {value!r} must be a Decimal, an integer or a decimal string, not a {type(value).__name__}.",
            field,
        )
    if isinstance(value, Decimal):
        quantity = value
    elif isinstance(value, int):
        quantity = Decimal(value)
    else:
        text = "" if value is None else str(value).strip()
        try:
            quantity = Decimal(text)
        except (InvalidOperation, ValueError):
            raise ConversionError("invalid_quantity", f"Quantity '{text}' is not a number.", field) from None
    if not quantity.is_finite():
        raise ConversionError("invalid_quantity", f"Quantity '{value}' is not a finite number.", field)
    if len(quantity.as_tuple().digits) > _QTY_MAX_DIGITS or abs(quantity.adjusted()) > 30:
        raise ConversionError("invalid_quantity", f"Quantity '{value}' is out of range.", field)
    return quantity


def tidy(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and never in exponent form when written with ``format(x, 'f')``."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def fraction_to_decimal(value: Fraction) -> tuple[Decimal, bool]:
    """(Decimal, exact): exact when the fraction has a finite decimal expansion, else rounded half-even."""
    numerator, denominator = value.numerator, value.denominator
    rest, twos, fives = denominator, 0, 0
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest == 1:
        places = max(twos, fives)
        return tidy(Decimal(numerator * 10**places // denominator).scaleb(-places)), True
    return tidy(_ROUNDING.divide(Decimal(numerator), Decimal(denominator))), False


def format_fraction(value: Fraction) -> str:
    """A factor as text: a decimal when it ends ("0.001"), else the fraction ("1/3")."""
    decimal, exact = fraction_to_decimal(value)
    return format(decimal, "f") if exact else f"{value.numerator}/{value.denominator}"


def _result(quantity: Decimal, factor: Fraction) -> tuple[Decimal, bool]:
    return fraction_to_decimal(Fraction(quantity) * factor)


# ---------------------------------------------------------------------------------------------------------
# plain units


def _physical_factor(source: UnitDef, target: UnitDef, index) -> Fraction | None:
    """How many ``target`` one ``source`` is, when both have a fixed size of the same kind; else None."""
    if source.code == target.code:
        return Fraction(1)
    if source.factor is None or target.factor is None or source.signature != target.signature:
        return None
    key = (source.code, target.code)
    factor = index.factors.get(key)
    if factor is None:
        factor = source.factor / target.factor
        index.factors[key] = factor
    return factor


def _incompatible(source: UnitDef, target: UnitDef, *, field: str = "to") -> ConversionError:
    for unit, side in ((source, "from"), (target, "to")):
        if unit.is_item_specific:
            return ConversionError(
                "needs_item",
                f"'{unit.code}' ({unit.name}) is a packaging unit: how many base units it holds depends on the "
                "item. Convert it with an item.",
                side,
            )
    return ConversionError(
        "incompatible_dimensions",
        f"Can't convert '{source.code}' ({source.dimension}) to '{target.code}' ({target.dimension}): "
        "they measure different things.",
        field,
    )


def unit_conversion(qty, from_unit: str, to_unit: str, *, system=None) -> Conversion:
    """Convert a physical or fixed-count quantity (mg -> g, mL -> L, DZ -> EA), with the path of factors."""
    quantity = to_quantity(qty)
    index = get_index()
    source = index.resolve(from_unit, system=system, field_name="from")
    target = index.resolve(to_unit, system=system, field_name="to")
    factor = _physical_factor(source, target, index)
    if factor is None:
        raise _incompatible(source, target)
    value, exact = _result(quantity, factor)
    path = () if source.code == target.code else (Step(source.code, target.code, factor, "unit"),)
    return Conversion(value, exact, source, target, path, factor)


def unit_convert(qty: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """``qty`` ``from_unit`` in ``to_unit`` (physical units and fixed counts: mg -> g, mL -> L, DZ -> EA)."""
    return unit_conversion(qty, from_unit, to_unit).quantity


# ---------------------------------------------------------------------------------------------------------
# items


@dataclass(frozen=True)
class _Plan:
    """A packaging with its units resolved: base unit, level units with base units per level, content."""

    base: UnitDef
    per_level: dict[str, tuple[int, Fraction]]  # hub code -> (level, base units in one)
    steps_down: dict[int, Step]  # level -> step from that level to the one below
    content: tuple[UnitDef, Fraction] | None
    duplicated: frozenset[str]


def _plan(packaging: Packaging, index) -> _Plan:
    plan = index.plans.get(packaging)
    if plan is not None:
        return plan
    if not isinstance(packaging, Packaging):
        raise ConversionError("invalid_packaging", "Expected a uom.conversions.Packaging.", "packaging")
    base = index.resolve(packaging.base_unit, field_name="packaging")
    per_level: dict[str, tuple[int, Fraction]] = {base.code: (0, Fraction(1))}
    steps_down: dict[int, Step] = {}
    duplicated: set[str] = set()
    running = Fraction(1)
    below = base.code
    for level in sorted(packaging.levels, key=lambda lv: lv.level):
        if level.level == 0:
            continue
        unit = index.resolve(level.unit, field_name="packaging")
        if level.quantity < 1:
            raise ConversionError(
                "invalid_packaging",
                f"Packaging level {level.level} ({unit.code}) holds {level.quantity} of the level below; "
                "it must hold at least 1.",
                "packaging",
            )
        running *= level.quantity
        if unit.code in per_level:
            duplicated.add(unit.code)
        else:
            per_level[unit.code] = (level.level, running)
        steps_down[level.level] = Step(unit.code, below, Fraction(level.quantity), "packaging")
        below = unit.code
    content = None
    if packaging.content_quantity is not None and packaging.content_unit:
        content_quantity = to_quantity(packaging.content_quantity, "packaging")
        if content_quantity <= 0:
            raise ConversionError(
                "invalid_packaging", "The content per base unit must be greater than zero.", "packaging"
            )
        content = (index.resolve(packaging.content_unit, field_name="packaging"), Fraction(content_quantity))
    plan = _Plan(base, per_level, steps_down, content, frozenset(duplicated))
    if len(index.plans) < 100_000:
        index.plans[packaging] = plan
    return plan


def _route_to_base(plan: _Plan, unit: UnitDef, index, side: str) -> tuple[list[Step], Fraction]:
    """The steps from one ``unit`` down to the base unit, and how many base units that is."""
    if unit.code in plan.duplicated:
        raise ConversionError(
            "ambiguous_unit",
            f"'{unit.code}' is used by more than one packaging level of this item; convert by level instead.",
            side,
        )
    if unit.code in plan.per_level:
        level, count = plan.per_level[unit.code]
        return [plan.steps_down[n] for n in range(level, 0, -1)], count
    direct = _physical_factor(unit, plan.base, index)
    if direct is not None:
        return [Step(unit.code, plan.base.code, direct, "unit")], direct
    if unit.is_item_specific:
        levels = ", ".join(plan.per_level)
        raise ConversionError(
            "not_in_packaging",
            f"'{unit.code}' ({unit.name}) is not a packaging level of this item (its levels: {levels}).",
            side,
        )
    if plan.content is None:
        raise ConversionError(
            "no_content",
            f"Can't convert {unit.dimension} '{unit.code}' for this item: it has no content per base unit "
            f"(such as 30 mL per {plan.base.code}), so its {plan.base.dimension} can't be turned into a "
            f"{unit.dimension}.",
            side,
        )
    content_unit, content_quantity = plan.content
    to_content = _physical_factor(unit, content_unit, index)
    if to_content is None:
        raise ConversionError(
            "incompatible_dimensions",
            f"Can't convert '{unit.code}' ({unit.dimension}) for this item: its content is given in "
            f"'{content_unit.code}' ({content_unit.dimension}).",
            side,
        )
    steps = [] if unit.code == content_unit.code else [Step(unit.code, content_unit.code, to_content, "unit")]
    steps.append(Step(content_unit.code, plan.base.code, 1 / content_quantity, "content"))
    return steps, to_content / content_quantity


def item_conversion(packaging: Packaging, qty, from_unit: str, to_unit: str, *, system=None) -> Conversion:
    """Convert ``qty`` between any two of an item's units: packaging levels, fixed counts, and physical units
    through the item's content (CS -> BX -> EA, EA -> mL, CS -> L), with the path of factors used."""
    quantity = to_quantity(qty)
    index = get_index()
    source = index.resolve(from_unit, system=system, field_name="from")
    target = index.resolve(to_unit, system=system, field_name="to")
    direct = _physical_factor(source, target, index)
    if direct is not None:
        value, exact = _result(quantity, direct)
        path = () if source.code == target.code else (Step(source.code, target.code, direct, "unit"),)
        return Conversion(value, exact, source, target, path, direct)
    plan = _plan(packaging, index)
    down, from_base = _route_to_base(plan, source, index, "from")
    up, to_base = _route_to_base(plan, target, index, "to")
    while down and up and down[-1] == up[-1]:  # CS -> BX: drop the shared tail BX -> EA
        down.pop()
        up.pop()
    factor = from_base / to_base
    value, exact = _result(quantity, factor)
    path = tuple(down) + tuple(step.inverted() for step in reversed(up))
    return Conversion(value, exact, source, target, path, factor)


def item_convert(packaging: Packaging, qty: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """``qty`` ``from_unit`` of the item packed as ``packaging``, in ``to_unit`` (CS -> BX -> EA, EA -> mL)."""
    return item_conversion(packaging, qty, from_unit, to_unit).quantity


def base_units_per(packaging: Packaging, unit: str) -> Decimal:
    """How many base units one ``unit`` is (a level, a fixed count or, through the content, a physical unit)."""
    return item_convert(packaging, Decimal(1), unit, packaging.base_unit)


# ---------------------------------------------------------------------------------------------------------
# consistency


def packaging_problems(packaging: Packaging) -> dict[str, list[str]]:
    """What is wrong with a packaging hierarchy, per place (``levels[2]``, ``content``...); empty = consistent.

    Checks: levels numbered 0, 1, 2... with level 0 the base unit at quantity 1; whole quantities of at
    least 1; each level a distinct unit; each level holding more base units than the one below (a case
    can't hold fewer eaches than a box it contains); a positive content in a physical unit; and the checks
    the item app registers (GTIN-14 indicator digits differ per level).
    """
    index = get_index()
    problems: dict[str, list[str]] = {}

    def add(where: str, message: str) -> None:
        problems.setdefault(where, []).append(message)

    levels = sorted(packaging.levels, key=lambda lv: lv.level)
    numbers = [lv.level for lv in levels]
    if numbers != list(range(len(levels))):
        add("levels", f"Packaging levels must be numbered 0, 1, 2... without gaps; got {numbers}.")
    seen: dict[str, int] = {}
    codes = []
    for position, level in enumerate(levels):
        where = f"levels[{position}]"
        try:
            unit = index.resolve(level.unit, field_name="packaging")
        except ConversionError as exc:
            add(where, exc.message)
            continue
        if not isinstance(level.quantity, int) or isinstance(level.quantity, bool) or level.quantity < 1:
            add(where, f"Level {level.level} must hold a whole number of at least 1 of the level below.")
        if level.level == 0:
            if level.quantity != 1:
                add(where, f"Level 0 is one base unit: its quantity must be 1, not {level.quantity}.")
            base = _safe_resolve(index, packaging.base_unit)
            if base is not None and unit.code != base.code:
                add(where, f"Level 0 must be the base unit '{base.code}', not '{unit.code}'.")
        if unit.code in seen:
            add(where, f"'{unit.code}' is already packaging level {seen[unit.code]}: each level needs its own unit.")
        else:
            seen[unit.code] = level.level
        codes.append(unit.code)
    for message in rank_problems(codes):
        add("levels", message[0].upper() + message[1:])
    if packaging.content_quantity is not None or packaging.content_unit:
        content_unit = _safe_resolve(index, packaging.content_unit)
        if content_unit is None:
            add("content", f"Unknown content unit '{packaging.content_unit}'.")
        elif content_unit.factor is None:
            add("content", f"The content must be a physical unit (mL, mg...), not '{content_unit.code}'.")
        try:
            if to_quantity(packaging.content_quantity, "content") <= 0:
                add("content", "The content per base unit must be greater than zero.")
        except ConversionError as exc:
            add("content", exc.message)
    for checker in _checkers:
        for where, messages in checker(packaging).items():
            for message in messages:
                add(where, message)
    return problems


def _safe_resolve(index, text) -> UnitDef | None:
    try:
        return index.resolve(text)
    except ConversionError:
        return None


# The order packs nest in when a source names them: an each goes in a box, a box in a case, a case on a
# pallet. Other packaging units (carton, pack, bag...) nest either way in real catalogs and are not ranked.
PACK_RANK = {"EA": 0, "BX": 1, "CS": 2, "PX": 3}


def rank_problems(units_bottom_up: list[str]) -> list[str]:
    """Levels that nest against ``PACK_RANK``: a box can't contain a case."""
    problems = []
    ranked = [(code, PACK_RANK[code]) for code in units_bottom_up if code in PACK_RANK]
    for (lower, lower_rank), (upper, upper_rank) in zip(ranked, ranked[1:], strict=False):
        if upper_rank < lower_rank:
            problems.append(f"a {upper} can't contain a {lower} (a {lower} holds {upper}s, not the other way round).")
    return problems


def eaches_problems(counts: list[tuple[str, Decimal]]) -> list[str]:
    """Problems in per-level base-unit counts given bottom-up (``[("BX", 100), ("CS", 400)]``).

    Each level must hold more base units than the one below it, and a whole number of that level:
    a case of 50 can't contain a box of 100, and a case of 250 can't be made of boxes of 100.
    """
    problems = []
    for (lower_unit, lower), (upper_unit, upper) in zip(counts, counts[1:], strict=False):
        if upper < lower:
            problems.append(
                f"a {upper_unit} of {upper} base units can't contain a {lower_unit} of {lower}: "
                "it would hold fewer base units than the pack inside it."
            )
        elif upper % lower:
            problems.append(f"a {upper_unit} of {upper} base units is not a whole number of {lower_unit}s of {lower}.")
    return problems


# ---------------------------------------------------------------------------------------------------------
# the item provider

PackagingProvider = Callable[[int], Packaging]
PackagingChecker = Callable[[Packaging], dict[str, list[str]]]
_provider: list[PackagingProvider] = []
_checkers: list[PackagingChecker] = []


def register_packaging_provider(provider: PackagingProvider, *, checker: PackagingChecker | None = None) -> None:
    """Called by the item app at start-up: ``provider(item_id)`` returns a ``Packaging`` or raises
    ``ConversionError("unknown_item")``; ``checker`` adds the item app's own packaging rules."""
    _provider[:] = [provider]
    if checker is not None and checker not in _checkers:
        _checkers.append(checker)


def packaging_for_item(item_id: int) -> Packaging:
    """The packaging of item ``item_id``, from the provider the item app registered."""
    if not _provider:
        raise ConversionError("unknown_item", "No item packaging provider is registered.", "item")
    return _provider[0](item_id)
