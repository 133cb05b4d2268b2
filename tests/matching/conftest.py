"""Small, hand-written catalogs for the matching engine (no database needed)."""

import pytest

from mdm.matching import FieldSpec, Matcher, MatchSpec

ITEM_SPEC = MatchSpec(
    entity="item",
    id_field="id",
    fields=(
        FieldSpec("description", "text"),
        FieldSpec("manufacturer", "org_name"),
        FieldSpec("part_number", "identifier", identifier="part_number"),
        FieldSpec("gtin", "identifier", identifier="gtin", multi=True),
    ),
)

# (entity, description, manufacturer, part number, GTIN): several spellings of the same products, plus siblings
# (same words, another size) and a distinct product of another maker.
PRODUCTS = [
    ("glove-l", "Nitrile Exam Glove, Large, Powder-Free", "Medline Industries, Inc.", "MDS195086", "10080196722631"),
    ("glove-m", "Nitrile Exam Glove, Medium, Powder-Free", "Medline Industries, Inc.", "MDS195085", "10080196722624"),
    ("screw-14", "Cortical Screw 3.5X14 Self-Tapping", "Synthes USA", "204.814", "07611819021341"),
    ("screw-16", "Cortical Screw 3.5X16 Self-Tapping", "Synthes USA", "204.816", "07611819021358"),
    (
        "cath-5",
        "PICC Catheter 5 Fr Double Lumen Power Injectable",
        "Bard Access Systems, Inc.",
        "9355108",
        "00801741074363",
    ),
    ("syr-10", "Luer-Lok Syringe 10 mL Sterile", "Becton, Dickinson and Company", "302995", "00382903029952"),
    ("insert-cs", "Tibial Insert CS 10mm", "Consensus Orthopedics, Inc.", "2142-1-0018", "00844588018091"),
    ("stent", "Zimmon Pancreatic Stent 7 Fr", "Cook Incorporated", "SPSOF-7-4", "00827002223516"),
]
VARIANTS = {
    "glove-l": [
        ("GLV EXAM NTRL PF LG", "MEDLINE IND LP", "MDS-195086", ""),
        ("Exam glove nitrile large PF", "Medline Industries", "", "10080196722631"),
    ],
    "glove-m": [("GLV EXAM NTRL PF MED", "MEDLINE INDUSTRIES INC", "MDS195085", "")],
    "screw-14": [("SCR CORTICAL 3.5X14 SELF TAPPING", "SYNTHES USA", "204814", "")],
    "screw-16": [("SCREW, CORTICAL, 3.5 X 16, SELF-TAPPING", "Synthes (USA)", "204.816", "07611819021358")],
    "cath-5": [("CATH PICC 5FR DBL LUM PWR INJ", "BARD ACCESS SYSTEMS INC", "9355108", "")],
    "syr-10": [("SYRINGE LUER LOK 10ML STRL", "BD", "302995", "00382903029952")],
    "insert-cs": [],
    "stent": [("ZIMMON PANCREATIC STENT 7FR", "COOK INC", "", "00827002223516")],
}


def item_records() -> list[dict]:
    records = []
    for entity, desc, maker, part, gtin in PRODUCTS:
        records.append(
            {
                "id": str(len(records) + 1),
                "entity": entity,
                "description": desc,
                "manufacturer": maker,
                "part_number": part,
                "gtin": gtin,
            }
        )
        for vdesc, vmaker, vpart, vgtin in VARIANTS[entity]:
            records.append(
                {
                    "id": str(len(records) + 1),
                    "entity": entity,
                    "description": vdesc,
                    "manufacturer": vmaker,
                    "part_number": vpart or None,
                    "gtin": vgtin or None,
                }
            )
    return records


def true_pairs(records) -> set[tuple[str, str]]:
    out = set()
    for a in records:
        for b in records:
            if a["id"] < b["id"] and a["entity"] == b["entity"]:
                out.add(tuple(sorted((a["id"], b["id"]))))
    return out


@pytest.fixture
def item_spec():
    return ITEM_SPEC


@pytest.fixture
def items():
    return item_records()


@pytest.fixture
def matcher():
    return Matcher(ITEM_SPEC, workers=1)
