"""Identifier normalization for matching: forgiving (never raises), returns ``(value, valid)``.

Unlike :mod:`mdm.identifiers` (which validates input and refuses bad values), matching must compare whatever the
sources hold, so an invalid value is kept in a normalized form and marked invalid: two records carrying the same
mistyped GTIN still agree, but two *different* values count as a conflict only when both are valid.
"""

from __future__ import annotations

import re

IDENTIFIER_TYPES = ("gtin", "ndc", "duns", "ein", "part_number", "generic")
_NOT_DIGIT = re.compile(r"\D")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_NDC_LAYOUTS = {(4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2}


def gtin(value: str) -> tuple[str, bool]:
    """GTIN-8/12/13/14 (also a GS1 ``(01)`` element string) -> 14 digits; valid when the check digit is right."""
    text = value.strip()
    if text.startswith("(01)"):
        text = text[4:]
    digits = _NOT_DIGIT.sub("", text)
    if len(digits) == 16 and digits.startswith("01"):
        digits = digits[2:]  # the GS1 application identifier written without parentheses
    if len(digits) in (8, 12, 13, 14):
        padded = digits.zfill(14)
        return padded, _gtin_check_ok(padded)
    return digits, False


_ZERO = ord("0")


def _gtin_check_ok(digits14: str) -> bool:
    """The GS1 check digit of 14 ASCII digits (leading zeros weigh nothing): weights 3,1,3,... from the left."""
    if not digits14.isascii():
        return False  # digits of another script (\d matches them) make no GTIN
    data = digits14.encode("ascii")
    return (3 * sum(data[0::2]) + sum(data[1::2]) - 28 * _ZERO) % 10 == 0


def gtin_item_reference(gtin14: str) -> str:
    """The GTIN without indicator and check digit: equal across the packaging levels of one product."""
    return gtin14[1:13] if len(gtin14) == 14 else gtin14


def ndc(value: str) -> tuple[str, bool]:
    """NDC in any of the 4-4-2 / 5-3-2 / 5-4-1 / 5-4-2 layouts -> 11 digits (HIPAA 5-4-2).

    An unhyphenated 10-digit NDC is ambiguous (which segment lost its zero?) and is kept as its 10 digits, marked
    invalid, so it still agrees with the same 10 digits written elsewhere.
    """
    text = value.strip()
    parts = [p for p in re.split(r"[\s\-]+", text) if p]
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        lengths = tuple(len(p) for p in parts)
        if lengths == (5, 4, 2):
            return "".join(parts), True
        if lengths in _NDC_LAYOUTS:
            pad = _NDC_LAYOUTS[lengths]
            parts[pad] = "0" + parts[pad]
            return "".join(parts), True
    digits = _NOT_DIGIT.sub("", text)
    return digits, len(digits) == 11


def duns(value: str) -> tuple[str, bool]:
    """D-U-N-S: 9 digits (a 13-digit DUNS+4 keeps its first 9)."""
    digits = _NOT_DIGIT.sub("", value)
    if len(digits) == 13:
        digits = digits[:9]
    return digits, len(digits) == 9


def ein(value: str) -> tuple[str, bool]:
    """US EIN: 9 digits, separators dropped."""
    digits = _NOT_DIGIT.sub("", value)
    return digits, len(digits) == 9


def part_number(value: str) -> tuple[str, bool]:
    """Manufacturer part / catalog number: case and separators folded (``"CS-15322-I"`` -> ``"cs15322i"``)."""
    from .text import fold

    folded = _NOT_ALNUM.sub("", fold(value))
    return folded, bool(folded)


def generic(value: str) -> tuple[str, bool]:
    """Any other identifier: case, spaces and separators folded."""
    from .text import fold

    folded = _NOT_ALNUM.sub("", fold(value))
    return folded, bool(folded)


NORMALIZERS = {"gtin": gtin, "ndc": ndc, "duns": duns, "ein": ein, "part_number": part_number, "generic": generic}


def split_multi(value: object) -> list[str]:
    """A multi-valued cell: a list/tuple, or a ``|``-joined (also ``;``-joined) string."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        items = [str(v) for v in value if v is not None]
    else:
        items = re.split(r"[|;]", str(value))
    return [item.strip() for item in items if item and item.strip()]
