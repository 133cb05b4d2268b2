"""Healthcare item records as different feeds carry them, built on real GUDID device descriptions.

A true entity is one trade item (one primary device identifier). Each entity appears 1..5 times, once per
feed that carries it: the manufacturer's catalogue (clean), a GPO contract file, a distributor catalogue
(abbreviated, pack strings, GTIN often absent or at case level) and a hospital ERP item master (upper case,
truncated, typos, missing fields). Hard negatives come for free from GUDID (sibling sizes such as
``TOMCAT,SCREW,ST,4.0X18`` / ``4.0X20``, one manufacturer's many part numbers) and from the variants made
beyond the 50k real devices (the same product in another size with another part number and GTIN).
"""

import csv
import json
import random
import re
from collections import defaultdict
from pathlib import Path

from bench.matching import noise

# Full word -> abbreviations seen in distributor and ERP item masters. Some collide on purpose
# (LG = large or long, ST = sterile or set or self-tapping, CS = case or cruciate-substituting).
ABBREVIATIONS = {
    "GLOVE": ["GLV"],
    "GLOVES": ["GLVS", "GLV"],
    "NITRILE": ["NTRL", "NIT"],
    "POWDER-FREE": ["PF", "P/F"],
    "POWDERFREE": ["PF"],
    "POWDERED": ["PWD"],
    "LARGE": ["LG", "L"],
    "XLARGE": ["XL", "XLG"],
    "MEDIUM": ["MED", "M"],
    "SMALL": ["SM", "S"],
    "XSMALL": ["XS"],
    "STERILE": ["STRL", "STER", "ST"],
    "NON-STERILE": ["NS", "NONSTRL", "N/S"],
    "SCREW": ["SCR"],
    "SCREWS": ["SCRS"],
    "CATHETER": ["CATH"],
    "CANNULATED": ["CANN", "CANNUL"],
    "TITANIUM": ["TI", "TITAN"],
    "DIAMETER": ["DIA"],
    "ASSEMBLY": ["ASSY"],
    "SYSTEM": ["SYS"],
    "INSERT": ["INS"],
    "PLATE": ["PLT"],
    "LOCKING": ["LCKG", "LOCK"],
    "HEAD": ["HD"],
    "SHORT": ["SHT"],
    "LONG": ["LG"],
    "NEEDLE": ["NDL"],
    "SYRINGE": ["SYR"],
    "SUTURE": ["SUT"],
    "DRESSING": ["DRSG", "DRESS"],
    "SPONGE": ["SPNG"],
    "TUBE": ["TB"],
    "TUBING": ["TBG"],
    "INTRODUCER": ["INTRO"],
    "EXAM": ["EXM"],
    "SURGICAL": ["SURG"],
    "DISPOSABLE": ["DISP"],
    "INSTRUMENT": ["INSTR"],
    "REPLACEMENT": ["REPL"],
    "ANGLED": ["ANG"],
    "STRAIGHT": ["STR", "STRT"],
    "LEFT": ["LT", "L"],
    "RIGHT": ["RT", "R"],
    "POSTERIOR": ["POST"],
    "ANTERIOR": ["ANT"],
    "FEMORAL": ["FEM"],
    "TIBIAL": ["TIB"],
    "ACETABULAR": ["ACET"],
    "CEMENTED": ["CMTD"],
    "CEMENTLESS": ["CMTLS"],
    "POLYETHYLENE": ["POLY", "PE"],
    "STAINLESS": ["SS"],
    "STANDARD": ["STD"],
    "CERVICAL": ["CERV"],
    "LUMBAR": ["LUMB"],
    "SPINAL": ["SPIN"],
    "PEDICLE": ["PED"],
    "POLYAXIAL": ["POLYAX", "PA"],
    "DRILL": ["DRL"],
    "GUIDE": ["GD"],
    "SIZE": ["SZ"],
    "WITH": ["W/"],
    "WITHOUT": ["W/O"],
    "AND": ["&"],
    "PACK": ["PK"],
    "BOX": ["BX"],
    "CASE": ["CS"],
    "EACH": ["EA"],
    "BALLOON": ["BLN"],
    "DILATATION": ["DIL"],
    "VASCULAR": ["VASC"],
    "GRAFT": ["GRFT"],
    "STENT": ["STNT"],
    "ISOLATION": ["ISOL"],
    "PROCEDURE": ["PROC"],
    "HYPODERMIC": ["HYPO"],
    "ENDOTRACHEAL": ["ET"],
    "CUFFED": ["CUFF"],
    "SILICONE": ["SIL"],
    "DISPOSABLE.": ["DISP"],
    "BORDERED": ["BDR"],
    "GAUZE": ["GZ"],
}

ORG_ABBREVIATIONS = {
    "SYSTEMS": ["SYS", "SYST"],
    "MEDICAL": ["MED", "MEDL"],
    "TECHNOLOGIES": ["TECH", "TECHNOL"],
    "TECHNOLOGY": ["TECH"],
    "ORTHOPEDICS": ["ORTHO", "ORTHOP"],
    "ORTHOPAEDICS": ["ORTHO"],
    "INTERNATIONAL": ["INTL", "INT'L"],
    "MANUFACTURING": ["MFG"],
    "LABORATORIES": ["LABS", "LAB"],
    "PRODUCTS": ["PRODS", "PROD"],
    "SERVICES": ["SVCS", "SVC"],
    "DISTRIBUTION": ["DIST", "DISTR"],
    "HEALTHCARE": ["HLTHCARE", "HC"],
    "INDUSTRIES": ["IND", "INDS"],
    "SURGICAL": ["SURG"],
    "SCIENTIFIC": ["SCI"],
    "VASCULAR": ["VASC"],
    "ASSOCIATES": ["ASSOC"],
    "SOLUTIONS": ["SOLNS", "SOL"],
    "CORPORATION": ["CORP"],
    "COMPANY": ["CO"],
    "INCORPORATED": ["INC"],
    "NORTH": ["N"],
    "AMERICA": ["AMER"],
    "AMERICAN": ["AMER"],
    "DIAGNOSTICS": ["DIAG"],
    "INSTRUMENTS": ["INSTR"],
    "DEVICES": ["DEV"],
    "SUPPLY": ["SUP", "SPLY"],
}

# Legal forms: canonical key -> the ways feeds spell them.
LEGAL_FORMS = {
    "INC": ["Inc.", "Inc", "INC", "INC.", "Incorporated"],
    "LLC": ["LLC", "L.L.C.", "Llc"],
    "LP": ["LP", "L.P."],
    "CORP": ["Corp.", "Corporation", "CORP", "Corp"],
    "CO": ["Co.", "Company", "CO"],
    "LTD": ["Ltd", "Ltd.", "LTD", "Limited"],
    "GMBH": ["GmbH", "GMBH"],
    "AG": ["AG"],
    "SA": ["S.A.", "SA"],
    "PLC": ["PLC", "plc"],
    "BV": ["B.V.", "BV"],
}
_LEGAL_LOOKUP = {}
for _key, _spellings in LEGAL_FORMS.items():
    for _s in _spellings:
        _LEGAL_LOOKUP[_s.upper().replace(".", "")] = _key


def split_legal(name: str) -> tuple[str, str | None]:
    """``"Bard Access Systems, Inc."`` -> (``"Bard Access Systems"``, ``"INC"``)."""
    core = name.strip().rstrip(",").strip()
    words = core.split()
    if len(words) >= 2:
        last = words[-1].upper().replace(".", "").strip(",")
        if last in _LEGAL_LOOKUP:
            return " ".join(words[:-1]).rstrip(",").strip(), _LEGAL_LOOKUP[last]
    return core, None


def abbreviate(text: str, table: dict, rng: random.Random, p: float) -> str:
    out = []
    for word in text.split(" "):
        key = word.upper().strip(",;")
        if key in table and rng.random() < p:
            abbr = rng.choice(table[key])
            out.append(abbr + ("," if word.endswith(",") else ""))
        else:
            out.append(word)
    return " ".join(out)


def org_variant(name: str, rng: random.Random, *, abbreviate_p: float, suffix_keep: float, upper: bool) -> str:
    """The same organisation name another way: legal suffix spelt or dropped, words abbreviated, case."""
    core, legal = split_legal(name)
    if rng.random() < 0.3:
        core = core.replace(" & ", " and ") if " & " in core else core.replace(" and ", " & ")
    core = abbreviate(core.upper() if upper else core, ORG_ABBREVIATIONS, rng, abbreviate_p)
    if legal and rng.random() < suffix_keep:
        spelt = rng.choice(LEGAL_FORMS[legal])
        core = f"{core}{',' if rng.random() < 0.4 else ''} {spelt}"
    return core.upper() if upper else core


_DIMS = re.compile(r"(\d+(?:\.\d+)?)\s*(MM|CM|IN|FR|mm|cm|in|Fr)?\s*[xX]\s*(\d+(?:\.\d+)?)\s*(MM|CM|IN|mm|cm|in)?")


def reformat_dimensions(text: str, rng: random.Random) -> str:
    """``5.5X30MM`` -> ``5.5 x 30 mm`` / ``5.5MM X 30MM`` / ``5.5X30``: the same sizes, printed differently."""
    style = rng.randrange(3)

    def repl(m):
        a, ua, b, ub = m.group(1), m.group(2) or "", m.group(3), m.group(4) or ""
        unit = ub or ua
        if style == 0:
            return f"{a} x {b} {unit.lower()}".rstrip()
        if style == 1 and unit:
            return f"{a}{unit.upper()} X {b}{unit.upper()}"
        return f"{a}X{b}{unit.upper()}"

    return _DIMS.sub(repl, text)


def gtin_from(prefix_body: str, item_ref: int, indicator: str = "0") -> str:
    """A GTIN-14 with the given company prefix (digits 2..8) and item reference, with its check digit."""
    body = indicator + prefix_body[1:8] + f"{item_ref % 100000:05d}"
    return body + noise.gs1_check_digit(body)


def package_gtin(gtin14: str, indicator: int) -> str:
    body = str(indicator) + gtin14[1:13]
    return body + noise.gs1_check_digit(body)


# --- the real devices ---------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def load_gudid(devices_csv: Path, identifiers_csv: Path | None = None) -> list[dict]:
    """Read GUDID devices (the shared sample or the demo sample, which carries its packages as JSON)."""
    packages: dict[str, list[tuple[str, int]]] = defaultdict(list)
    if identifiers_csv and identifiers_csv.exists():
        contains: dict[str, dict[str, tuple[str, int]]] = defaultdict(dict)
        with identifiers_csv.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["device_id_type"] == "Package" and row["pkg_quantity"]:
                    contains[row["primary_di"]][row["contains_di_number"]] = (
                        row["device_id"],
                        int(row["pkg_quantity"]),
                    )
        for primary, by_inner in contains.items():
            inner, total, seen = primary, 1, set()
            while inner in by_inner and inner not in seen:
                seen.add(inner)
                di, qty = by_inner[inner]
                total *= qty
                packages[primary].append((di, total))
                inner = di
    devices = []
    with devices_csv.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # A catalogue number some labelers repeat over a whole product line (Lenstec: "SOFTEC I" on every
    # diopter) is no part number; the model number is.
    catalog_uses = defaultdict(int)
    for row in rows:
        catalog_uses[(row["company_name"], _clean(row["catalog_number"]).upper())] += 1
    if rows:
        for row in rows:
            di = row["primary_di"].strip()
            if len(di) != 14 or not di.isdigit():
                continue
            pk = packages.get(di, [])
            if "packages" in row and row["packages"]:
                total, pk = 1, []
                for level in json.loads(row["packages"]):
                    total *= int(level.get("quantity") or 1)
                    pk.append((level["di"], total))
            brand = _clean(row["brand_name"])
            desc = _clean(row["device_description"])
            gmdn = _clean(row["gmdn_pt_names"].split("|")[0])
            if not desc:
                # Feeds never leave the description blank: they fall back to brand + device type.
                desc = " ".join(x for x in (brand if brand.upper() not in ("N/A", "NA") else "", gmdn) if x)
            catalog = _clean(row["catalog_number"])
            model = _clean(row["version_model_number"])
            if catalog and model and catalog_uses[(row["company_name"], catalog.upper())] > 1:
                catalog, model = model, ""
            devices.append(
                {
                    "description": desc,
                    "brand": brand,
                    "manufacturer": _clean(row["company_name"]),
                    "part_number": catalog or model,
                    "alt_part_number": model if catalog and model and model != catalog else "",
                    "gtin": di,
                    "packages": pk,
                    "category": gmdn,
                    "device_count": int(row["device_count"] or 1) if (row["device_count"] or "1").isdigit() else 1,
                    "family": f"{row['company_name']}|{brand}",
                }
            )
    return _distinguish_kits(devices)


def _distinguish_kits(devices: list[dict]) -> list[dict]:
    """Catalogues print the part number after a description that many of a maker's products share.

    GUDID has thousands of custom packs and kits under one text (``PERFUSION PACK ...`` 2,002 times,
    ``Catheter Placement Kit`` 495 times); no catalogue lists them that way. Up to three products may share
    a text (a real hard case, told apart only by part number or GTIN); beyond that the part number joins it.
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for d in devices:
        groups[(d["manufacturer"], d["description"].upper())].append(d)
    for members in groups.values():
        if len(members) > 3:
            for d in members:
                d["description"] = f"{d['description']} {d['part_number']}".strip()
                d["pn_in_description"] = True
    # What still looks the same (Sorin's 2,001 packs all have model number "Perfusion Pack") differs only
    # by GTIN in GUDID itself: keep three of each.
    kept, seen = [], defaultdict(int)
    for d in sorted(devices, key=lambda d: d["gtin"]):
        key = (d["manufacturer"], d["description"].upper(), d["part_number"].upper())
        seen[key] += 1
        if seen[key] <= 3:
            kept.append(d)
    return kept


# --- med-surg consumables: the abbreviation-heavy siblings GUDID's implant-rich sample lacks ---------------

CONSUMABLE_MAKERS = [
    ("Medline Industries, Inc.", "0080196", "MDS"),
    ("Cardinal Health 200, LLC", "0088846", "CAH"),
    ("McKesson Medical-Surgical Inc.", "0061233", "MCK"),
    ("Halyard Health, Inc.", "0068078", "HYH"),
    ("Becton, Dickinson and Company", "0038290", "BD"),
    ("Covidien LP", "0088442", "COV"),
    ("Ansell Healthcare Products LLC", "0073368", "ANS"),
    ("Dynarex Corporation", "0061655", "DYN"),
]

CONSUMABLE_TEMPLATES = [
    (
        "GLOVE EXAM NITRILE POWDER-FREE {0}",
        [["XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE"]],
        "Examination glove, nitrile",
        (100, 10),
    ),
    ("GLOVE EXAM VINYL POWDERED {0}", [["SMALL", "MEDIUM", "LARGE", "XLARGE"]], "Examination glove, vinyl", (100, 10)),
    (
        "GLOVE SURGICAL LATEX STERILE POWDER-FREE SIZE {0}",
        [["6", "6.5", "7", "7.5", "8", "8.5", "9"]],
        "Surgical glove, latex",
        (50, 4),
    ),
    ("SPONGE GAUZE {0} {1}PLY STERILE", [["2X2", "3X3", "4X4"], ["8", "12", "16"]], "Gauze pad", (50, 24)),
    ("SYRINGE LUER LOCK {0}ML", [["1", "3", "5", "10", "20", "30", "60"]], "General-purpose syringe", (100, 8)),
    (
        "NEEDLE HYPODERMIC {0}G X {1}IN",
        [["18", "20", "21", "22", "23", "25", "27", "30"], ["1/2", "5/8", "1", "1 1/2"]],
        "Hypodermic needle, single-use",
        (100, 10),
    ),
    (
        "CATHETER IV SAFETY {0}G X {1}IN",
        [["14", "16", "18", "20", "22", "24"], ["1", "1.16", "1.25"]],
        "Peripheral intravenous catheter",
        (50, 4),
    ),
    (
        "DRESSING FOAM BORDERED {0}IN",
        [["2X2", "3X3", "4X4", "6X6"]],
        "Foam dressing, non-medicated",
        (10, 10),
    ),
    ("GOWN ISOLATION YELLOW {0}", [["REGULAR", "LARGE", "XLARGE"]], "Isolation gown, single-use", (10, 10)),
    ("MASK FACE PROCEDURE EARLOOP {0}", [["BLUE", "YELLOW", "WHITE"]], "Surgical face mask", (50, 10)),
    (
        "SUTURE NYLON {0} {1}IN {2}",
        [["2-0", "3-0", "4-0", "5-0"], ["18", "30"], ["FS-1", "FS-2", "PS-2"]],
        "Nylon suture",
        (12, 3),
    ),
    (
        "TUBE ENDOTRACHEAL CUFFED {0}MM",
        [["6.0", "6.5", "7.0", "7.5", "8.0", "8.5"]],
        "Basic endotracheal tube, single-use",
        (10, 2),
    ),
    (
        "CATHETER FOLEY 2-WAY SILICONE {0}FR {1}ML",
        [["12", "14", "16", "18", "20", "22"], ["5", "10", "30"]],
        "Indwelling urethral drainage catheter",
        (10, 2),
    ),
]


def consumables() -> list[dict]:
    """Every template in every size from every maker: a few thousand distinct med-surg items."""
    out = []
    for t_index, (pattern, axes, category, (per_box, per_case)) in enumerate(CONSUMABLE_TEMPLATES):
        combos = [[]]
        for axis in axes:
            combos = [c + [v] for c in combos for v in axis]
        for m_index, (maker, prefix, code) in enumerate(CONSUMABLE_MAKERS):
            for c_index, combo in enumerate(combos):
                ref = t_index * 1000 + c_index + 1
                gtin = gtin_from(prefix, ref * 7 + m_index)
                out.append(
                    {
                        "description": pattern.format(*combo),
                        "brand": "",
                        "manufacturer": maker,
                        "part_number": f"{code}{t_index + 1:02d}{c_index + 1:03d}{'-' + str(per_box) if m_index % 2 else ''}",
                        "alt_part_number": "",
                        "gtin": gtin,
                        "packages": [(package_gtin(gtin, 1), per_box), (package_gtin(gtin, 3), per_box * per_case)],
                        "category": category,
                        "device_count": 1,
                        "family": f"{maker}|{pattern}",
                    }
                )
    return out


# --- distinct entities beyond the real ones ------------------------------------------------------------

_NUMBER = re.compile(r"(?<![A-Za-z])(\d+(?:\.\d+)?)")
_NO_NUMBER_SUFFIXES = ["LEFT", "RIGHT", "SHORT", "LONG", "BLUE", "WHITE", "PEDIATRIC", "XL", "MINI"]


def _step(value: str, v: int) -> str:
    if "." in value:
        decimals = len(value.split(".")[1])
        return f"{float(value) + 0.5 * v:.{decimals}f}"
    n = int(value)
    return str(n + (2 if n >= 10 else 1) * v)


def make_variant(base: dict, v: int, used_gtins: set, used_parts: set) -> dict:
    """The same product in another size: one number in the description moves, part number and GTIN change."""
    desc = base["description"]
    if base.get("pn_in_description"):
        desc = desc[: -len(base["part_number"])].rstrip() if base["part_number"] else desc
    numbers = list(_NUMBER.finditer(desc))
    if numbers:
        m = numbers[(v - 1) % len(numbers)] if len(numbers) > 1 else numbers[0]
        desc = desc[: m.start()] + _step(m.group(1), v) + desc[m.end() :]
    else:
        desc = f"{desc} {_NO_NUMBER_SUFFIXES[(v - 1) % len(_NO_NUMBER_SUFFIXES)]}"
        if v > len(_NO_NUMBER_SUFFIXES):
            desc += f" {v // len(_NO_NUMBER_SUFFIXES) + 1}"
    pn = base["part_number"]
    runs = list(re.finditer(r"\d+", pn))
    if runs:
        r = runs[-1]
        width = len(r.group(0))
        pn = pn[: r.start()] + f"{int(r.group(0)) + v:0{width}d}" + pn[r.end() :]
    else:
        pn = f"{pn}-{v:02d}"
    # Never reuse a part number the maker already has: that would be the same product, not a sibling.
    while (base["manufacturer"], pn) in used_parts:
        pn = f"{pn}V"
    used_parts.add((base["manufacturer"], pn))
    if base.get("pn_in_description"):
        desc = f"{desc} {pn}"
    ref = int(base["gtin"][8:13]) + v * 7919
    gtin = gtin_from(base["gtin"], ref)
    while gtin in used_gtins:
        ref += 1
        gtin = gtin_from(base["gtin"], ref)
    used_gtins.add(gtin)
    return {
        **base,
        "description": desc,
        "part_number": pn,
        "alt_part_number": "",
        "gtin": gtin,
        "packages": [(package_gtin(gtin, i + 1), qty) for i, (_, qty) in enumerate(base["packages"])],
    }


def entity_pool(devices: list[dict], rng: random.Random):
    """Yield distinct entities: the real devices in shuffled runs of siblings, then sized variants of them.

    Siblings stay together (runs of at most 40 neighbouring catalogue entries of one product family), so
    even a 10k sample keeps its hard negatives.
    """
    by_family: dict[str, list[dict]] = defaultdict(list)
    for d in devices:
        by_family[d["family"]].append(d)
    units = []
    for family in sorted(by_family):
        members = sorted(by_family[family], key=lambda d: (d["description"], d["part_number"], d["gtin"]))
        for start in range(0, len(members), 40):
            units.append(members[start : start + 40])
    rng.shuffle(units)
    bases = [d for unit in units for d in unit]
    used = {d["gtin"] for d in bases}
    used_parts = {(d["manufacturer"], d["part_number"]) for d in bases}
    seen = set()
    for d in bases:
        if d["gtin"] in seen:
            continue
        seen.add(d["gtin"])
        yield d
    v = 1
    while True:
        for d in bases:
            yield make_variant(d, v, used, used_parts)
        v += 1


# --- one entity as one feed carries it ------------------------------------------------------------------

FEEDS = ["manufacturer", "gpo", "distributor", "erp"]
FEED_WEIGHTS = [0.25, 0.2, 0.3, 0.25]


def _pack(entity: dict, rng: random.Random, feed: str) -> str:
    levels = [("EA", 1)]
    if entity["device_count"] > 1:
        levels = [("BX", entity["device_count"])]
    names = ["BX", "CS", "PL"]
    levels += [(names[min(i, 2)], qty) for i, (_, qty) in enumerate(entity["packages"])]
    unit, qty = rng.choice(levels)
    if qty == 1:
        return rng.choice(["EA", "EACH", "1/EA", "EA"])
    if feed == "distributor" and len(levels) > 2 and unit == "CS":
        inner = levels[1][1]
        return f"CS {qty // max(inner, 1)}BX/{inner}EA"
    return rng.choice(
        [f"{unit}/{qty}", f"{qty}/{unit}", f"{unit} {qty}", f"{'BOX' if unit == 'BX' else unit} OF {qty}"]
    )


def _part_number(entity: dict, rng: random.Random, feed: str) -> str:
    pn = entity["part_number"]
    if feed != "manufacturer" and entity["alt_part_number"] and rng.random() < 0.1:
        pn = entity["alt_part_number"]
    r = rng.random()
    if feed == "manufacturer" or r < 0.5:
        out = pn
    elif r < 0.8:
        out = re.sub(r"[-./ ]", "", pn)
    elif r < 0.9:
        out = pn.replace("-", " ")
    elif r < 0.95:
        out = pn.lower()
    else:
        out = pn.replace("-", ".")
    if feed == "erp" and rng.random() < 0.015 and len(out) > 3:
        i = rng.randrange(len(out) - 1)
        out = out[:i] + out[i + 1] + out[i] + out[i + 2 :]
    return out


def _gtins(entity: dict, rng: random.Random, feed: str) -> str:
    present = {"manufacturer": 0.95, "gpo": 0.75, "distributor": 0.4, "erp": 0.2}[feed]
    if rng.random() >= present:
        return ""
    pk = [g for g, _ in entity["packages"]]
    if feed == "manufacturer":
        values = [entity["gtin"]] + (pk if pk and rng.random() < 0.5 else [])
        return "|".join(values)
    if pk and rng.random() < {"gpo": 0.2, "distributor": 0.35, "erp": 0.0}[feed]:
        return noise.gtin_variant(rng.choice(pk), rng)
    return noise.gtin_variant(entity["gtin"], rng)


def _description(entity: dict, rng: random.Random, feed: str) -> str:
    desc = entity["description"]
    brand = entity["brand"]
    if feed == "manufacturer":
        if brand and brand.upper() not in ("N/A", "NA") and brand.upper() not in desc.upper() and rng.random() < 0.25:
            desc = f"{brand} {desc}"
        return desc
    if feed == "gpo":
        desc = rng.choice([desc, desc.upper(), desc.upper(), desc.title()])
        if rng.random() < 0.3:
            desc = abbreviate(desc.upper(), ABBREVIATIONS, rng, 0.4)
        if rng.random() < 0.3:
            desc = reformat_dimensions(desc, rng)
        if rng.random() < 0.05:
            desc = noise.typo(desc, rng)
        return desc
    desc = desc.upper()
    if rng.random() < 0.5:
        desc = desc.replace("®", "" if rng.random() < 0.7 else "(R)").replace("™", "" if rng.random() < 0.7 else "(TM)")
    p_abbr, p_reorder, p_typo, p_punct = (0.7, 0.3, 0.15, 0.3) if feed == "distributor" else (0.6, 0.4, 0.25, 0.4)
    desc = abbreviate(desc, ABBREVIATIONS, rng, p_abbr)
    if rng.random() < 0.5:
        desc = reformat_dimensions(desc, rng)
    if rng.random() < p_reorder:
        desc = noise.swap_tokens(desc, rng)
    if rng.random() < p_punct:
        desc = noise.punctuation_noise(desc, rng)
    if rng.random() < p_typo:
        desc = noise.typo(desc, rng)
    if feed == "erp" and rng.random() < 0.5:
        desc = noise.truncate(desc, 40)
    if rng.random() < 0.15:
        desc = noise.mojibake(desc)
    return desc


def _manufacturer(entity: dict, rng: random.Random, feed: str) -> str:
    name = entity["manufacturer"]
    if feed == "manufacturer":
        return name
    if feed == "gpo":
        return org_variant(name, rng, abbreviate_p=0.1, suffix_keep=0.8, upper=rng.random() < 0.5)
    if feed == "erp" and rng.random() < 0.15:
        return ""
    out = org_variant(name, rng, abbreviate_p=0.5, suffix_keep=0.4, upper=True)
    if feed == "erp" and rng.random() < 0.3:
        out = noise.truncate(out, 24)
    if rng.random() < 0.08:
        out = noise.typo(out, rng)
    if rng.random() < 0.1:
        out = noise.mojibake(out)
    return out


def _category(entity: dict, rng: random.Random, feed: str) -> str:
    present = {"manufacturer": 0.85, "gpo": 0.5, "distributor": 0.25, "erp": 0.1}[feed]
    if not entity["category"] or rng.random() >= present:
        return ""
    return entity["category"].upper() if feed in ("distributor", "erp") else entity["category"]


ITEM_COLUMNS = ["id", "description", "manufacturer", "part_number", "gtin", "category", "pack"]


def render(entity: dict, feed: str, rng: random.Random) -> tuple:
    """One record of ``entity`` as ``feed`` carries it (without its id): ITEM_COLUMNS[1:]."""
    pn = _part_number(entity, rng, feed)
    if feed != "manufacturer" and rng.random() < {"gpo": 0.05, "distributor": 0.08, "erp": 0.12}[feed]:
        pn = ""
    return (
        _description(entity, rng, feed),
        _manufacturer(entity, rng, feed),
        pn,
        _gtins(entity, rng, feed),
        _category(entity, rng, feed),
        _pack(entity, rng, feed),
    )
