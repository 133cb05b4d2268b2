"""The in-memory unit registry: every code a source may send, resolved to one hub unit with an exact factor.

What it knows, in the order a code is looked up (first hit wins):

1. the source system's own aliases (``UnitAlias`` rows of that system, or a shipped convention such as
   ``x12`` where ``CA`` is a case);
2. hub unit codes (``Unit.code``, case-insensitive: ``MG`` and ``mg`` are the milligram);
3. UN/ECE Recommendation 20 unit codes (``MGM``, ``C62``, ``DZN``); Rec 20 packaging codes that UN/ECE
   deleted in favour of Recommendation 21 (``BX``, ``CS``, ``VI``...) resolve to their Rec 21 package type;
4. UN/ECE Recommendation 21 package type codes, bare or with the ``X`` prefix UBL/PEPPOL write (``XBX``);
5. aliases any system may use (``UnitAlias`` rows without a system; ``uom_load_codes`` creates the shipped
   ones, "each", "millilitre", "case", so stewards see and govern them like any other);
6. UCUM codes, case-sensitive: the hub units' own UCUM codes first, then any UCUM expression
   (``mg/dL``, ``[iU]/mL``, ``10*3/uL``) turned into a pint unit by ``ucumvert``.

Factors come from pint running on ``fractions.Fraction`` (never float): each unit carries its size in pint's
root units and a *signature* (its dimensions plus the named dimensionless kinds it contains, so an
international unit never converts to a percent). Count units with a fixed size (each, dozen, pair) have a
factor; packaging units (box, case, vial, kit) have none: how many eaches a box holds depends on the item.

The registry is built once per process from the shipped code lists (``uom/data``) and the hub's ``Unit`` and
``UnitAlias`` rows, and rebuilt when those rows change: at once in the process that saved them (signals),
and within ``UOM_REGISTRY_TTL`` seconds (default 5) in every other process, by comparing a fingerprint of
the two tables. Conversions themselves never touch the database.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from uom.choices import Dimension
from uom.errors import ConversionError
from uom.models import normalize_alias

DATA = Path(__file__).resolve().parent / "data"

# pint units whose size is not a physical dimension but a kind of its own: an international unit, a
# percent and a milliequivalent must not convert into each other (or into moles) just because pint
# defines them as plain numbers or as moles.
_DISTINCT_KINDS = frozenset({"equivalents"})
# Dimensionless pint units that are plain numbers (UCUM's 10*3 is ``_10 ** 3``), not kinds of their own.
_PLAIN_NUMBERS = frozenset({"_10", "percent", "permille", "ppm", "dimensionless"})

_SIGNATURE_DIMENSION = {
    (("[count]", 1),): Dimension.COUNT,
    (("[mass]", 1),): Dimension.MASS,
    (("[length]", 3),): Dimension.VOLUME,
    (("[length]", 1),): Dimension.LENGTH,
    (("[length]", 2),): Dimension.AREA,
    (("[time]", 1),): Dimension.TIME,
}


@dataclass(frozen=True)
class UnitDef:
    """One unit as the converter sees it.

    ``factor`` is the unit's size in pint root units (an exact fraction); ``signature`` says what it
    measures. Both are None for packaging and other item-specific count units (box, case, kit, dose).
    """

    code: str
    name: str
    dimension: str
    factor: Fraction | None = None
    signature: tuple | None = None
    unece_code: str = ""
    ucum_code: str = ""
    pint: str = ""

    @property
    def is_item_specific(self) -> bool:
        """A packaging or other count unit whose size depends on the item (box, case, vial, kit)."""
        return self.factor is None and self.dimension == Dimension.COUNT


# ---------------------------------------------------------------------------------------------------------
# pint


@functools.cache
def pint_registry():
    """pint with UCUM's definitions (ucumvert) and the hub's additions, computing in exact fractions."""
    from ucumvert import PintUcumRegistry

    ureg = PintUcumRegistry(non_int_type=Fraction, cache_folder=None)
    ureg.load_definitions(str(DATA / "pint_units.txt"))
    return ureg


@functools.cache
def _ucum_parsing():
    from ucumvert import UcumToPintStrTransformer, get_ucum_parser

    return get_ucum_parser(), UcumToPintStrTransformer()


def _signature(quantity) -> tuple[Fraction, tuple]:
    """(size in root units, signature) of a pint quantity; raises ValueError for offset units (degC)."""
    ureg = pint_registry()
    if not quantity._is_multiplicative:
        raise ValueError("offset units (temperatures) are not quantities of stock")
    kinds: dict[str, Fraction] = {}
    for name, exponent in quantity.units._units.items():
        _prefix, unit_name, _suffix = ureg.parse_unit_name(name)[0]
        if unit_name in _PLAIN_NUMBERS:
            continue
        if unit_name in _DISTINCT_KINDS or not ureg.get_dimensionality(unit_name):
            kinds[unit_name] = kinds.get(unit_name, 0) + Fraction(exponent)
    root = quantity.to_root_units()
    dims = tuple(sorted((str(k), Fraction(v)) for k, v in quantity.dimensionality.items()))
    marks = tuple(sorted(("~" + k, v) for k, v in kinds.items() if v))
    return Fraction(root.magnitude), dims + marks


def _dimension_of(signature: tuple) -> str:
    plain = tuple((k, int(v)) for k, v in signature if v == int(v))
    if len(plain) == len(signature) and plain in _SIGNATURE_DIMENSION:
        return _SIGNATURE_DIMENSION[plain]
    if any(k.startswith("~international_unit") for k, _ in signature):
        return Dimension.ACTIVITY
    return Dimension.OTHER


def _from_pint(expression: str) -> tuple[Fraction, tuple]:
    return _signature(pint_registry().parse_expression(expression))


def ucum_to_pint(code: str) -> str:
    """The pint expression for a UCUM code (``mg/dL`` -> ``((mg) / (dL))``); ValueError if it isn't UCUM."""
    from ucumvert import parse_ucum

    parser, transformer = _ucum_parsing()
    try:
        expression = transformer.transform(parse_ucum(code, parser))
    except Exception as exc:  # lark raises several error types for text that isn't UCUM
        raise ValueError(f"'{code}' is not a UCUM code") from exc
    if not isinstance(expression, str) or expression.strip("() ") in ("", "1"):
        raise ValueError(f"'{code}' is only a UCUM annotation, not a unit")
    return expression


# ---------------------------------------------------------------------------------------------------------
# shipped code lists


def _read(name: str) -> list[dict]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class CodeLists:
    """The shipped code lists, read once: hub catalogue, Rec 20 subset, Rec 21, deletions, conventions."""

    hub: tuple[dict, ...]
    rec20: dict[str, dict]  # Rec 20 code -> row
    rec21: dict[str, dict]  # Rec 21 code -> row (deleted Rec 21 codes left out)
    rec20_deleted: dict[str, str]  # deleted Rec 20 packaging code -> Rec 21 code
    conventions: dict[str, dict[str, str]]  # "x12" -> alias -> hub code
    package_aliases: dict[str, tuple[str, ...]]  # Rec 21 code -> everyday names ("bottle", "btl")

    def rec21_hub_code(self, code: str) -> str:
        """The hub code a Rec 21 package type is stored under.

        The bare code, unless a hub unit already uses it (``KG`` is the kilogram, not the keg) or Rec 20 gives
        it another meaning (``MC`` microgram vs. milk crate; deleted ``CH`` container vs. ``CH`` chest): then
        the ``X``-prefixed form UBL uses (``XKG``, ``XMC``, ``XCH``).
        """
        hub_codes = {row["code"] for row in self.hub}
        rec20 = self.rec20.get(code)
        shadowed = code in hub_codes or (
            rec20 is not None and (rec20["Status"] != "X" or self.rec20_deleted.get(code, code) != code)
        )
        return f"X{code}" if shadowed else code


@functools.cache
def code_lists() -> CodeLists:
    rec20 = {row["CommonCode"]: row for row in _read("rec20_units.csv")}
    rec21 = {row["Code"]: row for row in _read("rec21_package_types.csv") if row["Status"] != "X"}
    deleted = {row["rec20_code"]: row["rec21_code"] for row in _read("rec20_deleted_packaging.csv")}
    conventions: dict[str, dict[str, str]] = {}
    for row in _read("system_aliases.csv"):
        conventions.setdefault(row["system"], {})[normalize_alias(row["alias"])] = row["code"]
    package_aliases = {
        row["code"]: tuple(filter(None, row["aliases"].split("|"))) for row in _read("package_aliases.csv")
    }
    return CodeLists(tuple(_read("hub_units.csv")), rec20, rec21, deleted, conventions, package_aliases)


def catalogue_units() -> list[dict]:
    """Every unit the shipped code lists define, as ``Unit`` field values plus aliases (for ``uom_load_codes``)."""
    lists = code_lists()
    out = []
    for row in lists.hub:
        out.append(
            {
                "code": row["code"],
                "name": row["name"],
                "dimension": row["dimension"],
                "unece_code": row["unece_code"],
                "ucum_code": row["ucum_code"],
                "aliases": [a for a in row["aliases"].split("|") if a],
            }
        )
    for code, row in lists.rec21.items():
        out.append(
            {
                "code": lists.rec21_hub_code(code),
                "name": " ".join(row["Name"].split())[:100],
                "dimension": Dimension.COUNT,
                "unece_code": code,
                "ucum_code": "",
                "aliases": list(lists.package_aliases.get(code, ())),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------------------
# the index


@dataclass
class UnitIndex:
    """A snapshot of every unit and lookup key. Built by ``build_index``; never changed after, except caches."""

    units: dict[str, UnitDef] = field(default_factory=dict)  # hub code (upper case) -> unit
    rec20: dict[str, str] = field(default_factory=dict)  # Rec 20 code -> hub code
    rec21: dict[str, str] = field(default_factory=dict)  # Rec 21 code -> hub code
    ucum: dict[str, str] = field(default_factory=dict)  # UCUM code (exact case) -> hub code
    aliases: dict[str | None, dict[str, str]] = field(default_factory=dict)  # system -> normalized -> code
    factors: dict = field(default_factory=dict, repr=False)  # (from code, to code) -> Fraction
    plans: dict = field(default_factory=dict, repr=False)  # Packaging -> resolved plan (uom.conversions)
    _resolved: dict = field(default_factory=dict, repr=False)
    _adhoc: dict[str, UnitDef | None] = field(default_factory=dict, repr=False)

    def resolve(self, text, *, system=None, field_name: str = "unit") -> UnitDef:
        """The unit ``text`` names (see the module docstring for the order); ``ConversionError`` if none."""
        system_name = getattr(system, "name", system)
        key = (text, system_name)
        found = self._resolved.get(key)
        if found is not None:
            return found
        found = self._lookup(text, system_name)
        if found is None:
            raw = "" if text is None else str(text).strip()
            if not raw:
                raise ConversionError("unknown_unit", f"No unit given for '{field_name}'.", field_name)
            where = f"a shared alias or an alias of source system '{system_name}'" if system_name else "an alias"
            raise ConversionError(
                "unknown_unit",
                f"Unknown unit '{raw}': not a hub unit code, UN/ECE Rec 20 or Rec 21 code, UCUM code or {where}.",
                field_name,
            )
        if len(self._resolved) < 50_000:  # bounded: resolution keys come from outside
            self._resolved[key] = found
        return found

    def _lookup(self, text, system_name) -> UnitDef | None:
        if text is None:
            return None
        raw = str(text).strip()
        if not raw:
            return None
        upper = raw.upper()
        norm = normalize_alias(raw)
        if system_name:
            code = self.aliases.get(system_name, {}).get(norm)
            if code is None:
                code = code_lists().conventions.get(str(system_name).casefold(), {}).get(norm)
            if code is not None and code in self.units:
                return self.units[code]
        if upper in self.units:
            return self.units[upper]
        code = self.rec20.get(upper) or self.rec21.get(upper)
        if code is None and len(upper) == 3 and upper.startswith("X"):
            code = self.rec21.get(upper[1:])
        if code is None:
            code = self.aliases.get(None, {}).get(norm)
        if code is None:
            code = self.ucum.get(raw)
        if code is not None:
            return self.units.get(code)
        return self._ucum(raw)

    def _ucum(self, raw: str) -> UnitDef | None:
        if raw in self._adhoc:
            return self._adhoc[raw]
        unit = None
        try:
            expression = ucum_to_pint(raw)
            factor, signature = _from_pint(expression)
            unit = UnitDef(raw, raw, _dimension_of(signature), factor, signature, ucum_code=raw, pint=expression)
        except Exception:  # noqa: S110 - not UCUM either: the caller reports an unknown unit
            pass
        if len(self._adhoc) < 10_000:
            self._adhoc[raw] = unit
        return unit


def _unit_def(code, name, dimension, unece_code, ucum_code, pint_expr, catalogue: dict[str, UnitDef]) -> UnitDef:
    """A unit's definition: its pint expression, else what its UN/ECE or UCUM code means, else item-specific."""
    factor = signature = None
    candidates = [pint_expr] if pint_expr else []
    known = catalogue.get(code.upper())
    if known is not None and known.factor is not None and known.dimension == dimension:
        candidates.append(known.pint)
    for other in catalogue.values():
        if unece_code and other.unece_code == unece_code and other.factor is not None:
            candidates.append(other.pint)
    if ucum_code and not ucum_code.startswith("{"):
        with contextlib.suppress(ValueError):
            candidates.append(ucum_to_pint(ucum_code))
    for expression in candidates:
        try:
            factor, signature = _from_pint(expression)
            pint_expr = expression
            break
        except Exception:  # noqa: S112 - try the next way of reading the unit
            continue
    return UnitDef(code, name, dimension, factor, signature, unece_code, ucum_code, pint_expr if factor else "")


@functools.cache
def _catalogue_index() -> UnitIndex:
    lists = code_lists()
    index = UnitIndex()
    for row in lists.hub:
        unit = _unit_def(
            row["code"], row["name"], row["dimension"], row["unece_code"], row["ucum_code"], row["pint"], {}
        )
        index.units[unit.code] = unit
    for row in lists.hub:
        code = row["code"]
        for rec20 in filter(None, [row["unece_code"], *row["unece_aliases"].split("|")]):
            index.rec20[rec20] = code
        if row["ucum_code"]:
            index.ucum[row["ucum_code"]] = code
    for code, row in lists.rec21.items():
        hub_code = lists.rec21_hub_code(code)
        index.units[hub_code] = UnitDef(hub_code, " ".join(row["Name"].split()), Dimension.COUNT, unece_code=code)
        index.rec21[code] = hub_code
    for rec20_code, rec21_code in lists.rec20_deleted.items():
        index.rec20.setdefault(rec20_code, index.rec21[rec21_code])
    return index


def build_index(units=(), aliases=()) -> UnitIndex:
    """An index of the shipped code lists overlaid with the hub's unit rows and alias rows.

    ``units`` are objects with ``code, name, dimension, unece_code, ucum_code`` (``Unit`` rows); ``aliases``
    are ``(system name or None, alias, unit code)`` tuples. A hub row wins over a shipped entry of the same
    code; its UN/ECE and UCUM codes point to it.
    """
    base = _catalogue_index()
    index = UnitIndex(
        units=dict(base.units),
        rec20=dict(base.rec20),
        rec21=dict(base.rec21),
        ucum=dict(base.ucum),
        aliases={k: dict(v) for k, v in base.aliases.items()},
    )
    catalogue = {code: unit for code, unit in base.units.items() if unit.factor is not None}
    lists = code_lists()
    for row in units:
        code = row.code.upper()
        unit = _unit_def(code, row.name, row.dimension, row.unece_code, row.ucum_code, "", catalogue)
        index.units[code] = unit
        unece = (row.unece_code or "").upper()
        if unece:
            if unece in lists.rec21 and unit.is_item_specific:
                index.rec21.setdefault(unece, code)
            elif unece not in index.rec20 or index.rec20[unece] not in index.units:
                index.rec20[unece] = code
        if row.ucum_code:
            index.ucum.setdefault(row.ucum_code, code)
    for system_name, alias, code in aliases:
        index.aliases.setdefault(system_name, {})[normalize_alias(alias)] = code.upper()
    return index


# ---------------------------------------------------------------------------------------------------------
# the live registry


class _Live:
    def __init__(self):
        self.lock = threading.Lock()
        self.index: UnitIndex | None = None
        self.fingerprint = None
        self.checked_at = 0.0


_live = _Live()


def _fingerprint():
    from django.db.models import Count, Max

    from uom.models import Unit, UnitAlias

    return (
        tuple(Unit.objects.aggregate(n=Count("id"), t=Max("updated_at")).values()),
        tuple(UnitAlias.objects.aggregate(n=Count("id"), t=Max("updated_at")).values()),
    )


def _load_from_database() -> UnitIndex:
    from uom.models import Unit, UnitAlias

    units = list(Unit.objects.only("code", "name", "dimension", "unece_code", "ucum_code"))
    aliases = [
        (system_name, alias, code)
        for system_name, alias, code in UnitAlias.objects.values_list("system__name", "alias", "unit__code")
    ]
    return build_index(units, aliases)


def get_index() -> UnitIndex:
    """The current registry: rebuilt if the unit tables changed (checked at most every ``UOM_REGISTRY_TTL`` s)."""
    from django.conf import settings

    ttl = getattr(settings, "UOM_REGISTRY_TTL", 5)
    now = time.monotonic()
    index = _live.index
    if index is not None and now - _live.checked_at < ttl:
        return index
    with _live.lock:
        if _live.index is not None and time.monotonic() - _live.checked_at < ttl:
            return _live.index
        fingerprint = _fingerprint()
        if _live.index is None or fingerprint != _live.fingerprint:
            _live.index = _load_from_database()
            _live.fingerprint = fingerprint
        _live.checked_at = time.monotonic()
        return _live.index


def registry_invalidate(**_kwargs) -> None:
    """Make the next look-up check the unit tables (connected to Unit and UnitAlias saves and deletes)."""
    _live.checked_at = 0.0
    _live.fingerprint = None


def resolve_unit(text, *, system=None, field_name: str = "unit") -> UnitDef:
    """The unit ``text`` names for ``system`` (a ``SourceSystem``, its name, a convention such as "x12", or None)."""
    return get_index().resolve(text, system=system, field_name=field_name)
