"""Text normalization shared by every field kind: mojibake repair, Unicode and case folding, tokens, numbers, codes.

Every function here is pure and cheap enough to run on millions of values; callers cache per distinct value.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

_SYMBOLS = str.maketrans(
    {
        "®": " ",
        "™": " ",
        "©": " ",
        "℠": " ",
        "°": " deg ",
        "º": " deg ",
        "ø": " ",
        "Ø": " ",
        "´": "",  # a spacing accent typed after a letter ("Prote´ge´")
        "\xad": "",  # soft hyphen
    }
)
_MARKS = re.compile(r"\((?:r|tm|c)\)")


def fold(value: object) -> str:
    """Repair mojibake, NFKC-normalize, casefold, strip accents and trademark signs. ``None`` -> ``""``."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        # ftfy is slow; plain ASCII can hold no mojibake.
        text = ftfy.fix_text(text, normalization=None).translate(_SYMBOLS)
        text = unicodedata.normalize("NFKC", text)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    if "(" in text:
        text = _MARKS.sub(" ", text)
    return text


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def squash(text: str) -> str:
    """Fold punctuation to single spaces: ``"st. jude, inc."`` -> ``"st jude inc"``."""
    return _NON_ALNUM.sub(" ", text).strip()


def compact(text: str) -> str:
    """Only letters and digits: ``"KDL-46V5100"`` -> ``"kdl46v5100"``."""
    return _NON_ALNUM.sub("", fold(text))


def canonical_number(text: str) -> str:
    """``"04.50"`` -> ``"4.5"``, ``"4.0"`` -> ``"4"``, ``"0.40"`` -> ``"0.4"``: one spelling per value."""
    if "." in text:
        whole, _, frac = text.partition(".")
        whole = whole.lstrip("0") or "0"
        frac = frac.rstrip("0")
        return f"{whole}.{frac}" if frac else whole
    return text.lstrip("0") or "0"


# Units after a number: the number is kept (as a size), the unit word is dropped, so "5 ML" and "5ml" agree.
_UNITS = (
    "mm|cm|ml|cc|mg|mcg|ug|kg|g|ga|gauge|gage|fr|f|french|in|inch|inches|oz|lb|lbs|l|m|ft|mmhg|um|"
    "deg|degree|degrees|%|ct|count|pk|pack|pc|pcs|ea|each|bx|box|boxes|cs|case|cases|pr|pair|pairs|bg|bag|rl|roll|"
    "dz|doz|dozen|ctn|carton|vl|vial|vials|tb|tube|tubes|sht|sheet|sheets|kt|kit|kits|st|set|sets|x"
)
_NUM = r"\d+(?:\.\d+)?"
# A number not glued to a word or another number: "(?<![a-z0-9.])\d+..." written with the look-behind after the
# first digit, so the pattern starts with a digit and the regex engine skips ahead to digits instead of trying
# every position.
_FREE_NUM = r"\d(?<![a-z0-9.]\d)\d*(?:\.\d+)?"
_DIM = re.compile(
    rf"({_FREE_NUM})\s*(?:mm|cm|in|m)?\s*[x×*]\s*({_NUM})(?:\s*(?:mm|cm|in|m)?\s*[x×*]\s*({_NUM}))?"
    rf"(?:\s*(?:mm|cm|in|m)(?![a-z]))?"
)
_NUM_UNIT = re.compile(rf"({_FREE_NUM})\s*(?:{_UNITS})(?![a-z0-9])")
_TOKEN = re.compile(r"#|[a-z0-9]+(?:[.\-][a-z0-9]+)*")
_HAS_DIGIT = re.compile(r"\d")
_HAS_ALPHA = re.compile(r"[a-z]")
_PURE_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_DIGIT_GROUPS = re.compile(r"^\d+(?:-\d+)+$")
UNIT_WORDS = frozenset(_UNITS.split("|"))
STOPWORDS = frozenset({"the", "a", "an", "of", "and", "or", "for", "to", "in", "on", "by", "with", "w", "n"})


def split_description(text: str) -> tuple[list[str], list[str], list[str]]:
    """Split folded text into ``(raw word tokens in order, numbers, codes)``.

    Numbers are sizes and counts (``3.5X14`` -> ``3.5``, ``14``; ``20G`` -> ``20``; suture ``4-0`` -> ``4-0``), in
    canonical spelling. Codes are letter+digit tokens and long digit groups (model and catalog numbers:
    ``KDL-46V5100`` -> ``kdl46v5100``, ``1107-0-3258`` -> ``110703258``), separators removed. Words keep their order
    and are what abbreviation expansion and token similarity work on.
    """
    numbers: list[str] = []
    if _HAS_DIGIT.search(text):
        text = text.replace("w/o ", " without ").replace("w/ ", " with ")

        def dim(match: re.Match) -> str:
            numbers.extend(canonical_number(g) for g in match.groups() if g)
            return " # "

        text = _DIM.sub(dim, text)

        def num_unit(match: re.Match) -> str:
            numbers.append(canonical_number(match.group(1)))
            return " # "

        text = _NUM_UNIT.sub(num_unit, text)
    else:
        text = text.replace("w/o ", " without ").replace("w/ ", " with ")
    words: list[str] = []
    codes: list[str] = []
    for token in _TOKEN.findall(text.replace("/", " ")):
        if token.isalpha():  # plain letters, the usual token (tokens are ASCII: see _TOKEN)
            words.append(token)
            continue
        if token == "#":  # noqa: S105 - the number marker, not a secret
            words.append("#")
            continue
        if not _HAS_DIGIT.search(token):
            if "-" in token or "." in token:
                words.extend(part for part in re.split(r"[.\-]", token) if part)
            else:
                words.append(token)
            continue
        if _PURE_NUMBER.match(token):
            numbers.append(canonical_number(token))
            words.append("#")  # a number stands here: abbreviation rules look at neighbours
            continue
        if _DIGIT_GROUPS.match(token):
            digits = token.replace("-", "")
            if len(digits) >= 5:
                codes.append(digits)
            else:
                numbers.append(token)
                words.append("#")
            continue
        joined = token.replace("-", "").replace(".", "")
        if _HAS_ALPHA.search(joined) and len(joined) >= 3:
            codes.append(joined)
        elif joined:
            words.append(joined)
    return words, numbers, codes
