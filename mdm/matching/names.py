"""Organisation names, person names and addresses: folding rules per kind."""

from __future__ import annotations

import re

from .text import fold, squash

# Legal-form words, removed only at the end of a name (after site suffixes are gone), repeatedly:
# "Medline Industries, Inc." and "MEDLINE IND LP" both end as "medline ind".
_LEGAL_WORDS = """
    inc incorporated llc lc llp lp lllp pllc ltd limited gmbh mbh co company corp corporation cos sa ag plc nv bv
    srl spa sas sarl kg kgaa oy ab as aps asa pty pte kk ulc pc se sl bhd tbk sdn spzoo
"""
LEGAL_SUFFIXES = frozenset(_LEGAL_WORDS.split())
# One spelling per common organisation word; applied anywhere in the name.
ORG_WORDS = {
    "industries": "ind",
    "industry": "ind",
    "industrial": "ind",
    "inds": "ind",
    "international": "intl",
    "internat": "intl",
    "laboratories": "lab",
    "laboratory": "lab",
    "labs": "lab",
    "technologies": "tech",
    "technology": "tech",
    "techs": "tech",
    "manufacturing": "mfg",
    "manufacturers": "mfg",
    "manufacturer": "mfg",
    "medical": "med",
    "products": "prod",
    "product": "prod",
    "prods": "prod",
    "systems": "sys",
    "system": "sys",
    "surgical": "surg",
    "orthopedics": "ortho",
    "orthopaedics": "ortho",
    "orthopedic": "ortho",
    "orthopaedic": "ortho",
    "associates": "assoc",
    "association": "assoc",
    "services": "svc",
    "service": "svc",
    "svcs": "svc",
    "pharmaceuticals": "pharma",
    "pharmaceutical": "pharma",
    "pharm": "pharma",
    "brothers": "bros",
    "saint": "st",
    "group": "grp",
    "holdings": "hldg",
    "holding": "hldg",
    "solutions": "sol",
    "healthcare": "health care",
    "usa": "us",
    "america": "am",
    "american": "am",
    "company": "co",
    "corporation": "corp",
    "incorporated": "inc",
    "limited": "ltd",
    "distribution": "dist",
    "distributors": "dist",
    "distributor": "dist",
}
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SITE = re.compile(r"\s+[-–—/]\s+.*$|\s+-\s*(?:site|plant|location|div|division|branch|dept)\b.*$")
_SITE_WORDS = re.compile(r"\b(?:site|plant|location|division|div|branch|dept|department|facility)\s*#?\s*\d*\s*$")
_DBA = re.compile(r"\b(?:dba|d b a|aka|fka|c o|attn)\b.*$")
_SINGLE_LETTERS = re.compile(r"\b(?:[a-z] )+[a-z]\b")


def _join_initials(text: str) -> str:
    """``"l l c"`` -> ``"llc"``, ``"c r bard"`` -> ``"cr bard"``: dotted initials written with or without dots agree."""
    return _SINGLE_LETTERS.sub(lambda m: m.group(0).replace(" ", ""), text)


def org_name(value: object) -> str:
    """The core of a company name: legal form, site/division suffixes, "the", "&"/"and" and punctuation folded.

    ``"The Medline Industries, Inc. - Site 2"`` -> ``"medline ind"``; ``"Smith & Nephew (Dallas)"`` ->
    ``"smith nephew"``. Never returns an empty string for a non-empty name: if only legal words are left they stay.
    """
    text = fold(value)
    if not text:
        return ""
    text = _PARENS.sub(" ", text)
    text = _SITE.sub("", text)
    text = text.replace("&", " and ").replace("+", " and ")
    text = squash(text.replace("'", ""))
    text = _DBA.sub("", text).strip()
    text = _SITE_WORDS.sub("", text).strip()
    text = _join_initials(text)
    words = [ORG_WORDS.get(w, w) for w in text.split()]
    words = " ".join(words).split()
    while words and words[0] == "the":
        words.pop(0)
    full = list(words)
    while len(words) > 1 and (words[-1] in LEGAL_SUFFIXES or words[-1] == "and"):
        words.pop()
    words = [w for w in words if w != "and"] or [w for w in full if w != "and"] or full
    return " ".join(words)


_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "jr", "sr", "ii", "iii", "iv", "md", "phd"})


def person_name(value: object) -> str:
    """A person name folded to letters and single spaces, titles dropped: ``"Dr. José  O'Neil"`` -> ``"jose oneil"``."""
    text = fold(value)
    if not text:
        return ""
    text = squash(text.replace("'", "").replace("’", ""))
    words = [w for w in text.split() if w not in _TITLES and not w.isdigit()]
    return " ".join(words)


# USPS-style short forms, so "Street" and "St." agree. In an address ST is always street.
ADDRESS_WORDS = {
    "street": "st",
    "str": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "boulevard": "blvd",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "plaza": "plz",
    "parkway": "pkwy",
    "highway": "hwy",
    "suite": "ste",
    "apartment": "apt",
    "building": "bldg",
    "floor": "fl",
    "room": "rm",
    "unit": "unit",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "circle": "cir",
    "crescent": "cres",
    "terrace": "ter",
    "square": "sq",
    "mount": "mt",
    "fort": "ft",
    "center": "ctr",
    "centre": "ctr",
    "expressway": "expy",
    "freeway": "fwy",
    "trail": "trl",
    "way": "way",
    "close": "cl",
    "point": "pt",
    "heights": "hts",
    "post office box": "po box",
    "pobox": "po box",
    "p o box": "po box",
}
_ADDRESS_PHRASES = re.compile(r"\b(?:post office box|p o box|pobox)\b")
_DIGITS = re.compile(r"\d+[a-z]?")


def address(value: object) -> tuple[str, list[str], list[str]]:
    """``(standardized address, word tokens, numbers)``; house, suite and box numbers are kept apart from words."""
    text = squash(fold(value).replace("#", " "))
    if not text:
        return "", [], []
    text = _ADDRESS_PHRASES.sub("po box", text)
    text = _join_initials(text)
    words: list[str] = []
    numbers: list[str] = []
    out: list[str] = []
    for token in text.split():
        if _DIGITS.fullmatch(token):
            digits = token.lstrip("0") or "0"
            numbers.append(digits)
            out.append(digits)
        else:
            word = ADDRESS_WORDS.get(token, token)
            words.append(word)
            out.append(word)
    return " ".join(out), words, numbers
