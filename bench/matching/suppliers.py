"""Supplier records as an AP vendor master, a GPO roster, a procurement portal and a legacy ERP carry them.

A true entity is one supplier legal entity at one site, with its DUNS (often missing in feeds), EIN,
address and phone. Hard negatives: divisions of one group that are separate legal entities
(Bard Access Systems vs Bard Peripheral Vascular, Medtronic's many companies), often at the same campus
with another suite, and common trade names registered by unrelated companies in other states.
"""

import random

from bench.matching import noise
from bench.matching.items import ORG_ABBREVIATIONS, org_variant, split_legal

# (city, state, ZIP3, area code): enough geography for realistic addresses; ZIPs are plausible, not real.
CITIES = [
    ("Minneapolis", "MN", "554", "612"),
    ("Memphis", "TN", "381", "901"),
    ("Salt Lake City", "UT", "841", "801"),
    ("Bloomington", "IN", "474", "812"),
    ("Warsaw", "IN", "465", "574"),
    ("Covington", "GA", "300", "770"),
    ("Tempe", "AZ", "852", "480"),
    ("Franklin Lakes", "NJ", "074", "201"),
    ("Mundelein", "IL", "600", "847"),
    ("Northfield", "IL", "600", "847"),
    ("Deerfield", "IL", "600", "847"),
    ("Dublin", "OH", "430", "614"),
    ("Columbus", "OH", "432", "614"),
    ("Mechanicsville", "VA", "231", "804"),
    ("Richmond", "VA", "232", "804"),
    ("Alpharetta", "GA", "300", "678"),
    ("Atlanta", "GA", "303", "404"),
    ("Kalamazoo", "MI", "490", "269"),
    ("Marlborough", "MA", "017", "508"),
    ("Boston", "MA", "021", "617"),
    ("Mansfield", "MA", "020", "508"),
    ("Andover", "MA", "018", "978"),
    ("Irvine", "CA", "926", "949"),
    ("San Diego", "CA", "921", "858"),
    ("Santa Clara", "CA", "950", "408"),
    ("Pleasanton", "CA", "945", "925"),
    ("Los Angeles", "CA", "900", "213"),
    ("Austin", "TX", "787", "512"),
    ("Dallas", "TX", "752", "214"),
    ("Houston", "TX", "770", "713"),
    ("San Antonio", "TX", "782", "210"),
    ("Plano", "TX", "750", "972"),
    ("Jacksonville", "FL", "322", "904"),
    ("Miami", "FL", "331", "305"),
    ("Tampa", "FL", "336", "813"),
    ("Largo", "FL", "337", "727"),
    ("Denver", "CO", "802", "303"),
    ("Louisville", "CO", "800", "303"),
    ("Seattle", "WA", "981", "206"),
    ("Redmond", "WA", "980", "425"),
    ("Portland", "OR", "972", "503"),
    ("Nashville", "TN", "372", "615"),
    ("Charlotte", "NC", "282", "704"),
    ("Raleigh", "NC", "276", "919"),
    ("Durham", "NC", "277", "919"),
    ("Pittsburgh", "PA", "152", "412"),
    ("Philadelphia", "PA", "191", "215"),
    ("Malvern", "PA", "193", "610"),
    ("Wayne", "PA", "190", "610"),
    ("New York", "NY", "100", "212"),
    ("Rochester", "NY", "146", "585"),
    ("Buffalo", "NY", "142", "716"),
    ("Stamford", "CT", "069", "203"),
    ("Hartford", "CT", "061", "860"),
    ("Warwick", "RI", "028", "401"),
    ("Baltimore", "MD", "212", "410"),
    ("St. Louis", "MO", "631", "314"),
    ("Kansas City", "MO", "641", "816"),
    ("Omaha", "NE", "681", "402"),
    ("Milwaukee", "WI", "532", "414"),
    ("Madison", "WI", "537", "608"),
    ("Cleveland", "OH", "441", "216"),
    ("Cincinnati", "OH", "452", "513"),
    ("Indianapolis", "IN", "462", "317"),
    ("Chicago", "IL", "606", "312"),
    ("Phoenix", "AZ", "850", "602"),
    ("Las Vegas", "NV", "891", "702"),
    ("Albuquerque", "NM", "871", "505"),
    ("Boise", "ID", "837", "208"),
    ("Birmingham", "AL", "352", "205"),
    ("New Orleans", "LA", "701", "504"),
    ("Little Rock", "AR", "722", "501"),
    ("Oklahoma City", "OK", "731", "405"),
    ("Louisville", "KY", "402", "502"),
]

# Town names found in many states: the bulk of real supplier addresses is outside the big cities.
TOWNS = ["Springfield", "Fairview", "Franklin", "Greenville", "Clinton", "Georgetown", "Salem", "Arlington"]
TOWNS += ["Ashland", "Burlington", "Manchester", "Milton", "Newport", "Oxford", "Riverside", "Centerville"]
TOWNS += ["Dover", "Hudson", "Kingston", "Lebanon", "Marion", "Mount Vernon", "Auburn", "Bristol", "Clayton"]
TOWNS += ["Dayton", "Jackson", "Lexington", "Monroe", "Plymouth", "Troy", "Winchester", "Waverly", "Shelby"]
TOWNS += ["Hamilton", "Lancaster", "Columbia", "Florence", "Glendale", "Hanover", "Jamestown", "Lakewood"]
TOWNS += ["Medford", "Norwood", "Princeton", "Sterling", "Vienna", "Oak Grove", "Pleasant Hill", "Brookfield"]


def _towns() -> list[tuple[str, str, str, str]]:
    """Each town in five states, with a ZIP3 near and the area code of a listed city of that state."""
    by_state: dict[str, list[tuple]] = {}
    for city in CITIES:
        by_state.setdefault(city[1], []).append(city)
    states = sorted(by_state)
    out = []
    for i, town in enumerate(TOWNS):
        for j in range(5):
            _, state, zip3, area = by_state[states[(i * 7 + j * 11) % len(states)]][0]
            out.append((town, state, f"{zip3[:2]}{(int(zip3[2]) + i + j) % 10}", area))
    return out


CITIES += _towns()

STATE_NAMES = {
    "MN": "Minnesota",
    "TN": "Tennessee",
    "UT": "Utah",
    "IN": "Indiana",
    "GA": "Georgia",
    "AZ": "Arizona",
    "NJ": "New Jersey",
    "IL": "Illinois",
    "OH": "Ohio",
    "VA": "Virginia",
    "MI": "Michigan",
    "MA": "Massachusetts",
    "CA": "California",
    "TX": "Texas",
    "FL": "Florida",
    "CO": "Colorado",
    "WA": "Washington",
    "OR": "Oregon",
    "NC": "North Carolina",
    "PA": "Pennsylvania",
    "NY": "New York",
    "CT": "Connecticut",
    "RI": "Rhode Island",
    "MD": "Maryland",
    "MO": "Missouri",
    "NE": "Nebraska",
    "WI": "Wisconsin",
    "NV": "Nevada",
    "NM": "New Mexico",
    "ID": "Idaho",
    "AL": "Alabama",
    "LA": "Louisiana",
    "AR": "Arkansas",
    "OK": "Oklahoma",
    "KY": "Kentucky",
}

STREETS = [
    "Main",
    "Oak",
    "Commerce",
    "Industrial",
    "Corporate",
    "Technology",
    "Research",
    "Medical Center",
    "Park",
    "Lake",
    "Washington",
    "Lincoln",
    "Jefferson",
    "Madison",
    "Franklin",
    "Airport",
    "Enterprise",
    "Innovation",
    "Discovery",
    "Pioneer",
    "Riverside",
    "Highland",
    "Meadow",
    "Ridge",
    "Sunset",
    "Cedar",
    "Maple",
    "Pine",
    "Elm",
    "Willow",
    "Valley",
    "Hillcrest",
    "Lakeview",
    "Gateway",
    "Summit",
    "Crossroads",
    "Harbor",
    "Mill",
    "Church",
    "Center",
    "Northpoint",
    "Southfield",
    "Westgate",
    "Eastern",
    "Campus",
]
STREET_TYPES = {
    "Street": ["St", "St.", "STR"],
    "Avenue": ["Ave", "Ave.", "AV"],
    "Boulevard": ["Blvd", "Blvd."],
    "Drive": ["Dr", "Dr."],
    "Road": ["Rd", "Rd."],
    "Parkway": ["Pkwy", "Pky"],
    "Way": ["Wy"],
    "Court": ["Ct"],
    "Place": ["Pl"],
    "Lane": ["Ln"],
}
DIRECTIONS = {"North": "N", "South": "S", "East": "E", "West": "W"}

# Real groups whose companies are separate legal entities: the related-but-distinct hard negatives.
FAMILIES = [
    [
        "Medtronic, Inc.",
        "Medtronic USA, Inc.",
        "Medtronic Sofamor Danek USA, Inc.",
        "Medtronic Vascular, Inc.",
        "Medtronic MiniMed, Inc.",
        "Medtronic Xomed, Inc.",
        "Medtronic Neurovascular",
    ],
    ["C. R. Bard, Inc.", "Bard Access Systems, Inc.", "Bard Peripheral Vascular, Inc.", "Bard Medical Division"],
    ["Cook Incorporated", "Cook Medical LLC", "Cook Ireland Ltd", "Cook Urological, Inc."],
    ["Baxter Healthcare Corporation", "Baxter International Inc.", "Baxter Medical Products"],
    ["Becton, Dickinson and Company", "BD Medical Systems", "BD Biosciences", "BD Diagnostics"],
    ["Ethicon, Inc.", "Ethicon Endo-Surgery, Inc.", "Ethicon US, LLC"],
    ["DePuy Orthopaedics, Inc.", "DePuy Synthes Products, Inc.", "DePuy Mitek, Inc."],
    [
        "Stryker Corporation",
        "Stryker Instruments",
        "Stryker Orthopaedics",
        "Stryker Spine",
        "Stryker Sustainability Solutions",
    ],
    [
        "Zimmer, Inc.",
        "Zimmer Biomet Spine, Inc.",
        "Biomet, Inc.",
        "Biomet Microfixation, Inc",
        "Biomet Orthopedics, LLC",
    ],
    ["Cardinal Health, Inc.", "Cardinal Health 200, LLC", "Cardinal Health 414, LLC", "Cardinal Health 110, LLC"],
    ["Owens & Minor, Inc.", "Owens & Minor Distribution, Inc.", "Owens & Minor Medical, Inc."],
    ["McKesson Corporation", "McKesson Medical-Surgical Inc.", "McKesson Specialty Care Distribution"],
    ["B. Braun Medical Inc.", "B. Braun Interventional Systems Inc.", "Aesculap, Inc."],
    ["Teleflex Incorporated", "Teleflex Medical Incorporated", "Arrow International, Inc."],
    ["Abbott Laboratories", "Abbott Vascular Inc.", "Abbott Diabetes Care Inc.", "Abbott Nutrition"],
    ["Philips Healthcare", "Philips Respironics, Inc.", "Philips Medical Systems"],
    ["Boston Scientific Corporation", "Boston Scientific Neuromodulation Corporation"],
    ["Smith & Nephew, Inc.", "Smith & Nephew Endoscopy", "Smith & Nephew Wound Management"],
    ["Hill-Rom, Inc.", "Hill-Rom Company, Inc.", "Welch Allyn, Inc."],
    ["Covidien LP", "Covidien Sales LLC", "Covidien Holding Inc."],
]

PREFIXES = [
    "Advanced",
    "American",
    "United",
    "Premier",
    "Precision",
    "Allied",
    "Pacific",
    "Midwest",
    "Summit",
    "Global",
    "National",
    "Coastal",
    "Keystone",
    "Pioneer",
    "Liberty",
    "Heritage",
    "Frontier",
    "Northern",
    "Southern",
    "Western",
    "Eastern",
    "Atlantic",
    "Central",
    "Apex",
    "Vanguard",
    "Integrated",
    "Innovative",
    "Superior",
    "Quality",
    "Reliable",
    "Trinity",
    "Evergreen",
    "Cornerstone",
    "Horizon",
    "Meridian",
    "Sterling",
    "Clearwater",
    "Bluewater",
    "Redwood",
    "Granite",
]
CORES = [
    "Medical",
    "Surgical",
    "Healthcare",
    "Orthopedics",
    "Diagnostics",
    "Biologics",
    "Life Sciences",
    "Vascular",
    "Dental",
    "Scientific",
    "Laboratory",
    "Pharma",
    "Respiratory",
    "Imaging",
    "Wound Care",
    "Infusion",
    "Cardio",
    "Neuro",
    "Spine",
    "Rehab",
]
SUFFIXES = [
    "Supply",
    "Systems",
    "Technologies",
    "Solutions",
    "Products",
    "Devices",
    "Distributors",
    "Services",
    "Group",
    "Partners",
    "Instruments",
    "Industries",
    "Associates",
    "International",
    "",
]
LEGAL = ["Inc.", "LLC", "Corp.", "Co.", "LP", "Ltd.", "Corporation", "Incorporated", "Inc.", "LLC"]
SURNAMES = [
    "Johnson",
    "Williams",
    "Anderson",
    "Thompson",
    "Martinez",
    "Robinson",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Allen",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Rogers",
    "Reed",
    "Cook",
    "Morgan",
    "Bell",
    "Murphy",
    "Bailey",
    "Cooper",
    "Richardson",
]
# Suppliers from abroad: accented names that mojibake garbles, other legal forms, no US state.
FOREIGN = [
    ("Müller Medizintechnik", "GmbH", "München", "80"),
    ("Schäfer Chirurgie", "GmbH", "Tuttlingen", "78"),
    ("Laboratoires Médicaux Réunis", "S.A.", "Lyon", "69"),
    ("Société Française d'Orthopédie", "SAS", "Paris", "75"),
    ("Hôpital Équipement", "S.A.", "Toulouse", "31"),
    ("Ortopédica Española", "S.A.", "Madrid", "28"),
    ("Björk Medicinteknik", "AB", "Göteborg", "41"),
    ("Zürcher Präzisionsinstrumente", "AG", "Zürich", "80"),
]

_EIN_PREFIXES = [f"{p:02d}" for p in [*range(1, 7), *range(10, 17), *range(20, 28), *range(30, 49), *range(50, 69)]]


ROOTS = ["Medi", "Ortho", "Vascu", "Cardio", "Neuro", "Derma", "Endo", "Arthro", "Sono", "Onco", "Hema", "Lumi", "Nova"]
ROOTS += ["Vita", "Bio", "Gen", "Syn", "Omni", "Acu", "Axo", "Cyto", "Zyg", "Pulmo", "Osteo", "Spina", "Flexi", "Thera"]
ENDINGS = ["tek", "tex", "nix", "vance", "gen", "lyx", "cor", "med", "tronics", "logic", "dyne", "vasc", "ion", "ix"]
ENDINGS += ["era", "ova", "ent", "ica", "sys", "path", "form", "line", "core", "wave", "quest", "view"]
MIDDLES = ["a", "o", "i", "ra", "ri", "lo", "va", "te", "xa", "ne", "mi", "so", "ta", "ve", "ro", "li"]


def _coined(rng: random.Random) -> str:
    """A made-up brand word (Medivance, Orthotalix): tens of thousands of them, so few companies share one."""
    middle = "".join(rng.choice(MIDDLES) for _ in range(rng.choice([0, 1, 1, 2])))
    return rng.choice(ROOTS) + middle + rng.choice(ENDINGS)


def _norm_name(name: str) -> str:
    core, _ = split_legal(name)
    return "".join(ch for ch in core.upper().replace("&", "AND") if ch.isalnum())


def _made_up_name(rng: random.Random) -> tuple[str, str]:
    r = rng.random()
    if r < 0.2:
        a = rng.choice(SURNAMES)
        if rng.random() < 0.4:
            a = f"{a} & {rng.choice(SURNAMES)}"
        kind = rng.choice(["Medical Supply", "Surgical", "Healthcare", "Medical", "Orthopedics", "Scientific"])
        return f"{a} {kind}", f"S|{a}|{kind}"
    if r < 0.3:
        city = rng.choice(CITIES)[0]
        kind = rng.choice(["Surgical Supply", "Medical Supply", "Medical Products", "Home Medical", "Medical Group"])
        return f"{city} {kind}", f"C|{city}|{kind}"
    if r < 0.65:
        coined = _coined(rng)
        tail = rng.choice(["", rng.choice(CORES)]) + " " + rng.choice(SUFFIXES)
        return f"{coined} {tail.strip()}".strip(), f"N|{coined}"
    words = f"{rng.choice(PREFIXES)} {rng.choice(CORES)} {rng.choice(SUFFIXES)}".strip()
    return words, f"P|{words}"


def _name_pool(rng: random.Random, gudid_companies: list[str]):
    """Yield (name, family_key, foreign) forever: real groups and labelers first, then made-up companies.

    A made-up name is used once, except for a few common trade names deliberately registered by unrelated
    companies elsewhere (a hard negative).
    """
    used: set[str] = set()
    for f_index, family in enumerate(FAMILIES):
        for name in family:
            used.add(_norm_name(name))
            yield name, f"F{f_index}", None
    for company in gudid_companies:
        key = _norm_name(company)
        if key not in used:
            used.add(key)
            yield company, f"G|{key}", None
    n = 0
    while True:
        n += 1
        if rng.random() < 0.02:
            core, legal, city, zip2 = rng.choice(FOREIGN)
            if _norm_name(core) not in used or rng.random() < 0.03:
                used.add(_norm_name(core))
                yield f"{core} {legal}", f"X|{core}", (city, zip2)
            continue
        if rng.random() < 0.05:
            # A group of related companies sharing a stem: "Apex Vascular Inc." / "Apex Vascular Devices LLC".
            stem = f"{rng.choice(PREFIXES)} {_coined(rng)}"
            if _norm_name(stem) in used:
                continue
            for suffix in rng.sample(CORES, rng.randint(2, 3)):
                used.add(_norm_name(f"{stem} {suffix}"))
                yield f"{stem} {suffix} {rng.choice(LEGAL)}", f"D|{stem}", None
            continue
        for _ in range(6):
            name, family = _made_up_name(rng)
            key = _norm_name(name)
            if key not in used or rng.random() < 0.03:
                used.add(key)
                yield f"{name} {rng.choice(LEGAL)}", family, None
                break


def entity_pool(rng: random.Random, gudid_companies: list[str]):
    """Yield distinct supplier entities with their own identifiers, address and phone."""
    used_duns, used_ein = set(), set()
    family_campus: dict[str, tuple] = {}
    for name, family, foreign in _name_pool(rng, gudid_companies):
        duns = f"{rng.randrange(10**8, 10**9)}"
        while duns in used_duns:
            duns = f"{rng.randrange(10**8, 10**9)}"
        used_duns.add(duns)
        ein = f"{rng.choice(_EIN_PREFIXES)}{rng.randrange(10**7):07d}"
        while ein in used_ein:
            ein = f"{rng.choice(_EIN_PREFIXES)}{rng.randrange(10**7):07d}"
        used_ein.add(ein)
        if foreign:
            city, zip2 = foreign
            state, postcode, area = "", f"{zip2}{rng.randrange(1000):03d}", ""
            street = (
                f"{rng.choice(['Hauptstraße', 'Rue de la Paix', 'Calle Mayor', 'Industrieweg', 'Avenue Jean Jaurès'])}"
            )
            address = f"{street} {rng.randint(1, 200)}"
            phone = (
                f"+{rng.choice(['49', '33', '34', '46', '41'])} {rng.randrange(10, 99)} {rng.randrange(10**6, 10**7)}"
            )
        else:
            group = family.startswith(("F", "D|"))
            if group and family in family_campus and rng.random() < 0.5:
                # Another company of the group on the same campus: same street, another building or suite.
                city, state, postcode, area, number, street = family_campus[family]
                address = f"{number} {street}, {rng.choice(['Suite', 'Building', 'Bldg'])} {rng.randint(100, 900)}"
            else:
                city, state, zip3, area = rng.choice(CITIES)
                number = rng.randint(1, 19999)
                direction = rng.choice(list(DIRECTIONS)) + " " if rng.random() < 0.2 else ""
                street = f"{direction}{rng.choice(STREETS)} {rng.choice(list(STREET_TYPES))}"
                postcode = f"{zip3}{rng.randrange(100):02d}"
                if group:
                    family_campus.setdefault(family, (city, state, postcode, area, number, street))
                address = f"{number} {street}"
                if rng.random() < 0.35:
                    address += f", Suite {rng.randint(100, 2999)}"
            phone = f"{area}{rng.randrange(200, 999)}{rng.randrange(10**4):04d}"
        yield {
            "name": name,
            "family": family,
            "duns": duns,
            "ein": ein,
            "address": address,
            "city": city,
            "postcode": postcode,
            "zip4": f"{rng.randrange(10**4):04d}",
            "state": state,
            "phone": phone,
            "remit": f"PO Box {rng.randint(100, 99999)}",
        }


FEEDS = ["vendor_master", "gpo", "portal", "legacy"]
FEED_WEIGHTS = [0.3, 0.2, 0.25, 0.25]
SUPPLIER_COLUMNS = ["id", "name", "duns", "ein", "address", "city", "postcode", "state", "phone"]


def _address(entity: dict, rng: random.Random, feed: str) -> str:
    if feed in ("vendor_master", "legacy") and rng.random() < 0.06:
        return entity["remit"] if rng.random() < 0.5 else entity["remit"].upper().replace("PO BOX", "P.O. BOX")
    addr = entity["address"]
    if feed == "gpo":
        return addr if rng.random() < 0.7 else addr.upper()
    words = []
    for word in addr.replace(",", " ,").split():
        if word in STREET_TYPES and rng.random() < 0.7:
            word = rng.choice(STREET_TYPES[word])
        elif word in DIRECTIONS and rng.random() < 0.6:
            word = DIRECTIONS[word]
        elif word in ("Suite", "Building", "Bldg") and rng.random() < 0.6:
            word = rng.choice(["Ste", "STE", "#", "Ste."]) if word == "Suite" else "Bldg"
        words.append(word)
    out = " ".join(words).replace(" ,", ",")
    if rng.random() < 0.15 and "," in out:
        out = out.split(",")[0]
    if rng.random() < 0.6:
        out = out.upper()
    if rng.random() < 0.06:
        out = noise.typo(out, rng)
    return out


def _phone(entity: dict, rng: random.Random, feed: str) -> str:
    if rng.random() < {"vendor_master": 0.2, "gpo": 0.4, "portal": 0.1, "legacy": 0.45}[feed]:
        return ""
    p = entity["phone"]
    if not p[0].isdigit():
        return p
    if rng.random() < 0.04:
        p = p[:3] + f"{rng.randrange(200, 999)}{rng.randrange(10**4):04d}"  # the AR line instead of the main one
    return rng.choice(
        [
            f"({p[:3]}) {p[3:6]}-{p[6:]}",
            f"{p[:3]}-{p[3:6]}-{p[6:]}",
            f"{p[:3]}.{p[3:6]}.{p[6:]}",
            p,
            f"+1 {p[:3]} {p[3:6]} {p[6:]}",
            f"1-{p[:3]}-{p[3:6]}-{p[6:]}",
        ]
    )


def render(entity: dict, feed: str, rng: random.Random) -> tuple:
    """One record of ``entity`` as ``feed`` carries it (without its id): SUPPLIER_COLUMNS[1:]."""
    name = entity["name"]
    if feed == "vendor_master":
        name = name if rng.random() < 0.6 else name.upper()
    elif feed == "gpo":
        name = org_variant(name, rng, abbreviate_p=0.05, suffix_keep=0.85, upper=rng.random() < 0.4)
    else:
        name = org_variant(name, rng, abbreviate_p=0.4, suffix_keep=0.5, upper=True)
        if feed == "legacy" and rng.random() < 0.25:
            name = noise.truncate(name, 28)
    if rng.random() < 0.05:
        name = f"{name} - {entity['city'].upper()}" if rng.random() < 0.5 else f"THE {name}".replace("THE THE", "THE")
    if rng.random() < 0.07:
        name = noise.typo(name, rng)
    if rng.random() < 0.12:
        name = noise.mojibake(name)
    duns = ""
    if rng.random() < {"vendor_master": 0.5, "gpo": 0.6, "portal": 0.45, "legacy": 0.15}[feed]:
        d = entity["duns"]
        duns = d if rng.random() < 0.7 else f"{d[:2]}-{d[2:5]}-{d[5:]}"
    ein = ""
    if rng.random() < {"vendor_master": 0.8, "gpo": 0.4, "portal": 0.7, "legacy": 0.35}[feed]:
        e = entity["ein"]
        ein = f"{e[:2]}-{e[2:]}" if rng.random() < 0.6 else e
    city = entity["city"] if rng.random() < 0.95 else ""
    if city and feed in ("portal", "legacy") and rng.random() < 0.6:
        city = city.upper()
    if city and rng.random() < 0.03:
        city = noise.typo(city, rng)
    if city and rng.random() < 0.05:
        city = noise.mojibake(city)
    postcode = entity["postcode"]
    r = rng.random()
    if r < 0.2 and entity["state"]:
        postcode = f"{postcode}-{entity['zip4']}"
    elif r < 0.25 and postcode.startswith("0"):
        postcode = postcode.lstrip("0")  # a spreadsheet ate the leading zero
    elif r < 0.3:
        postcode = ""
    state = entity["state"]
    if state and rng.random() < 0.15:
        state = STATE_NAMES.get(state, state)
        state = state.upper() if rng.random() < 0.5 else state
    elif state and rng.random() < 0.04:
        state = ""
    return (name, duns, ein, _address(entity, rng, feed), city, postcode, state, _phone(entity, rng, feed))


__all__ = ["ORG_ABBREVIATIONS", "SUPPLIER_COLUMNS", "entity_pool", "render"]
