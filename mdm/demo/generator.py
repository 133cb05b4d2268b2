"""Deterministic demo feeds built from real FDA GUDID devices: an Odoo export, a distributor catalog, a GPO price file.

Pure Python (no ORM, no settings): ``generate(seed)`` reads the shipped sample
``mdm/data/gudid_demo_sample.csv`` and returns, per source system, the records to ingest in load order,
each as ``(entity_type, external_id, payload)`` with payloads in the shapes of docs/ingest-payloads.md.

The devices, labelers, descriptions, catalogue numbers, device identifiers and package levels are real
(GUDID, CC0). Everything a GUDID extract does not hold is generated and fictional: company identifiers
(valid check digits, not real registrations), addresses, contacts, bank accounts, prices, contracts,
the distributor's and the GPO's names. The same seed always gives the same output: every random draw
comes from ``random.Random`` instances seeded from ``seed``, and all dates are fixed.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from stdnum import ean, iban, vatin
from stdnum.us import ein as us_ein
from stdnum.us import rtn

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "gudid_demo_sample.csv"
ENTITY_ORDER = ("unit", "supplier", "item", "contract", "contract_price")

ODOO = "odoo-prod"
DISTRIBUTOR = "distributor-catalog"
GPO = "gpo-prices"

DISTRIBUTOR_NAME = "Keystone Medical Supply"  # fictional
GPO_NAME = "Vantage Health Purchasing Alliance"  # fictional
LOCAL_FACILITIES = ("St. Mary's Hospital", "North Campus", "")  # "": group-wide (every facility)
GPO_PREFIX = "VHPA"


# --------------------------------------------------------------------------------------------------
# Result types


class DemoRecord(NamedTuple):
    entity_type: str
    external_id: str
    payload: dict


@dataclass(frozen=True)
class SourceFeed:
    """One source system's records, in load order (units, suppliers, items, contracts, contract prices)."""

    name: str
    kind: str
    trust_rank: int
    description: str
    records: list[DemoRecord] = field(default_factory=list)
    invalid: frozenset[tuple[str, str]] = frozenset()
    """(entity_type, external_id) of the records this feed sends knowingly broken: ingest must reject them."""

    def of(self, entity_type: str) -> list[DemoRecord]:
        return [r for r in self.records if r.entity_type == entity_type]

    def counts(self) -> dict[str, int]:
        counts = Counter(r.entity_type for r in self.records)
        return {entity: counts[entity] for entity in ENTITY_ORDER if counts[entity]}


@dataclass(frozen=True)
class DemoData:
    seed: int
    feeds: list[SourceFeed]

    def feed(self, name: str) -> SourceFeed:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        raise KeyError(name)

    def records(self, name: str) -> list[tuple[str, str, dict]]:
        """``(entity_type, external_id, payload)`` for one source system, in load order."""
        return [tuple(r) for r in self.feed(name).records]

    def counts(self) -> dict[str, dict[str, int]]:
        return {feed.name: feed.counts() for feed in self.feeds}


# --------------------------------------------------------------------------------------------------
# The shipped GUDID sample


@dataclass(frozen=True)
class Device:
    primary_di: str
    brand_name: str
    version_model_number: str
    catalog_number: str
    company_name: str
    device_count: int
    device_description: str
    in_distribution: bool
    is_kit: bool
    gmdn: tuple[str, ...]
    product_codes: tuple[str, ...]
    packages: tuple[tuple[str, str, int], ...]
    """Package levels from the innermost outwards: (di, contained di, quantity)."""


@lru_cache(maxsize=4)
def load_devices(path: Path = SAMPLE_PATH) -> tuple[Device, ...]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return tuple(
        Device(
            primary_di=row["primary_di"],
            brand_name=row["brand_name"],
            version_model_number=row["version_model_number"],
            catalog_number=row["catalog_number"],
            company_name=row["company_name"],
            device_count=int(row["device_count"] or 1),
            device_description=row["device_description"],
            in_distribution=row["commercial_distribution_status"] == "In Commercial Distribution",
            is_kit=row["is_kit"] == "true",
            gmdn=tuple(t for t in row["gmdn_pt_names"].split("|") if t),
            product_codes=tuple(t for t in row["fda_product_codes"].split("|") if t),
            packages=tuple((p["di"], p["contains"], int(p["quantity"])) for p in json.loads(row["packages"] or "[]")),
        )
        for row in rows
    )


def select_devices(devices: tuple[Device, ...], count: int | None, rng: random.Random) -> list[Device]:
    """``count`` devices (all when None), a mix of packaging hierarchies spread over the labelers, in file order."""
    if count is None or count >= len(devices):
        return list(devices)
    multi = [d for d in devices if len(d.packages) >= 2]
    other = [d for d in devices if len(d.packages) < 2]

    def round_robin(pool: list[Device]) -> list[Device]:
        by_labeler: dict[str, list[Device]] = defaultdict(list)
        for device in pool:
            by_labeler[device.company_name].append(device)
        labelers = sorted(by_labeler)
        rng.shuffle(labelers)
        for name in labelers:
            rng.shuffle(by_labeler[name])
        ordered = []
        depth = 0
        while len(ordered) < len(pool):
            for name in labelers:
                if depth < len(by_labeler[name]):
                    ordered.append(by_labeler[name][depth])
            depth += 1
        return ordered

    n_multi = min(len(multi), max(math.ceil(count * 0.35), count - len(other)))
    chosen = round_robin(multi)[:n_multi] + round_robin(other)[: count - n_multi]
    keep = {d.primary_di for d in chosen}
    return [d for d in devices if d.primary_di in keep]


# --------------------------------------------------------------------------------------------------
# Text clean-up and classification heuristics


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252 (``ARROWÂ®`` -> ``ARROW®``) when that is what happened."""
    if not any(marker in text for marker in ("Â", "Ã", "â€")):
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text.replace("Â", "")


def squash(text: str) -> str:
    return " ".join(str(text).split())


def clean_text(text: str) -> str:
    return squash(fix_mojibake(text))


def _gmdn_text(device: Device) -> str:
    return " | ".join(device.gmdn).lower()


_LAB = ("ivd", "reagent", "calibrator", "assay", "control material", "specimen", "culture medi", "analyser")
_INSTRUMENT = (
    "instrument",
    "drill",
    "screwdriver",
    "inserter",
    "impactor",
    "drill guide",
    "reamer",
    "rasp",
    "forceps",
    "retractor",
    "implantation kit",
    "sterilization container",
    "cannula, reusable",
    "trial",
    "tray",
)
_EQUIPMENT = (
    "external defibrillator",
    "defibrillation system",
    "ventilator",
    "monitor",
    "oxygen therapy system",
    "gas mixer",
    "electromagnetic stimulator",
    "electrosurgical",
    "ultrasound",
    "x-ray",
    "imaging system",
    "remote-afterloading",
    "infusion pump",
    "console",
    "generator",
    "anaesthesia unit",
    "programmer",
    "unit, mobile",
    "hospital bed",
    "wheelchair",
)
_IMPLANT = (
    "prosthesis",
    "implant",
    "screw",
    "plate",
    "cage",
    "stent",
    "graft",
    "nail",
    "spinal fixation",
    "anchor",
    "coil",
    "occluder",
    "intraocular lens",
    "mesh",
    "bone matrix",
    "staple",
    "patch",
    "pacemaker",
    "tympanostomy tube",
    "brachytherapy source",
    "liner",
    "tibial insert",
    "femoral head",
    "acetabular shell",
    "heart valve",
    "bone wire",
    "bone pin",
    "remodelling bar",
    "vascular port",
    "head bipolar",
    "knee stem",
    "wedge",
    "marker",
    "tissue expander",
    "ossicular",
    "reconstructive material",
    "circulatory assist",
)


def item_type_for(device: Device) -> str:
    """med_surg / implant / lab / equipment from the GMDN terms (and the description when GMDN is empty)."""
    text = _gmdn_text(device) or clean_text(device.device_description).lower()
    if any(word in text for word in _LAB):
        return "lab"
    if any(word in text for word in _INSTRUMENT) or "reusable" in text and "fixation" not in text:
        return "med_surg"
    if "implantable" in text and "nonimplantable" not in text and "non-implantable" not in text:
        return "implant"
    if any(word in text for word in _EQUIPMENT):
        return "equipment"
    if any(word in text for word in _IMPLANT):
        return "implant"
    return "med_surg"


# A small heuristic UNSPSC table (family or class level, segment 42 medical / 41 laboratory): first match wins.
# It is a demo classification, not an authoritative mapping.
UNSPSC_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("ivd", "reagent", "calibrator", "assay"), "41116100"),
    (("suture",), "42312200"),
    (("mesh",), "42310000"),
    (("dental",), "42150000"),
    (("haemodialysis", "hemodialysis", "dialysis"), "42160000"),
    (("catheter", "cannula", "administration set", "introduction kit", "guidewire"), "42221500"),
    (("defibrillat", "circulatory assist"), "42170000"),
    (("tracheostomy", "oxygen", "breathing", "ventilat", "airway"), "42270000"),
    (("brachytherapy",), "42200000"),
    (("sterilization container",), "42280000"),
    (("intraocular lens",), "42140000"),
    (("spinal", "vertebral", "interbody"), "42321600"),
    (("knee", "hip", "shoulder", "ankle", "elbow", "acetabular", "femoral", "tibia", "patella", "humeral"), "42321900"),
    (("bone screw", "fixation plate", "nail", "staple", "bone wire", "bone pin", "fixation system"), "42321500"),
    (("stent", "graft", "coil", "occluder", "vascular"), "42220000"),
    (("prosthesis", "implant", "reconstructive"), "42320000"),
    (("drill", "screwdriver", "instrument", "guide", "reamer"), "42290000"),
)


def unspsc_for(device: Device, item_type: str) -> str:
    text = _gmdn_text(device) or clean_text(device.device_description).lower()
    for words, code in UNSPSC_RULES:
        if any(word in text for word in words):
            return code
    return {"implant": "42320000", "equipment": "42180000", "lab": "41116100"}.get(item_type, "42140000")


def clinical_flags(device: Device, item_type: str) -> dict:
    text = f"{_gmdn_text(device)} {clean_text(device.device_description).lower()}"
    sterile = None
    if re.search(r"non[- ]?sterile", text):
        sterile = False
    elif re.search(r"\bsterile\b", text):
        sterile = True
    single_use = None
    if "single-use" in text or "single use" in text or "disposable" in text:
        single_use = True
    elif "reusable" in text:
        single_use = False
    implantable = {"implant": True, "equipment": False, "lab": False}.get(item_type)
    return {
        "sterile": sterile,
        "latex_free": None,  # not in the GUDID extract: unknown, not "no"
        "single_use": single_use,
        "implantable": implantable,
        "prescription": True if item_type == "implant" else None,
    }


def item_description(device: Device) -> str:
    description = clean_text(device.device_description)
    if description:
        return description
    brand = clean_text(device.brand_name)
    if brand.upper() in ("N/A", "NA"):
        brand = ""
    parts = [brand, device.gmdn[0] if device.gmdn else "", clean_text(device.version_model_number)]
    return squash(" ".join(p for p in parts if p)) or f"Device {device.primary_di}"


def part_number(device: Device) -> str:
    return clean_text(device.catalog_number) or clean_text(device.version_model_number)


# --------------------------------------------------------------------------------------------------
# Identifiers with valid check digits (generated, fictional)


def gtin_check(body: str) -> str:
    return body + ean.calc_check_digit(body)


def corrupt_check_digit(gtin: str) -> str:
    """The same GTIN with a wrong check digit (a realistic keying error)."""
    return gtin[:-1] + str((int(gtin[-1]) + 3) % 10)


def _until_valid(make, is_valid, tries: int = 5000) -> str:
    for _ in range(tries):
        candidate = make()
        if is_valid(candidate):
            return candidate
    raise RuntimeError("could not generate a valid identifier")  # pragma: no cover


def _digits(rng: random.Random, n: int, first_nonzero: bool = False) -> str:
    digits = [str(rng.randrange(10)) for _ in range(n)]
    if first_nonzero and n:
        digits[0] = str(rng.randrange(1, 10))
    return "".join(digits)


def make_ein(rng: random.Random) -> str:
    prefixes = ("04", "13", "20", "22", "23", "26", "27", "35", "36", "38", "41", "45", "46", "52", "56", "59", "61")
    prefixes += ("62", "74", "75", "76", "77", "81", "82", "84", "86", "87", "88", "91", "93", "94", "95", "98")
    return _until_valid(lambda: f"{rng.choice(prefixes)}-{_digits(rng, 7)}", us_ein.is_valid)


def make_aba(rng: random.Random) -> str:
    district = rng.choice([f"{n:02d}" for n in (*range(1, 13), *range(21, 33))])
    body = district + _digits(rng, 6)
    return body + rtn.calc_check_digit(body)


_VAT_BODIES = {
    "DE": lambda rng: "DE" + _digits(rng, 9, first_nonzero=True),
    "NL": lambda rng: "NL" + _digits(rng, 9, first_nonzero=True) + "B01",
    "BE": lambda rng: "BE0" + _digits(rng, 9, first_nonzero=True),
    "IE": lambda rng: "IE" + _digits(rng, 7, first_nonzero=True) + rng.choice("ABCDEFGHIJKLMNOPQRSTUVW"),
    "DK": lambda rng: "DK" + _digits(rng, 8, first_nonzero=True),
    "FR": lambda rng: "FR" + _digits(rng, 11),
    "CH": lambda rng: "CHE" + _digits(rng, 9, first_nonzero=True) + "MWST",
}


def make_vat(rng: random.Random, country: str) -> str:
    return _until_valid(lambda: _VAT_BODIES[country](rng), vatin.is_valid)


_BBAN = {
    "DE": lambda rng: _digits(rng, 8, first_nonzero=True) + _digits(rng, 10),
    "NL": lambda rng: rng.choice(["KNHB", "RHBK", "NRDB"]) + _digits(rng, 10),
    "BE": lambda rng: _digits(rng, 12),
    "IE": lambda rng: rng.choice(["LNST", "MNSB"]) + _digits(rng, 6) + _digits(rng, 8),
    "DK": lambda rng: _digits(rng, 14),
    "FR": lambda rng: _digits(rng, 10) + _digits(rng, 11) + _digits(rng, 2),
    "CH": lambda rng: _digits(rng, 5) + _digits(rng, 12),
}


def make_iban(rng: random.Random, country: str) -> str:
    def make() -> str:
        bban = _BBAN[country](rng)
        return country + iban.calc_check_digits(country + "00" + bban) + bban

    return _until_valid(make, iban.is_valid)


_UEI_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def make_uei(rng: random.Random) -> str:
    first = rng.choice(_UEI_CHARS[:-10] + "123456789")
    return first + "".join(rng.choice(_UEI_CHARS) for _ in range(11))


# --------------------------------------------------------------------------------------------------
# Companies (one per GUDID labeler)

_US_PLACES = (
    ("Bloomington", "IN", "47404"),
    ("Warsaw", "IN", "46580"),
    ("Memphis", "TN", "38132"),
    ("Minneapolis", "MN", "55432"),
    ("Plymouth", "MN", "55441"),
    ("Salt Lake City", "UT", "84116"),
    ("Flagstaff", "AZ", "86004"),
    ("Tempe", "AZ", "85281"),
    ("Mansfield", "MA", "02048"),
    ("Marlborough", "MA", "01752"),
    ("Jacksonville", "FL", "32218"),
    ("Largo", "FL", "33773"),
    ("Arvada", "CO", "80004"),
    ("Boulder", "CO", "80301"),
    ("Morrisville", "NC", "27560"),
    ("Wayne", "PA", "19087"),
    ("Exton", "PA", "19341"),
    ("Pittsburgh", "PA", "15212"),
    ("Irvine", "CA", "92618"),
    ("San Diego", "CA", "92121"),
    ("Carlsbad", "CA", "92008"),
    ("Austin", "TX", "78758"),
    ("Franklin Lakes", "NJ", "07417"),
    ("Mundelein", "IL", "60060"),
    ("Northfield", "IL", "60093"),
    ("Kalamazoo", "MI", "49002"),
    ("Redmond", "WA", "98052"),
    ("Covington", "GA", "30014"),
    ("Alpharetta", "GA", "30005"),
    ("Cleveland", "OH", "44114"),
)
_LOCKBOXES = (
    ("Chicago", "IL", "60693"),
    ("Atlanta", "GA", "30384"),
    ("Dallas", "TX", "75284"),
    ("Pittsburgh", "PA", "15264"),
    ("Los Angeles", "CA", "90074"),
    ("Charlotte", "NC", "28260"),
)
_STREETS = (
    "Commerce Parkway",
    "Technology Drive",
    "Corporate Boulevard",
    "Research Way",
    "Industrial Avenue",
    "Lakeview Road",
    "Innovation Court",
    "Medical Center Drive",
    "Enterprise Street",
    "Summit Avenue",
)
_EU_PLACES = {
    "DE": (("Frankfurt am Main", "60311"), ("Karlsruhe", "76131"), ("Hamburg", "20095")),
    "NL": (("Utrecht", "3511 AA"), ("Eindhoven", "5611 AB")),
    "BE": (("Brussels", "1000"), ("Mechelen", "2800")),
    "IE": (("Limerick", "V94 X2N1"), ("Galway", "H91 T8NW")),
    "DK": (("Bjaeverskov", "4632"), ("Copenhagen", "1050")),
    "FR": (("Lyon", "69002"), ("Paris", "75008")),
    "CH": (("Lugano", "6900"), ("Root", "6039")),
    "TR": (("Istanbul", "34394"),),
    "BB": (("Christ Church", "BB17000"),),
}
_EU_BANKS = {
    "DE": "Rheinland Handelsbank AG",
    "NL": "Noord Handelsbank N.V.",
    "BE": "Banque du Brabant SA",
    "IE": "Bank of Leinster plc",
    "DK": "Sjaelland Erhvervsbank A/S",
    "FR": "Banque du Rhone SA",
    "CH": "Banca della Svizzera Italiana SA",
}
_US_BANKS = (
    "First Commerce Bank, N.A.",
    "Midwest National Bank",
    "Pacific Trust Bank",
    "Atlantic Savings Bank",
    "Great Plains Bank & Trust",
    "Harborview National Bank",
)
_FIRST = (
    "Maria",
    "James",
    "Linda",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "David",
    "Susan",
    "Daniel",
    "Karen",
    "Kevin",
    "Aisha",
    "Wei",
    "Priya",
    "Carlos",
    "Fatima",
    "Tomasz",
    "Ingrid",
    "Hiroshi",
)
_LAST = (
    "Alvarez",
    "Bennett",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hughes",
    "Iyer",
    "Johansson",
    "Kowalski",
    "Lambert",
    "Morgan",
    "Nakamura",
    "O'Connor",
    "Patel",
    "Quinn",
    "Russo",
    "Schneider",
    "Thompson",
)
_ROLES = ("Customer Service", "Accounts Receivable", "Contract Manager", "Sales Representative", "Regulatory Affairs")

# Labelers whose legal form says where they are; everyone else is a US company.
_COUNTRY_BY_NAME = (
    ("GmbH & Co", "DE"),
    ("IRELAND LTD", "IE"),
    ("Europe ApS", "DK"),
    ("International SA", "CH"),
    ("Novocure GmbH", "CH"),
    ("ANONIM SIRKETI", "TR"),
    ("Barbados", "BB"),
)
# Parent/subsidiary families: members share the parent's remit-to lockbox and bank account.
_FAMILIES = {"BARD": "C. R. Bard, Inc.", "MEDTRONIC": "Medtronic, Inc.", "COOK": "Cook Group", "FRESENIUS": "Fresenius"}

_SUFFIX_ABBREVIATIONS = (
    ("INCORPORATED", "INC"),
    ("CORPORATION", "CORP"),
    ("COMPANY", "CO"),
    ("LIMITED", "LTD"),
    ("INTERNATIONAL", "INTL"),
    ("TECHNOLOGIES", "TECH"),
    ("TECHNOLOGY", "TECH"),
    ("MEDICAL", "MED"),
    ("PRODUCTS", "PROD"),
    ("INDUSTRIES", "IND"),
    ("LABORATORIES", "LABS"),
    ("ASSOCIATES", "ASSOC"),
    ("ORTHOPEDICS", "ORTHO"),
    ("ORTHOPAEDICS", "ORTHO"),
    ("SYSTEMS", "SYS"),
    ("SURGICAL", "SURG"),
)
_LEGAL_SUFFIXES = (
    "INC",
    "INCORPORATED",
    "CORP",
    "CORPORATION",
    "LLC",
    "LP",
    "LTD",
    "CO",
    "SA",
    "GMBH",
    "APS",
    "LIMITED",
)


@dataclass
class Company:
    key: str  # the GUDID company_name, as written
    index: int
    country: str
    family: str | None
    gln: str
    duns: str
    uei: str
    ein: str
    vat: str
    hibcc_lic: str
    hq: dict
    remit_to: dict
    eu_office: dict | None
    contacts: list[dict]
    bank_accounts: list[dict]
    screening_status: str
    screened_on: str | None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())[:24] or "supplier"


def _company_country(name: str) -> str:
    for marker, country in _COUNTRY_BY_NAME:
        if marker.lower() in name.lower():
            return country
    return "US"


def _family(name: str) -> str | None:
    upper = name.upper()
    for word in _FAMILIES:
        if re.search(rf"\b{word}\b", upper):
            return word
    return None


def _us_address(rng: random.Random, kind: str) -> dict:
    city, region, postal = rng.choice(_US_PLACES)
    address = {
        "kind": kind,
        "line1": f"{rng.randrange(100, 9900)} {rng.choice(_STREETS)}",
        "city": city,
        "region": region,
        "postal_code": postal,
        "country": "US",
    }
    if rng.random() < 0.3:
        address["line2"] = f"Suite {rng.randrange(100, 600)}"
    return address


def _lockbox(rng: random.Random) -> dict:
    city, region, postal = rng.choice(_LOCKBOXES)
    return {
        "kind": "remit_to",
        "line1": f"PO Box {rng.randrange(10000, 99999)}",
        "city": city,
        "region": region,
        "postal_code": postal,
        "country": "US",
    }


def _foreign_address(rng: random.Random, country: str, kind: str) -> dict:
    city, postal = rng.choice(_EU_PLACES[country])
    street = rng.choice(("Industriestrasse", "Via Cantonale", "Kanaalweg", "Rue de l'Industrie", "Business Park"))
    return {
        "kind": kind,
        "line1": f"{street} {rng.randrange(1, 120)}",
        "city": city,
        "postal_code": postal,
        "country": country,
    }


def _company_prefix_gln(devices: list[Device], rng: random.Random) -> str:
    """A GLN on the labeler's own GS1 company prefix (taken from its device identifiers), location 0001-0999."""
    di = devices[0].primary_di
    gtin13 = di[1:] if len(di) == 14 else di.zfill(13)
    return gtin_check(gtin13[:8] + f"{rng.randrange(1, 1000):04d}")


def build_companies(devices: list[Device], rng: random.Random) -> dict[str, Company]:
    by_labeler: dict[str, list[Device]] = defaultdict(list)
    for device in devices:
        by_labeler[device.company_name].append(device)
    companies: dict[str, Company] = {}
    family_remit: dict[str, tuple[dict, dict]] = {}
    for index, name in enumerate(sorted(by_labeler, key=str.casefold)):
        country = _company_country(name)
        family = _family(name)
        slug = _slug(name)
        if country == "US":
            hq = _us_address(rng, "headquarters")
            remit = _lockbox(rng)
            bank = {
                "holder_name": name,
                "bank_name": rng.choice(_US_BANKS),
                "aba_routing": make_aba(rng),
                "account_number": _digits(rng, rng.choice((9, 10, 12)), first_nonzero=True),
                "currency": "USD",
            }
        else:
            hq = _foreign_address(rng, country, "headquarters")
            remit = {**hq, "kind": "remit_to"}
            bank_country = country if country in _BBAN else "DE"
            bank = {
                "holder_name": name,
                "bank_name": _EU_BANKS[bank_country],
                "iban": make_iban(rng, bank_country),
                "currency": "CHF" if bank_country == "CH" else "EUR",
            }
        if family and country == "US":
            # Subsidiaries pay into the parent's lockbox: one remit-to and one account for the whole family.
            if family in family_remit:
                remit, shared = family_remit[family]
                bank = {**shared, "holder_name": shared["holder_name"]}
            else:
                bank = {**bank, "holder_name": _FAMILIES[family]}
                family_remit[family] = (remit, bank)
        banks = [bank]
        vat = ""
        eu_office = None
        if country in _VAT_BODIES:
            vat = make_vat(rng, country)
        elif country == "US" and rng.random() < 0.12:
            # A US manufacturer's EU importer registration: VAT number, EU ship-from address, EUR account.
            eu_country = rng.choice(("DE", "NL", "BE", "IE", "FR"))
            vat = make_vat(rng, eu_country)
            eu_office = _foreign_address(rng, eu_country, "ship_from")
            banks.append(
                {
                    "holder_name": f"{name} (EU)",
                    "bank_name": _EU_BANKS[eu_country],
                    "iban": make_iban(rng, eu_country),
                    "currency": "EUR",
                }
            )
        contacts = []
        for role in rng.sample(_ROLES, rng.randrange(1, 4)):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            contacts.append(
                {
                    "name": f"{first} {last}",
                    "role": role,
                    "email": f"{first.lower()}.{re.sub('[^a-z]', '', last.lower())}@{slug}.example",
                    "phone": f"+1 {rng.randrange(201, 990)}-555-01{rng.randrange(0, 100):02d}",
                }
            )
        roll = rng.random()
        if roll < 0.78:
            status, screened = "clear", (date(2025, 11, 3) + timedelta(days=rng.randrange(0, 100))).isoformat()
        elif roll < 0.95:
            status, screened = "not_screened", None
        elif roll < 0.99:
            status, screened = "flagged", (date(2026, 1, 12) + timedelta(days=rng.randrange(0, 30))).isoformat()
        else:
            status, screened = "excluded", "2026-02-02"
        companies[name] = Company(
            key=name,
            index=index,
            country=country,
            family=family,
            gln=_company_prefix_gln(by_labeler[name], rng),
            duns=_digits(rng, 9, first_nonzero=True),
            uei=make_uei(rng),
            ein=make_ein(rng) if country == "US" else "",
            vat=vat,
            hibcc_lic=(
                rng.choice("ABCDEFGHJKLMNPRSTW")
                + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
            )
            if rng.random() < 0.15
            else "",
            hq=hq,
            remit_to=remit,
            eu_office=eu_office,
            contacts=contacts,
            bank_accounts=banks,
            screening_status=status,
            screened_on=screened,
        )
    return companies


def name_variant(name: str, rng: random.Random) -> str:
    """How another system writes a company name: upper case, no punctuation, abbreviated or dropped suffixes, typos."""
    upper = re.sub(r"[.,]", "", name.upper())
    upper = squash(upper.replace("&", " & "))
    roll = rng.random()
    if roll < 0.25:
        variant = upper
    elif roll < 0.6:
        variant = upper
        for long, short in _SUFFIX_ABBREVIATIONS:
            variant = re.sub(rf"\b{long}\b", short, variant)
    elif roll < 0.8:
        words = upper.split()
        while len(words) > 1 and words[-1] in _LEGAL_SUFFIXES:
            words.pop()
        variant = " ".join(words)
        if rng.random() < 0.5:
            variant = variant.title()
    else:
        variant = name.replace(",", "").replace(".", "")
    if rng.random() < 0.12 and len(variant) > 6:
        # One keying error: two neighbouring letters swapped, or one dropped.
        pos = rng.randrange(1, len(variant) - 2)
        if variant[pos].isalpha() and variant[pos + 1].isalpha():
            if rng.random() < 0.5:
                variant = variant[:pos] + variant[pos + 1] + variant[pos] + variant[pos + 2 :]
            else:
                variant = variant[:pos] + variant[pos + 1 :]
    return squash(variant)


# --------------------------------------------------------------------------------------------------
# Products: one per device, the facts every feed starts from


@dataclass
class Level:
    unit: str  # hub code
    quantity: int
    gtin: str


@dataclass
class Product:
    device: Device
    index: int
    item_type: str
    unspsc: str
    flags: dict
    description: str
    short_name: str
    part_number: str
    levels: list[Level]
    alternative_levels: list[Level] | None
    list_price: Decimal  # USD per base unit (each)
    di_valid: bool


_PACK_UNITS = ("BX", "CS", "CT", "CT")


def _levels(device: Device, chain: list[tuple[str, str, int]]) -> list[Level]:
    levels = []
    if device.device_count > 1:
        # The primary DI is itself a pack of device_count devices: the base unit has no GTIN of its own.
        levels.append(Level("EA", 1, ""))
        levels.append(Level("BX", device.device_count, device.primary_di))
    else:
        levels.append(Level("EA", 1, device.primary_di))
    for di, _contains, quantity in chain:
        unit = _PACK_UNITS[min(len(levels) - 1, len(_PACK_UNITS) - 1)]
        levels.append(Level(unit, quantity, di))
    return levels


def _package_chain(device: Device) -> tuple[list, list | None]:
    """The linear chain of package levels from the primary DI, and an alternative pack of the primary DI if any."""
    chain, current = [], device.primary_di
    remaining = list(device.packages)
    while True:
        nxt = next((p for p in remaining if p[1] == current), None)
        if nxt is None:
            break
        chain.append(nxt)
        remaining.remove(nxt)
        current = nxt[0]
    alternative = next((p for p in remaining if p[1] == device.primary_di), None)
    return chain, [alternative] if alternative else None


_PRICE_MEDIAN = {"implant": 620.0, "med_surg": 48.0, "lab": 95.0, "equipment": 2400.0}
_PRICE_SIGMA = {"implant": 0.7, "med_surg": 0.8, "lab": 0.6, "equipment": 0.6}
_PRICE_FACTORS = (
    (("implantable defibrillator", "circulatory assist", "stimulation system", "middle ear implant"), 18.0),
    (("knee prosthesis", "hip prosthesis", "shoulder prosthesis", "ankle prosthesis", "stent-graft"), 5.0),
    (("femur prosthesis", "tibia prosthesis", "acetabular shell", "intraocular lens", "breast implant"), 2.5),
    (("defibrillator", "ventilator"), 1.5),
    (("kit", "set", "catheter"), 2.0),
    (("bone screw", "bone pin", "bone wire", "staple"), 0.4),
    (("suture",), 0.3),
)


def _price(rng: random.Random, device: Device, item_type: str) -> Decimal:
    text = _gmdn_text(device) + " " + clean_text(device.device_description).lower()
    value = rng.lognormvariate(math.log(_PRICE_MEDIAN[item_type]), _PRICE_SIGMA[item_type])
    for words, factor in _PRICE_FACTORS:
        if any(word in text for word in words):
            value *= factor
            break
    value = max(1.5, min(value, 60000.0))
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def build_products(devices: list[Device], rng: random.Random) -> list[Product]:
    products = []
    for index, device in enumerate(devices):
        item_type = item_type_for(device)
        chain, alternative = _package_chain(device)
        brand = clean_text(device.brand_name)
        products.append(
            Product(
                device=device,
                index=index,
                item_type=item_type,
                unspsc=unspsc_for(device, item_type),
                flags=clinical_flags(device, item_type),
                description=item_description(device),
                short_name="" if brand.upper() in ("N/A", "NA", "") else brand[:80],
                part_number=part_number(device),
                levels=_levels(device, chain),
                alternative_levels=_levels(device, alternative) if alternative else None,
                list_price=_price(rng, device, item_type),
                di_valid=ean.is_valid(device.primary_di),
            )
        )
    return products


def money(value: Decimal | float) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def pack_price(product: Product, level_index: int) -> Decimal:
    """The list price of one unit of packaging level ``level_index`` (a small discount per pack)."""
    each = product.list_price
    quantity = 1
    for level in product.levels[1 : level_index + 1]:
        quantity *= level.quantity
    return each * quantity * (Decimal("0.97") if quantity > 1 else 1)


# --------------------------------------------------------------------------------------------------
# odoo-prod: the ERP export (most trusted)

ODOO_UNITS = (
    # code, name, dimension, UN/ECE, UCUM, Odoo's names for it
    ("EA", "Each", "count", "EA", "{each}", ["Units", "Unit(s)", "Piece", "PCE"]),
    ("BX", "Box", "count", "BX", "{box}", ["Box", "Box of 10", "Box of 100"]),
    ("CS", "Case", "count", "CS", "{case}", ["Case", "Case of 12"]),
    ("PK", "Pack", "count", "PK", "{pack}", ["Pack", "Package"]),
    ("CT", "Carton", "count", "CT", "{carton}", ["Carton"]),
    ("KT", "Kit", "count", "KT", "{kit}", ["Kit", "Kits"]),
    ("SET", "Set", "count", "SET", "{set}", ["Sets"]),
    ("DZ", "Dozen", "count", "DZN", "{dozen}", ["Dozens", "Dozen"]),
    ("MG", "Milligram", "mass", "MGM", "mg", ["milligram"]),
    ("G", "Gram", "mass", "GRM", "g", ["gram", "grams"]),
    ("KG", "Kilogram", "mass", "KGM", "kg", ["kilogram"]),
    ("ML", "Millilitre", "volume", "MLT", "mL", ["milliliter"]),
    ("L", "Litre", "volume", "LTR", "L", ["Liters", "liter"]),
)
# What the Odoo export writes in item and price rows for each hub unit (its own UoM names).
ODOO_UOM_NAME = {"EA": "Units", "BX": "Box", "CS": "Case", "CT": "Carton", "PK": "Pack", "KT": "Kit"}


def _odoo_feed(products: list[Product], companies: dict[str, Company], rng: random.Random) -> SourceFeed:
    records: list[DemoRecord] = []
    for n, (code, name, dimension, unece, ucum, aliases) in enumerate(ODOO_UNITS, start=1):
        payload = {"code": code, "name": name, "dimension": dimension, "unece_code": unece, "ucum_code": ucum}
        payload["aliases"] = list(aliases)
        records.append(DemoRecord("unit", f"uom.uom,{n}", payload))

    supplier_ext: dict[str, str] = {}
    for company in companies.values():
        ext = f"res.partner,{1001 + company.index * 3}"
        supplier_ext[company.key] = ext
        addresses = [company.hq, company.remit_to]
        if company.eu_office:
            addresses.append(company.eu_office)
        if company.country == "US" and rng.random() < 0.3:
            addresses.append({**_us_address(rng, "order_from"), "gln": gtin_check(company.gln[:8] + "0999")})
        payload = {
            "legal_name": company.key,
            "aliases": _odoo_aliases(company),
            "duns": company.duns,
            "uei": company.uei if company.country == "US" and rng.random() < 0.7 else "",
            "ein": company.ein,
            "vat": company.vat,
            "gln": company.gln,
            "hibcc_lic": company.hibcc_lic,
            "addresses": addresses,
            "contacts": company.contacts,
            "bank_accounts": company.bank_accounts,
            "screening_status": company.screening_status,
        }
        if company.screened_on:
            payload["screened_on"] = company.screened_on
        records.append(DemoRecord("supplier", ext, {k: v for k, v in payload.items() if v not in ("", [], None)}))

    item_ext: dict[str, str] = {}
    for product in products:
        ext = f"product.template,{5001 + product.index}"
        item_ext[product.device.primary_di] = ext
        payload = {
            "description": product.description,
            "short_name": product.short_name,
            "manufacturer": product.device.company_name,
            "manufacturer_part_number": product.part_number,
            "item_type": product.item_type,
            "unspsc": product.unspsc,
            **product.flags,
            "gudid_di": product.device.primary_di,
            "base_unit": ODOO_UOM_NAME["EA"],
            "packaging": [
                {"unit": ODOO_UOM_NAME.get(level.unit, level.unit), "quantity": level.quantity, "gtin": level.gtin}
                for level in product.levels
            ],
        }
        records.append(DemoRecord("item", ext, payload))

    # Local agreements (Odoo purchase agreements / blanket orders) with part of the suppliers.
    by_company: dict[str, list[Product]] = defaultdict(list)
    for product in products:
        if product.di_valid:  # rows Odoo cannot export cleanly are left out of its agreements
            by_company[product.device.company_name].append(product)
    contracts, prices = [], []
    number = 0
    for company in companies.values():
        mine = by_company.get(company.key)
        if not mine or rng.random() > 0.6:
            continue
        number += 1
        start = rng.choice((date(2025, 7, 1), date(2025, 10, 1), date(2026, 1, 1)))
        end = date(start.year + rng.choice((1, 2)), start.month, 1) - timedelta(days=1)
        contract_ext = f"purchase.requisition,{200 + number}"
        currency = "USD" if company.country in ("US", "TR", "BB") else "EUR"
        contracts.append(
            DemoRecord(
                "contract",
                contract_ext,
                {
                    "number": f"BO{number:05d}",
                    "supplier": supplier_ext[company.key],
                    "supplier_name": company.key,
                    "kind": "local",
                    # Local agreements belong to one facility or are group-wide (access limits use it);
                    # chosen by number, not by the random generator, so the other records stay as they were.
                    "facility": LOCAL_FACILITIES[number % len(LOCAL_FACILITIES)],
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "currency": currency,
                },
            )
        )
        chosen = rng.sample(mine, min(len(mine), max(1, min(40, round(len(mine) * 0.6)))))
        for product in sorted(chosen, key=lambda p: p.index):
            level_index = 1 if len(product.levels) > 1 and product.item_type in ("med_surg", "lab") else 0
            unit = product.levels[level_index].unit
            price = pack_price(product, level_index) * Decimal(str(rng.uniform(0.88, 0.98)))
            tiers = [(1, price)]
            if product.item_type in ("med_surg", "lab") and rng.random() < 0.3:
                tiers.append((10, price * Decimal("0.97")))
            for min_quantity, tier_price in tiers:
                prices.append(
                    DemoRecord(
                        "contract_price",
                        f"product.supplierinfo,{9001 + len(prices)}",
                        {
                            "contract": contract_ext,
                            "item": item_ext[product.device.primary_di],
                            "unit": ODOO_UOM_NAME.get(unit, unit),
                            "price": money(tier_price),
                            "min_quantity": min_quantity,
                            "start_date": start.isoformat(),
                            "end_date": end.isoformat(),
                        },
                    )
                )
    records += contracts + prices
    return SourceFeed(
        ODOO,
        "odoo",
        1,
        "Odoo 17 production database: the hospital group's purchasing master data.",
        records,
        invalid=frozenset(("item", item_ext[p.device.primary_di]) for p in products if not p.di_valid),
    )


def _odoo_aliases(company: Company) -> list[str]:
    words = re.sub(r"[.,]", "", company.key).split()
    while len(words) > 1 and words[-1].upper() in _LEGAL_SUFFIXES:
        words.pop()
    trading = " ".join(words)
    aliases = [trading] if trading.casefold() != company.key.casefold() else []
    if company.family and _FAMILIES[company.family] != company.key:
        aliases.append(f"{_FAMILIES[company.family]} (parent)")
    return aliases


# --------------------------------------------------------------------------------------------------
# distributor-catalog: a distributor's CSV catalog (its own ids, its own spelling, some broken rows)

DISTRIBUTOR_UNITS = (
    ("EA", "Each", "count", "EA", ["EACH", "Each", "EA."]),
    ("BX", "Box", "count", "BX", ["BOX", "Box"]),
    ("CS", "Case", "count", "CS", ["Case", "case of 12", "CA"]),  # X12 writes CA for case (UN/ECE: can)
    ("PK", "Package", "count", "PK", ["PKG", "Pack"]),
    ("CT", "Carton", "count", "CT", ["CTN", "Carton"]),
    ("KT", "Kit", "count", "KT", ["KIT"]),
)
# Words a distributor abbreviates to fit its 60-character description field.
ABBREVIATIONS = (
    ("CATHETERIZATION", "CATH"),
    ("CATHETER", "CATH"),
    ("SYRINGE", "SYR"),
    ("NON-STERILE", "NS"),
    ("NONSTERILE", "NS"),
    ("STERILE", "STRL"),
    ("NEEDLE", "NDL"),
    ("GLOVES", "GLV"),
    ("GLOVE", "GLV"),
    ("NATURAL", "NTRL"),
    ("POWDER-FREE", "PF"),
    ("POWDER FREE", "PF"),
    ("LARGE", "LG"),
    ("LENGTH", "LG"),
    ("LONG", "LG"),
    ("MEDIUM", "MED"),
    ("SMALL", "SM"),
    ("SCREW", "SCR"),
    ("PLATE", "PLT"),
    ("LUMEN", "LUM"),
    ("DOUBLE", "DBL"),
    ("TRIPLE", "TRPL"),
    ("SINGLE", "SGL"),
    ("HEMODIALYSIS", "HEMODIAL"),
    ("POLYETHYLENE", "POLY"),
    ("TITANIUM", "TI"),
    ("STAINLESS STEEL", "SS"),
    ("CANNULATED", "CANN"),
    ("DIAMETER", "DIA"),
    ("WITHOUT", "W/O"),
    ("WITH", "W/"),
    ("ASSEMBLY", "ASSY"),
    ("SYSTEM", "SYS"),
    ("TUBING", "TBG"),
    ("INSERT", "INSRT"),
    ("FEMORAL", "FEM"),
    ("TIBIAL", "TIB"),
    ("ACETABULAR", "ACET"),
    ("PEDIATRIC", "PED"),
    ("STANDARD", "STD"),
    ("SURGICAL", "SURG"),
    ("GUIDEWIRE", "GW"),
    ("INTRODUCER", "INTRO"),
    ("PERIPHERAL", "PERIPH"),
    ("VASCULAR", "VASC"),
    ("CENTRAL VENOUS", "CV"),
    ("EXTENSION", "EXT"),
    ("REPLACEMENT", "REPL"),
    ("CERVICAL", "CERV"),
    ("LUMBAR", "LUMB"),
    ("ANTERIOR", "ANT"),
    ("POSTERIOR", "POST"),
    ("LATERAL", "LAT"),
    ("MODULAR", "MOD"),
    ("POLYURETHANE", "PU"),
    ("SILICONE", "SIL"),
    ("INJECTABLE", "INJ"),
    ("POWER", "PWR"),
    ("ANTIMICROBIAL", "ANTIMIC"),
    ("ANGIOPLASTY", "ANGIO"),
    ("BALLOON", "BLN"),
    ("KIT", "KT"),
    ("TRAY", "TRY"),
    ("SET", "ST"),
)
_ABBREVIATION_RE = [(re.compile(rf"(?<![A-Z]){re.escape(long)}(?![A-Z])"), short) for long, short in ABBREVIATIONS]


def abbreviate(text: str, limit: int = 60) -> str:
    """A distributor-style description: upper case, trademarks and punctuation stripped, words abbreviated."""
    upper = unicodedata.normalize("NFKD", clean_text(text)).encode("ascii", "ignore").decode().upper()
    upper = re.sub(r"\((R|TM|C)\)", "", upper)
    upper = re.sub(r"[,;:\"]", " ", upper)
    for pattern, short in _ABBREVIATION_RE:
        upper = pattern.sub(short, upper)
    upper = squash(upper)
    return upper[:limit].rstrip()


def pack_string(levels: list[Level], rng: random.Random) -> str:
    """The distributor's pack notation: ``CS 10BX/100EA``, ``100/BX``, ``BX/10``, ``1/EA``."""
    if len(levels) == 1:
        return rng.choice(("1/EA", "EA", "EA 1"))
    if len(levels) == 2:
        top = levels[1]
        return rng.choice((f"{top.quantity}/{top.unit}", f"{top.unit}/{top.quantity}", f"{top.unit} {top.quantity}EA"))
    top, middle = levels[-1], levels[-2]
    return f"{top.unit} {top.quantity}{middle.unit}/{middle.quantity}{levels[0].unit}"


def _has_bad_gtin(payload: dict) -> bool:
    gtins = [payload.get("gudid_di") or ""] + [level.get("gtin") or "" for level in payload.get("packaging", [])]
    return any(gtin and not ean.is_valid(gtin) for gtin in gtins)


def _distributor_feed(products: list[Product], companies: dict[str, Company], rng: random.Random) -> SourceFeed:
    records: list[DemoRecord] = []
    invalid: set[tuple[str, str]] = set()
    for code, name, dimension, unece, aliases in DISTRIBUTOR_UNITS:
        records.append(
            DemoRecord(
                "unit",
                f"UOM-{code}",
                {"code": code, "name": name.upper(), "dimension": dimension, "unece_code": unece, "aliases": aliases},
            )
        )

    carried = [p for p in products if rng.random() < 0.85]  # a large overlapping subset
    company_keys = sorted({p.device.company_name for p in carried}, key=str.casefold)
    n_bad_items = max(2, round(len(carried) * 0.02))
    bad_items = set(rng.sample(range(len(carried)), min(n_bad_items, len(carried))))
    bad_suppliers = set(rng.sample(range(len(company_keys)), min(len(company_keys), max(1, len(company_keys) // 50))))

    vendor_name: dict[str, str] = {}
    for n, key in enumerate(company_keys):
        company = companies[key]
        variant = name_variant(key, rng)
        if company.family and company.family != "FRESENIUS" and rng.random() < 0.3:
            variant = _FAMILIES[company.family].upper().replace(",", "").replace(".", "")
        vendor_name[key] = variant
        addr = company.remit_to
        address = {
            "kind": "remit_to",
            "line1": addr["line1"]
            .upper()
            .replace("PARKWAY", "PKWY")
            .replace("BOULEVARD", "BLVD")
            .replace("DRIVE", "DR"),
            "city": addr["city"].upper(),
            "postal_code": addr.get("postal_code", ""),
            "country": addr["country"],
        }
        if addr.get("region"):
            address["region"] = addr["region"]
        payload = {"legal_name": variant, "addresses": [address]}
        if rng.random() < 0.6:
            payload["duns"] = (
                company.duns if rng.random() < 0.8 else f"{company.duns[:2]}-{company.duns[2:5]}-{company.duns[5:]}"
            )
        if rng.random() < 0.4:
            payload["gln"] = company.gln
        if company.ein and rng.random() < 0.3:
            payload["ein"] = company.ein.replace("-", "")
        if n in bad_suppliers:
            # A keying error the validator catches: the GLN's check digit is off by one.
            payload["gln"] = corrupt_check_digit(company.gln)
            invalid.add(("supplier", f"V{10400 + n * 7:05d}"))
        records.append(DemoRecord("supplier", f"V{10400 + n * 7:05d}", payload))

    unknown_units = ("RL", "BG", "DRM")
    for n, product in enumerate(carried):
        levels = product.alternative_levels if product.alternative_levels and rng.random() < 0.8 else product.levels
        packaging = []
        for level in levels:
            gtin = level.gtin if rng.random() > 0.06 else ""  # a few GTINs missing
            packaging.append({"unit": level.unit, "quantity": level.quantity, "gtin": gtin})
        manufacturer = vendor_name[product.device.company_name]
        if rng.random() < 0.25:
            manufacturer = name_variant(product.device.company_name, rng)
        payload = {
            "description": abbreviate(product.description),
            "manufacturer": manufacturer,
            "manufacturer_part_number": product.part_number.replace("-", "")
            if rng.random() < 0.2
            else product.part_number,
            "item_type": product.item_type
            if rng.random() > 0.05
            else ("med_surg" if product.item_type != "med_surg" else "equipment"),
            "base_unit": "EA" if rng.random() < 0.9 else "ea",
            "packaging": packaging,
        }
        if rng.random() < 0.9:
            payload["pack_string"] = pack_string(levels, rng)
        if rng.random() > 0.05:
            payload["gudid_di"] = product.device.primary_di
        if rng.random() < 0.7:
            payload["unspsc"] = product.unspsc
        if rng.random() < 0.5:
            payload["sterile"] = product.flags["sterile"]
            payload["single_use"] = product.flags["single_use"]
        if product.item_type == "med_surg" and rng.random() < 0.3:
            payload["latex_free"] = True
        if not product.part_number or rng.random() < 0.04:
            payload.pop("manufacturer_part_number")
        ext = f"KMS-{2100000 + product.index * 13}"
        if n in bad_items:
            if rng.random() < 0.5 and product.di_valid:
                payload["gudid_di"] = corrupt_check_digit(product.device.primary_di)
            else:
                unit = rng.choice(unknown_units)
                payload["base_unit"] = unit
                payload["packaging"] = [{**payload["packaging"][0], "unit": unit}, *payload["packaging"][1:]]
                payload["pack_string"] = f"1/{unit}"
            invalid.add(("item", ext))
        elif _has_bad_gtin(payload):  # the source's own check-digit errors, carried over from GUDID
            invalid.add(("item", ext))
        records.append(DemoRecord("item", ext, payload))
    return SourceFeed(
        DISTRIBUTOR,
        "file",
        20,
        f"{DISTRIBUTOR_NAME} (fictional distributor): weekly CSV catalog of the items it stocks for the group.",
        records,
        invalid=frozenset(invalid),
    )


# --------------------------------------------------------------------------------------------------
# gpo-prices: a GPO's price file (contracts per supplier, tiered prices)

_GPO_CATEGORY = {"implant": "IM", "med_surg": "MS", "lab": "LB", "equipment": "CE"}
_GPO_TIERS = {"implant": (1, 5, 25), "med_surg": (1, 10, 50), "lab": (1, 10, 50), "equipment": (1, 3)}
_GPO_TIER_DISCOUNT = (Decimal("1"), Decimal("0.96"), Decimal("0.92"))


def _gpo_feed(products: list[Product], companies: dict[str, Company], rng: random.Random) -> SourceFeed:
    by_company: dict[str, list[Product]] = defaultdict(list)
    for product in products:
        by_company[product.device.company_name].append(product)
    suppliers, items, contracts, prices = [], [], [], []
    invalid: set[tuple[str, str]] = set()
    for company in companies.values():
        mine = by_company.get(company.key)
        if not mine or rng.random() > 0.75:
            continue
        supplier_ext = f"{GPO_PREFIX}-V{4000 + company.index}"
        supplier_name = name_variant(company.key, rng)
        payload = {"legal_name": supplier_name}
        if rng.random() < 0.7:
            payload["duns"] = company.duns
        if rng.random() < 0.3:
            payload["gln"] = company.gln
        suppliers.append(DemoRecord("supplier", supplier_ext, payload))

        category = Counter(p.item_type for p in mine).most_common(1)[0][0]
        start = rng.choice((date(2026, 1, 1), date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1)))
        end = date(start.year + 3, start.month, 1) - timedelta(days=1)
        number = f"{GPO_PREFIX}-{_GPO_CATEGORY[category]}-{2600 + company.index:04d}"
        contracts.append(
            DemoRecord(
                "contract",
                number,
                {
                    "number": number,
                    "supplier": supplier_ext,
                    "supplier_name": supplier_name,
                    "kind": "gpo",
                    "gpo_name": GPO_NAME,
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "currency": "USD",
                },
            )
        )
        chosen = rng.sample(mine, min(len(mine), max(1, min(60, round(len(mine) * 0.6)))))
        for product in sorted(chosen, key=lambda p: p.index):
            item_ext = f"{GPO_PREFIX}-I{700000 + product.index * 11}"
            device = product.device
            raw_description = squash(device.device_description) or squash(
                f"{device.gmdn[0] if device.gmdn else device.brand_name} {device.version_model_number}"
            )
            item = {
                "description": raw_description,  # as the manufacturer submitted it, mojibake and all
                "manufacturer": supplier_name,
                "manufacturer_part_number": device.catalog_number or device.version_model_number,
                "item_type": product.item_type,
                "base_unit": "EA",
            }
            if rng.random() < 0.9:
                item["gudid_di"] = device.primary_di
            if rng.random() < 0.5:
                item["unspsc"] = product.unspsc
            if not item["manufacturer_part_number"]:
                item.pop("manufacturer_part_number")
            items.append(DemoRecord("item", item_ext, item))
            if _has_bad_gtin(item):
                invalid.add(("item", item_ext))
            level_index = 1 if len(product.levels) > 1 and product.item_type in ("med_surg", "lab") else 0
            unit = product.levels[level_index].unit
            base = pack_price(product, level_index) * Decimal(str(rng.uniform(0.82, 0.94)))
            price_start = start if rng.random() < 0.85 else start + timedelta(days=rng.choice((31, 90, 181)))
            for tier, min_quantity in enumerate(_GPO_TIERS[product.item_type]):
                prices.append(
                    DemoRecord(
                        "contract_price",
                        f"{number}:{item_ext}:{min_quantity}",
                        {
                            "contract": number,
                            "item": item_ext,
                            "unit": unit,
                            "price": money(base * _GPO_TIER_DISCOUNT[tier]),
                            "min_quantity": min_quantity,
                            "start_date": price_start.isoformat(),
                            "end_date": end.isoformat(),
                        },
                    )
                )
    return SourceFeed(
        GPO,
        "gpo",
        10,
        f"{GPO_NAME} (fictional GPO): contract price file with tiered prices, effective 2026.",
        suppliers + items + contracts + prices,
        invalid=frozenset(invalid),
    )


# --------------------------------------------------------------------------------------------------


def generate(seed: int = 42, *, items: int | None = None, sample_path: Path = SAMPLE_PATH) -> DemoData:
    """Three source feeds from ``items`` devices of the shipped sample (all of them by default)."""
    devices = select_devices(load_devices(sample_path), items, random.Random(f"{seed}:select"))
    companies = build_companies(devices, random.Random(f"{seed}:companies"))
    products = build_products(devices, random.Random(f"{seed}:products"))
    return DemoData(
        seed=seed,
        feeds=[
            _odoo_feed(products, companies, random.Random(f"{seed}:odoo")),
            _distributor_feed(products, companies, random.Random(f"{seed}:distributor")),
            _gpo_feed(products, companies, random.Random(f"{seed}:gpo")),
        ],
    )
