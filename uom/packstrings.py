"""Pack strings from supplier catalogs and the FDA NDC directory, read into a packaging hierarchy.

``pack_parse(text, system=None)`` returns a ``PackParse``. Its ``levels`` run **bottom-up**, like
``Packaging.levels``: ``levels[0]`` is the base unit (quantity 1), and ``levels[i].quantity`` is how many of
``levels[i - 1]`` one ``levels[i]`` holds. ``top_down()`` gives the same levels outermost first.

Notations read (case and spacing don't matter):

=====================================  ====================================================================
``BX/100``, ``Case of 12``             one level: a box (case) holds 100 (12) base units; base unit unstated
``100/BX``, ``12/CS``                  the same, count first
``100EA/BX``, ``BX 100EA``             one level with the base unit written: a box holds 100 each
``CS 10BX/100EA``                      nested, outermost first: a case holds 10 boxes, a box 100 each
``400/cs, 100/bx:ea``                  base units per level (``:ea`` names the base unit): 400 each in a
                                       case, 100 in a box, so a case holds 4 boxes
``1 CS = 10 BX``, ``1 CS = 10 BX, 1 BX = 100 EA``  equations
``1 VIAL, MULTI-DOSE in 1 CAN > 30 mL in 1 VIAL, MULTI-DOSE``   FDA NDC package description, outermost
                                       first; a physical amount in the innermost part is the content of
                                       one base unit (30 mL per vial). ``100 TABLET in 1 BOTTLE``.
=====================================  ====================================================================

When the base unit isn't written (``BX/100``), ``levels[0].unit`` is None: it is the item's base unit,
filled in by ``PackParse.packaging(base_unit=...)``.

Nothing is guessed. A string that can't be read one way only comes back with ``ambiguous=True`` and the
reason: an unknown unit, counts that contradict each other (a case of 50 each can't contain a box of
100), a fraction of a pack, a kit with several parts, a notation the parser doesn't know.
``pack_conflicts``/``pack_string_check`` compare a reading with an item's existing packaging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from uom.conversions import (
    PACK_RANK,
    Packaging,
    PackagingLevel,
    eaches_problems,
    item_convert,
    rank_problems,
    tidy,
)
from uom.errors import ConversionError
from uom.registry import UnitDef, get_index


@dataclass(frozen=True)
class PackLevel:
    """One level of a reading: ``quantity`` of the level below (1 for the base); ``written`` as in the text."""

    unit: str | None
    quantity: int
    written: str = ""


@dataclass(frozen=True)
class PackParse:
    """The reading of one pack string. ``levels`` run bottom-up (base first); see the module docstring."""

    text: str
    levels: tuple[PackLevel, ...] = ()
    content_quantity: Decimal | None = None
    content_unit: str | None = None
    ambiguous: bool = False
    reason: str = ""
    notation: str = ""

    @property
    def base_unit(self) -> str | None:
        return self.levels[0].unit if self.levels else None

    def top_down(self) -> tuple[PackLevel, ...]:
        """The levels outermost first (case, box, each)."""
        return tuple(reversed(self.levels))

    def base_units_per_level(self) -> dict[str | None, int]:
        """How many base units one of each level holds: ``{"EA": 1, "BX": 100, "CS": 1000}``."""
        out, running = {}, 1
        for level in self.levels:
            running *= level.quantity
            out[level.unit] = running
        return out

    def packaging(self, base_unit: str | None = None) -> Packaging:
        """This reading as a ``Packaging``; ``base_unit`` fills in an unstated base unit (and must agree
        with a stated one). ``ConversionError`` when the reading is ambiguous or the base units disagree."""
        if self.ambiguous:
            raise ConversionError("ambiguous_pack", f"Pack string '{self.text}' is ambiguous: {self.reason}", "pack")
        base = self.base_unit
        if base_unit is not None:
            given = get_index().resolve(base_unit, field_name="unit").code
            if base is not None and base != given:
                raise ConversionError(
                    "pack_conflict",
                    f"Pack string '{self.text}' counts in '{base}', but the base unit is '{given}'.",
                    "pack",
                )
            base = given
        if base is None:
            raise ConversionError(
                "ambiguous_pack", f"Pack string '{self.text}' does not say its base unit; give one.", "pack"
            )
        levels = [PackagingLevel(0, base, 1)] + [
            PackagingLevel(n, level.unit, level.quantity) for n, level in enumerate(self.levels[1:], start=1)
        ]
        return Packaging(base, tuple(levels), self.content_quantity, self.content_unit)


# ---------------------------------------------------------------------------------------------------------


class _Unreadable(Exception):
    """Internal: the reason a string can't be read one way only."""


_FDA_PART = re.compile(
    r"^\s*(?P<qty>\d+(?:\.\d+)?)\s+(?P<unit>.+?)\s+in\s+(?P<n>\d+(?:\.\d+)?)\s+(?P<container>.+?)\s*"
    r"(?:\((?P<ndc>[\d-]+)\))?\s*$",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d{1,3}(?:,\d{3})+(?![\d])|\d+(?:\.\d+)?)|(?P<word>[^\W\d_][\w.\-]*)|(?P<op>[/:,=xX*]))",
    re.UNICODE,
)


@dataclass
class _Tok:
    kind: str  # num, word, op
    text: str
    value: Decimal | None = None


@dataclass
class _Reader:
    text: str
    system: object
    index: object = field(default=None)

    def unit(self, written: str) -> UnitDef:
        try:
            return self.index.resolve(written, system=self.system, field_name="pack")
        except ConversionError:
            raise _Unreadable(f"unknown unit '{written}'.") from None

    def count(self, value: Decimal, what: str) -> int:
        if value != value.to_integral_value() or value < 1:
            raise _Unreadable(f"{what} holds {value} of the level below; a pack holds a whole number of at least 1.")
        return int(value)


def pack_parse(text: str, *, system=None) -> PackParse:
    """Read a pack string into a packaging hierarchy (levels bottom-up), or say why it is ambiguous.

    ``system`` (a ``SourceSystem``, its name, or a convention: ``x12``, ``fda``) decides whose unit aliases
    apply: for an X12 feed ``CA`` is a case, otherwise the UN/ECE can.
    """
    raw = "" if text is None else str(text)
    cleaned = " ".join(raw.split())
    if not cleaned:
        return PackParse(raw, ambiguous=True, reason="the pack string is empty.")
    reader = _Reader(cleaned, system, get_index())
    try:
        fda = re.search(r"\bin\s+\d", cleaned, re.IGNORECASE)
        parse = _fda(reader, raw) if fda else _supplier(reader, raw)
        _check_distinct(list(parse.levels))
        _check_fixed_counts(parse.levels, reader)
        problems = rank_problems([level.unit for level in parse.levels if level.unit])
        if problems:
            raise _Unreadable("read as written, " + " ".join(problems))
        return parse
    except _Unreadable as exc:
        return PackParse(raw, ambiguous=True, reason=str(exc))


def _fda(reader: _Reader, raw: str) -> PackParse:
    """``1 VIAL, MULTI-DOSE in 1 CAN > 30 mL in 1 VIAL, MULTI-DOSE``: parts outermost first, each
    'QUANTITY UNIT in N CONTAINER', each part's container being the unit of the part before."""
    if "*" in reader.text or ";" in reader.text:
        raise _Unreadable("a package with several parts (a kit): each part needs its own hierarchy.")
    reader = _Reader(reader.text, reader.system or "fda", reader.index)
    parts = [part.strip() for part in reader.text.split(">")]
    units: list[tuple[UnitDef, str]] = []  # outermost first
    counts: list[int] = []  # counts[j]: how many units[j + 1] one units[j] holds
    content = None
    for number, part in enumerate(parts, start=1):
        match = _FDA_PART.match(part)
        if not match:
            raise _Unreadable(f"part {number} ('{part}') is not 'QUANTITY UNIT in N CONTAINER'.")
        container = reader.unit(match["container"])
        if not units:
            units.append((container, match["container"]))
        elif units[-1][0].code != container.code:
            raise _Unreadable(
                f"part {number} is packed in '{match['container']}', but part {number - 1} contains "
                f"'{units[-1][1]}': the parts don't nest."
            )
        inner = reader.unit(match["unit"])
        amount = Decimal(match["qty"]) / Decimal(match["n"])
        if inner.factor is not None and inner.dimension != "count":
            if number != len(parts):
                raise _Unreadable(
                    f"part {number} is a physical amount ({match['qty']} {match['unit']}) that contains further parts."
                )
            content = (tidy(amount), inner.code)
            break
        counts.append(reader.count(amount, f"'{match['container']}'"))
        units.append((inner, match["unit"]))
    levels = [PackLevel(units[-1][0].code, 1, units[-1][1])]
    for (unit, written), count in zip(reversed(units[:-1]), reversed(counts), strict=True):
        levels.append(PackLevel(unit.code, count, written))
    _check_distinct(levels)
    return PackParse(
        raw,
        tuple(levels),
        content_quantity=content[0] if content else None,
        content_unit=content[1] if content else None,
        notation="fda-ndc",
    )


def _check_distinct(levels: list[PackLevel]) -> None:
    seen = set()
    for level in levels:
        if level.unit is not None and level.unit in seen:
            raise _Unreadable(f"'{level.written}' appears at two levels.")
        seen.add(level.unit)


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _Unreadable(f"can't read '{text[pos:].strip()}'.")
        pos = match.end()
        if match["num"]:
            out.append(_Tok("num", match["num"], Decimal(match["num"].replace(",", ""))))
        elif match["word"]:
            word = match["word"].rstrip(".")
            if word.lower() in ("x",):
                out.append(_Tok("op", "x"))
            else:
                out.append(_Tok("word", word))
        else:
            out.append(_Tok("op", match["op"].lower()))
    return out


def _shape(tokens: list[_Tok]) -> str:
    return "".join({"num": "N", "word": "U"}.get(t.kind, t.text) for t in tokens)


def _supplier(reader: _Reader, raw: str) -> PackParse:
    try:
        tokens = _tokens(reader.text)
    except (InvalidOperation, ValueError):
        raise _Unreadable(f"can't read '{reader.text}'.") from None
    # "Case of 12": the word "of" between a unit and a count.
    words = [t.text.lower() for t in tokens if t.kind == "word"]
    if len(tokens) == 3 and _shape(tokens) == "UUN" and words[1] == "of":
        unit = reader.unit(tokens[0].text)
        return _one_level(reader, raw, unit, tokens[0].text, tokens[2].value, None, "unit of count")
    if any(t.text == "=" for t in tokens):
        return _equations(reader, raw, tokens)
    groups = _split(tokens, ",")
    if len(groups) > 1 or any(t.text == ":" for t in tokens):
        return _per_level_counts(reader, raw, groups)
    shape = _shape(tokens)
    t = tokens
    if shape == "U/N":  # BX/100
        return _one_level(reader, raw, reader.unit(t[0].text), t[0].text, t[2].value, None, "unit/count")
    if shape == "N/U":  # 100/BX
        return _one_level(reader, raw, reader.unit(t[2].text), t[2].text, t[0].value, None, "count/unit")
    if shape == "UN":  # EA 1, BX 100
        return _one_level(reader, raw, reader.unit(t[0].text), t[0].text, t[1].value, None, "unit count")
    if shape == "NU/U":  # 100EA/BX
        base = reader.unit(t[1].text)
        return _one_level(
            reader, raw, reader.unit(t[3].text), t[3].text, t[0].value, (base, t[1].text), "count unit/unit"
        )
    if shape == "UNU":  # BX 100EA
        base = reader.unit(t[2].text)
        return _one_level(
            reader, raw, reader.unit(t[0].text), t[0].text, t[1].value, (base, t[2].text), "unit count unit"
        )
    if shape == "U":  # EA
        unit = reader.unit(t[0].text)
        return PackParse(raw, (PackLevel(unit.code, 1, t[0].text),), notation="unit")
    if shape == "U/NU":  # CS/10BX
        levels = (
            PackLevel(reader.unit(t[3].text).code, 1, t[3].text),
            PackLevel(reader.unit(t[0].text).code, reader.count(t[2].value, f"'{t[0].text}'"), t[0].text),
        )
        _check_distinct(list(levels))
        _check_fixed_counts(levels, reader)
        return PackParse(raw, levels, notation="unit/count unit")
    if re.fullmatch(r"U(NU/)+NU", shape):  # CS 10BX/100EA, PL 40CS/10BX/100EA
        return _nested(reader, raw, t)
    raise _Unreadable(f"'{reader.text}' is not a pack notation this parser knows ({_describe(shape)}).")


def _describe(shape: str) -> str:
    return "read as " + " ".join({"N": "count", "U": "word"}.get(c, f"'{c}'") for c in shape)


def _split(tokens: list[_Tok], op: str) -> list[list[_Tok]]:
    groups: list[list[_Tok]] = [[]]
    for token in tokens:
        if token.kind == "op" and token.text == op:
            groups.append([])
        else:
            groups[-1].append(token)
    return [g for g in groups if g]


def _one_level(reader, raw, unit: UnitDef, written: str, count: Decimal, base, notation: str) -> PackParse:
    quantity = reader.count(count, f"'{written}'")
    if base is not None:
        base_unit, base_written = base
        if base_unit.code == unit.code:
            if quantity != 1:
                raise _Unreadable(f"'{written}' can't hold {quantity} of itself.")
            return PackParse(raw, (PackLevel(unit.code, 1, written),), notation=notation)
        levels = (PackLevel(base_unit.code, 1, base_written), PackLevel(unit.code, quantity, written))
        _check_fixed_counts(levels, reader)
        return PackParse(raw, levels, notation=notation)
    if unit.factor is not None and unit.dimension == "count" and unit.factor == 1:
        # "1/EA": the base unit itself
        if quantity != 1:
            raise _Unreadable(f"{quantity}/{written}: an {written} can't hold {quantity} of the base unit.")
        return PackParse(raw, (PackLevel(unit.code, 1, written),), notation=notation)
    return PackParse(raw, (PackLevel(None, 1, ""), PackLevel(unit.code, quantity, written)), notation=notation)


def _check_fixed_counts(levels, reader) -> None:
    """A dozen is 12 each: '10DZ/EA' style readings must agree with fixed count factors."""
    for lower, upper in zip(levels, levels[1:], strict=False):
        lo, up = reader.index.units.get(lower.unit), reader.index.units.get(upper.unit)
        fixed = lo and up and lo.factor is not None and up.factor is not None and lo.signature == up.signature
        if fixed and up.factor / lo.factor != upper.quantity:
            raise _Unreadable(f"a {up.code} is {up.factor / lo.factor} {lo.code}, not {upper.quantity}.")


def _nested(reader, raw, t: list[_Tok]) -> PackParse:
    """``CS 10BX/100EA``: the outermost unit, then "count unit" per level down, slash-separated."""
    top = reader.unit(t[0].text)
    top_down = [(top, t[0].text)]
    quantities = []
    rest = t[1:]
    while rest:
        count, unit_tok = rest[0], rest[1]
        quantities.append(count.value)
        top_down.append((reader.unit(unit_tok.text), unit_tok.text))
        rest = rest[3:] if len(rest) > 2 else []
    levels = [PackLevel(top_down[-1][0].code, 1, top_down[-1][1])]
    for (unit, written), count in zip(reversed(top_down[:-1]), reversed(quantities), strict=True):
        levels.append(PackLevel(unit.code, reader.count(count, f"'{written}'"), written))
    _check_distinct(levels)
    _check_fixed_counts(levels, reader)
    return PackParse(raw, tuple(levels), notation="nested")


def _equations(reader, raw, tokens) -> PackParse:
    """``1 CS = 10 BX, 1 BX = 100 EA``: each equation says how many of one unit another holds."""
    holds: dict[str, tuple[int, str, str]] = {}  # upper code -> (quantity, lower code, written)
    written: dict[str, str] = {}
    for group in _split(tokens, ","):
        shape = _shape(group)
        if shape == "NU=NU":
            n_upper, upper_tok, _eq, n_lower, lower_tok = group
        elif shape == "U=NU":  # CS = 10 BX
            upper_tok, _eq, n_lower, lower_tok = group
            n_upper = _Tok("num", "1", Decimal(1))
        else:
            raise _Unreadable(f"'{' '.join(t.text for t in group)}' is not an equation like '1 CS = 10 BX'.")
        upper, lower = reader.unit(upper_tok.text), reader.unit(lower_tok.text)
        if n_upper.value == 0:
            raise _Unreadable("an equation can't start with 0.")
        quantity = reader.count(n_lower.value / n_upper.value, f"'{upper_tok.text}'")
        if upper.code in holds and holds[upper.code][:2] != (quantity, lower.code):
            raise _Unreadable(f"two equations for '{upper_tok.text}' disagree.")
        holds[upper.code] = (quantity, lower.code, upper_tok.text)
        written.setdefault(lower.code, lower_tok.text)
    return PackParse(raw, tuple(_chain(holds, written)), notation="equation")


def _chain(holds: dict[str, tuple[int, str, str]], written: dict[str, str]) -> list[PackLevel]:
    """Order "X holds n Y" facts into one chain, base first; refuse branches and gaps."""
    lowers = [lower for _q, lower, _w in holds.values()]
    bases = [lower for lower in lowers if lower not in holds]
    tops = [upper for upper in holds if upper not in lowers]
    if len(set(bases)) != 1 or len(tops) != 1 or len(set(lowers)) != len(lowers):
        raise _Unreadable("the equations don't form one chain from the outermost pack down to one base unit.")
    by_lower = {lower: upper for upper, (_q, lower, _w) in holds.items()}
    base = bases[0]
    levels = [PackLevel(base, 1, written.get(base, base))]
    while levels[-1].unit in by_lower:
        upper = by_lower[levels[-1].unit]
        quantity, _lower, text = holds[upper]
        levels.append(PackLevel(upper, quantity, text))
    if len(levels) != len(holds) + 1:
        raise _Unreadable("the equations don't form one chain.")
    return levels


def _per_level_counts(reader, raw, groups: list[list[_Tok]]) -> PackParse:
    """``400/cs, 100/bx:ea``: base units per level; ``:ea`` at the end names the base unit."""
    base = None
    last = groups[-1]
    colon = next((i for i, t in enumerate(last) if t.text == ":"), None)
    if colon is not None:
        tail = last[colon + 1 :]
        if len(tail) != 1 or tail[0].kind != "word":
            raise _Unreadable("':' must be followed by the base unit, as in '100/bx:ea'.")
        base = reader.unit(tail[0].text)
        groups = [*groups[:-1], last[:colon]]
    counts: list[tuple[UnitDef, str, Decimal]] = []
    for group in groups:
        shape = _shape(group)
        if shape == "N/U":
            count, unit_tok = group[0], group[2]
        elif shape == "U/N":
            unit_tok, count = group[0], group[2]
        elif shape == "NU/U" and (base is None or reader.unit(group[1].text).code == base.code):
            base = reader.unit(group[1].text)
            count, unit_tok = group[0], group[3]
        else:
            raise _Unreadable(f"'{' '.join(t.text for t in group)}' is not a count per unit like '100/bx'.")
        counts.append((reader.unit(unit_tok.text), unit_tok.text, count.value))
    for _unit, written, count in counts:
        reader.count(count, f"'{written}'")
    problems = [
        f"a {big.code} ({big_count} base units) can't hold fewer base units than a {small.code} "
        f"({small_count}) it contains."
        for big, _w1, big_count in counts
        for small, _w2, small_count in counts
        if PACK_RANK.get(big.code, -1) > PACK_RANK.get(small.code, 99) and big_count < small_count
    ]
    counts.sort(key=lambda c: c[2])
    if len({count for _u, _w, count in counts}) != len(counts):
        problems.append("two levels hold the same number of base units.")
    if not problems:
        problems = eaches_problems([(unit.code, count) for unit, _written, count in counts])
    if problems:
        raise _Unreadable(
            "the counts are read as base units per level, and then " + " ".join(problems) + " If a count means "
            "packs of the level below, write it nested ('CS 10BX/100EA') or as '1 CS = 10 BX'."
        )
    levels = [PackLevel(base.code if base else None, 1, "")]
    below = Decimal(1)
    for unit, written, count in counts:
        levels.append(PackLevel(unit.code, int(count / below), written))
        below = count
    _check_distinct(levels)
    return PackParse(raw, tuple(levels), notation="base units per level")


# ---------------------------------------------------------------------------------------------------------
# against an item


def pack_conflicts(parse: PackParse, packaging: Packaging) -> list[str]:
    """Where a reading contradicts an item's packaging: a different base unit, or a level both know that
    holds a different number of base units. Levels only one side knows are not a contradiction."""
    if parse.ambiguous:
        return []
    index = get_index()
    base = index.resolve(packaging.base_unit, field_name="packaging").code
    problems = []
    if parse.base_unit is not None and parse.base_unit != base:
        try:
            item_convert(packaging, Decimal(1), parse.base_unit, base)
        except ConversionError:
            problems.append(
                f"The pack string counts in '{parse.base_unit}', but the item's base unit is '{base}' "
                "and its packaging has no such level."
            )
            return problems
    per_level = parse.base_units_per_level()
    base_in_parse = item_convert(packaging, Decimal(1), parse.base_unit, base) if parse.base_unit else Decimal(1)
    for level in parse.levels[1:]:
        try:
            item_count = item_convert(packaging, Decimal(1), level.unit, base)
        except ConversionError:
            continue  # a level the item doesn't have (yet): not a contradiction
        says = per_level[level.unit] * base_in_parse
        if says != item_count:
            problems.append(
                f"The pack string says one {level.unit} holds {says} {base}; the item's packaging says "
                f"{item_count} {base}."
            )
    if parse.content_unit and packaging.content_unit:
        try:
            item_content = item_convert(packaging, Decimal(1), base, parse.content_unit)
        except ConversionError:
            item_content = None
        if item_content is not None and parse.content_quantity is not None:
            said = parse.content_quantity / item_convert(packaging, Decimal(1), base, parse.base_unit or base)
            if said != item_content:
                problems.append(
                    f"The pack string says one {parse.base_unit or base} contains {parse.content_quantity} "
                    f"{parse.content_unit}; the item says {item_content} {parse.content_unit}."
                )
    return problems


def pack_string_check(text: str, packaging: Packaging, *, system=None) -> PackParse:
    """Read ``text`` and refuse it (``ConversionError``, field ``pack_string``) when it is ambiguous
    (code ``ambiguous_pack``) or contradicts the item's packaging (code ``pack_conflict``)."""
    parse = pack_parse(text, system=system)
    if parse.ambiguous:
        raise ConversionError(
            "ambiguous_pack", f"Pack string '{text}' can't be read one way only: {parse.reason}", "pack_string"
        )
    problems = pack_conflicts(parse, packaging)
    if problems:
        raise ConversionError(
            "pack_conflict",
            f"Pack string '{text}' contradicts the item's packaging: " + " ".join(problems),
            "pack_string",
        )
    return parse
