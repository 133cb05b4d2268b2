"""Seeded text noise the way real feeds garble master data: typos, case, punctuation, mojibake, reordering.

Every function takes the caller's ``random.Random`` so a whole data set is reproducible from one seed.
"""

import random
import re

# Keys next to each other on a US keyboard: the substitutions people actually make.
_NEIGHBOURS = {
    "a": "qwsz",
    "b": "vghn",
    "c": "xdfv",
    "d": "serfcx",
    "e": "wsdr",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "i": "ujko",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "m": "njk",
    "n": "bhjm",
    "o": "iklp",
    "p": "ol",
    "q": "wa",
    "r": "edft",
    "s": "awedxz",
    "t": "rfgy",
    "u": "yhji",
    "v": "cfgb",
    "w": "qase",
    "x": "zsdc",
    "y": "tghu",
    "z": "asx",
}

_WORD = re.compile(r"[A-Za-z]{4,}")


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip (swap, drop, double or neighbour key) inside one alphabetic word of 4+ letters.

    Digits are never touched: a changed number is a different product, not a typo.
    """
    words = list(_WORD.finditer(text))
    if not words:
        return text
    m = rng.choice(words)
    w = m.group(0)
    i = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        w2 = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    elif kind == 1:
        w2 = w[:i] + w[i + 1 :]
    elif kind == 2:
        w2 = w[:i] + w[i] + w[i:]
    else:
        ch = w[i]
        repl = rng.choice(_NEIGHBOURS.get(ch.lower(), ch.lower()))
        w2 = w[:i] + (repl.upper() if ch.isupper() else repl) + w[i + 1 :]
    return text[: m.start()] + w2 + text[m.end() :]


def mojibake(text: str) -> str:
    """UTF-8 bytes read back as Windows-1252 (``ARROW®`` -> ``ARROWÂ®``), as a mis-declared CSV export does."""
    if text.isascii():
        return text
    try:
        return text.encode("utf-8").decode("cp1252")
    except UnicodeDecodeError:
        return text.encode("utf-8").decode("latin-1")


def punctuation_noise(text: str, rng: random.Random) -> str:
    """Commas become spaces or the reverse, periods vanish, hyphens turn into spaces."""
    choice = rng.randrange(4)
    if choice == 0:
        text = text.replace(",", " ")
    elif choice == 1:
        text = text.replace(".", "") if not re.search(r"\d\.\d", text) else text.replace(". ", " ")
    elif choice == 2:
        text = re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", " ", text)
    else:
        text = re.sub(r"\s+", ", ", text.strip(), count=1)
    return re.sub(r"\s+", " ", text).strip(" ,")


def case_noise(text: str, rng: random.Random) -> str:
    choice = rng.randrange(3)
    if choice == 0:
        return text.upper()
    if choice == 1:
        return text.lower()
    return text.title()


def swap_tokens(text: str, rng: random.Random) -> str:
    """Reorder: comma-separated segments are rotated, otherwise two words trade places."""
    if text.count(",") >= 2:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if len(parts) > 2:
            k = rng.randrange(1, len(parts))
            parts = parts[k:] + parts[:k]
            return ",".join(parts) if rng.random() < 0.5 else " ".join(parts)
    words = text.split()
    if len(words) < 3:
        return text
    i, j = sorted(rng.sample(range(len(words)), 2))
    words[i], words[j] = words[j], words[i]
    return " ".join(words)


def truncate(text: str, width: int) -> str:
    """A legacy system's fixed-width description column."""
    return text if len(text) <= width else text[:width].rstrip(" ,-/")


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def gs1_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit for a GTIN body (all but the last digit)."""
    total = 0
    for pos, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if pos % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def gtin_variant(gtin14: str, rng: random.Random) -> str:
    """The same GTIN the way different systems print it: 14 digits, 13 (EAN), 12 (UPC), GS1 (01) prefix."""
    choice = rng.random()
    if choice < 0.55:
        return gtin14
    if choice < 0.75 and gtin14.startswith("0"):
        return gtin14[1:]
    if choice < 0.88 and gtin14.startswith("00"):
        return gtin14[2:]
    if choice < 0.95:
        return f"(01){gtin14}"
    return f"{gtin14[:1]} {gtin14[1:8]} {gtin14[8:]}"
