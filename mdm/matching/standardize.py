"""Standardization per field kind: one raw value in, the features its comparator and blocking keys use out.

Each standardizer is pure; :class:`Standardizer` caches results per distinct raw value (catalogs repeat
manufacturer names, descriptions and pack strings), which keeps batch preparation near-linear in distinct values.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from . import identifiers as idmod
from .abbreviations import AbbreviationTable
from .names import address, org_name, person_name
from .text import STOPWORDS, compact, fold, split_description

MAX_NUMBERS = 8
MAX_CODES = 6


def _unique(seq) -> tuple:
    return tuple(dict.fromkeys(seq))


def text_features(value: object, table: AbbreviationTable) -> tuple[str, tuple, tuple, tuple]:
    """Free text / description -> ``(standardized text, words, numbers, codes)``.

    Words are abbreviation-expanded, stop and unit words dropped; numbers are sizes in canonical spelling; codes are
    model/catalog-number-like tokens. ``"GLV EXAM NTRL PF LG 3.5X14"`` -> words ``glove exam nitrile natural powder
    free large long length``, numbers ``3.5 14``.
    """
    text = fold(value)
    if not text.strip():
        return "", (), (), ()
    raw_words, numbers, codes = split_description(text)
    words = [w for w in table.expand(raw_words) if w not in STOPWORDS]
    words_u = _unique(words)
    numbers_u = _unique(numbers)[:MAX_NUMBERS]
    codes_u = _unique(codes)[:MAX_CODES]
    std = " ".join((*words, *numbers_u, *codes_u))
    return std, words_u, numbers_u, codes_u


def org_features(value: object) -> tuple[str, tuple, tuple, tuple]:
    std = org_name(value)
    return std, _unique(std.split()), (), ()


def address_features(value: object) -> tuple[str, tuple, tuple, tuple]:
    std, words, numbers = address(value)
    return std, _unique(words), _unique(numbers)[:MAX_NUMBERS], ()


_DATE_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DATE_US = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def date_value(value: object) -> str:
    """A date as ``yyyymmdd``: ISO, ``yyyymmdd``, ``mm/dd/yyyy`` (``dd/mm/yyyy`` when the first part is > 12)."""
    text = fold(value).strip()
    if not text:
        return ""
    if text.isdigit() and len(text) == 8:
        return text
    match = _DATE_ISO.match(text)
    if match:
        y, m, d = match.groups()
        return f"{y}{int(m):02d}{int(d):02d}"
    match = _DATE_US.match(text)
    if match:
        a, b, y = match.groups()
        m, d = (int(b), int(a)) if int(a) > 12 else (int(a), int(b))
        return f"{y}{m:02d}{d:02d}"
    return compact(text)


_NUMERIC = re.compile(r"-?\d+(?:\.\d+)?")


def numeric_value(value: object) -> float:
    """A number from ``"$1,299.00"``, ``"12.5"``, ``12``; NaN when there is none."""
    if value is None:
        return math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).replace(",", "")
    match = _NUMERIC.search(text)
    return float(match.group(0)) if match else math.nan


def code_value(value: object) -> str:
    return compact(value)


def identifier_values(value: object, id_type: str, multi: bool) -> tuple[tuple[str, bool], ...]:
    """Normalized ``(value, valid)`` pairs; several when ``multi`` (a list or ``|``-joined cell)."""
    items = idmod.split_multi(value) if multi else ([str(value).strip()] if value is not None else [])
    normalize = idmod.NORMALIZERS[id_type]
    out = []
    for item in items:
        if not item:
            continue
        norm, valid = normalize(item)
        if norm:
            out.append((norm, valid))
    return tuple(dict.fromkeys(out))


class Standardizer:
    """Per-kind standardization with a cache per distinct raw value."""

    def __init__(self, table: AbbreviationTable):
        self.table = table
        self.text = lru_cache(maxsize=1 << 18)(self._text)
        self.org = lru_cache(maxsize=1 << 16)(org_features)
        self.address = lru_cache(maxsize=1 << 16)(address_features)
        self.person = lru_cache(maxsize=1 << 16)(person_name)
        self.date = lru_cache(maxsize=1 << 16)(date_value)
        self.code = lru_cache(maxsize=1 << 16)(code_value)
        self.identifier = lru_cache(maxsize=1 << 18)(identifier_values)

    def _text(self, value: object):
        return text_features(value, self.table)

    def field(self, kind: str, value: object, id_type: str | None = None, multi: bool = False):
        """The features of one value of a field of ``kind`` (see the module functions for their shapes)."""
        if value is not None and not isinstance(value, str) and kind not in ("identifier", "numeric"):
            value = " ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        if isinstance(value, str) and not value.strip():
            value = None
        if kind == "text":
            return self.text(value) if value is not None else ("", (), (), ())
        if kind == "org_name":
            return self.org(value) if value is not None else ("", (), (), ())
        if kind == "address":
            return self.address(value) if value is not None else ("", (), (), ())
        if kind == "person_name":
            return self.person(value) if value is not None else ""
        if kind == "date":
            return self.date(value) if value is not None else ""
        if kind == "code":
            return self.code(value) if value is not None else ""
        if kind == "numeric":
            return numeric_value(value)
        if kind == "identifier":
            if isinstance(value, list | set | frozenset):
                value = tuple(value)
            return self.identifier(value, id_type or "generic", multi)
        raise ValueError(f"unknown kind {kind!r}")

    def many(self, kind: str, values: list, id_type: str | None = None, multi: bool = False) -> list:
        """:meth:`field` of each of ``values``, which are distinct (a batch): the per-value caches are bypassed
        (they would only churn) and plain strings, the usual cells, take a short path."""
        plain = {
            "text": (self._text, ("", (), (), ())),
            "org_name": (org_features, ("", (), (), ())),
            "address": (address_features, ("", (), (), ())),
            "person_name": (person_name, ""),
            "date": (date_value, ""),
            "code": (code_value, ""),
        }.get(kind)
        if plain is None:
            if kind == "identifier":
                id_type = id_type or "generic"
                return [
                    identifier_values(v, id_type, multi)
                    if isinstance(v, str) or v is None
                    else self.field(kind, v, id_type, multi)
                    for v in values
                ]
            return [self.field(kind, v, id_type, multi) for v in values]
        func, empty = plain
        return [
            (func(v) if v.strip() else empty) if isinstance(v, str) else self.field(kind, v, id_type, multi)
            for v in values
        ]
