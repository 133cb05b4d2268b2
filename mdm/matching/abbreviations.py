"""Abbreviation expansion for descriptions, driven by CSV files stewards can extend.

File format (UTF-8 CSV, header ``abbreviation,expansion,context[,note]``; lines starting with ``#`` are comments):

- ``abbreviation``: one token as it appears after folding (lower case, no punctuation), e.g. ``glv``.
- ``expansion``: the words it stands for (``powder free``). ``a|b`` keeps every reading when the abbreviation is
  ambiguous (``lg`` = ``large|long|length``): either spelling on the other side then agrees.
- ``context``: where the rule applies, ``;``-combined:
  ``any`` everywhere; ``implant`` only in an implant description; ``not_implant`` never in one;
  ``not_number`` never when the token before or after is a number (then it is a unit or pack code: ``CS 10``).

Rules match whole tokens only, never inside a word. A later file overrides an earlier one for the same abbreviation,
so a steward's file can correct a default. The default file ``data/abbreviations.csv`` documents each rule.

Two traps drive the contexts: ``CS`` is cruciate-substituting in a knee implant and a case (pack unit) elsewhere, so
it is expanded only in implant descriptions; ``ST`` can be self-tapping, straight, set or street, so it has no rule
at all and is compared as written.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "abbreviations.csv"
CONTEXTS = frozenset({"any", "implant", "not_implant", "not_number"})

# Words that make a description an implant description (after unambiguous expansion).
IMPLANT_WORDS = frozenset(
    {
        "implant",
        "implantable",
        "prosthesis",
        "prosthetic",
        "knee",
        "hip",
        "femoral",
        "tibial",
        "acetabular",
        "patellar",
        "patella",
        "condylar",
        "arthroplasty",
        "cruciate",
        "stem",
        "liner",
        "screw",
        "plate",
        "spinal",
        "pedicle",
        "cage",
        "interbody",
        "cemented",
        "cementless",
        "glenoid",
        "humeral",
        "polyethylene",
        "bearing",
        "tibia",
        "femur",
    }
)


@dataclass(frozen=True)
class Rule:
    abbreviation: str
    readings: tuple[tuple[str, ...], ...]
    implant: bool | None  # True: only in implants; False: never in implants; None: both
    not_number: bool


class AbbreviationTable:
    """Rules by abbreviation, loaded from one or more CSV files (later files win)."""

    def __init__(self, rules: dict[str, Rule]):
        self.rules = rules

    @classmethod
    def load(cls, paths: tuple[str | Path, ...] = ()) -> AbbreviationTable:
        return _load((str(DEFAULT_FILE), *(str(p) for p in paths)))

    def expand(self, words: list[str]) -> list[str]:
        """Expand abbreviations in folded word tokens; ``"#"`` marks a number (dropped from the result)."""
        rules = self.rules
        if not any(w in rules for w in words):
            return [w for w in words if w != "#"]
        # First pass decides whether this is an implant description, using only context-free expansions.
        implant = False
        for word in words:
            rule = rules.get(word)
            if rule is not None and rule.implant is None and not rule.not_number and len(rule.readings) == 1:
                if any(part in IMPLANT_WORDS for part in rule.readings[0]):
                    implant = True
                    break
            elif word in IMPLANT_WORDS:
                implant = True
                break
        out: list[str] = []
        last = len(words) - 1
        for pos, word in enumerate(words):
            if word == "#":
                continue
            rule = rules.get(word)
            if rule is None:
                out.append(word)
                continue
            if rule.implant is not None and rule.implant != implant:
                out.append(word)
                continue
            if rule.not_number and ((pos > 0 and words[pos - 1] == "#") or (pos < last and words[pos + 1] == "#")):
                out.append(word)
                continue
            for reading in rule.readings:
                out.extend(reading)
        return out


def _parse_context(value: str, path: str, line: int) -> tuple[bool | None, bool]:
    parts = {p.strip() for p in (value or "any").split(";") if p.strip()} or {"any"}
    unknown = parts - CONTEXTS
    if unknown:
        raise ValueError(
            f"{path}, line {line}: unknown context {sorted(unknown)[0]!r}; expected any of {sorted(CONTEXTS)}"
        )
    implant: bool | None = None
    if "implant" in parts and "not_implant" in parts:
        raise ValueError(f"{path}, line {line}: context cannot be both 'implant' and 'not_implant'")
    if "implant" in parts:
        implant = True
    elif "not_implant" in parts:
        implant = False
    return implant, "not_number" in parts


@lru_cache(maxsize=32)
def _load(paths: tuple[str, ...]) -> AbbreviationTable:
    from .text import fold, squash

    rules: dict[str, Rule] = {}
    for path in paths:
        try:
            handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
        except OSError as exc:
            raise ValueError(f"abbreviations file {path!r} cannot be read: {exc.strerror}") from exc
        with handle:
            lines = (line for line in handle if not line.lstrip().startswith("#"))
            reader = csv.DictReader(lines)
            missing = {"abbreviation", "expansion"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(
                    f"abbreviations file {path!r} lacks the column {sorted(missing)[0]!r} "
                    "(header: abbreviation,expansion,context)"
                )
            for line, row in enumerate(reader, start=2):
                abbreviation = squash(fold(row.get("abbreviation") or "")).replace(" ", "")
                expansion = row.get("expansion") or ""
                if not abbreviation or not expansion.strip():
                    raise ValueError(f"{path}, line {line}: abbreviation and expansion are both required")
                readings = tuple(
                    tuple(squash(fold(reading)).split()) for reading in expansion.split("|") if squash(fold(reading))
                )
                implant, not_number = _parse_context(row.get("context") or "", path, line)
                rules[abbreviation] = Rule(abbreviation, readings, implant, not_number)
    return AbbreviationTable(rules)
