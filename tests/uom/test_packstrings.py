"""Pack strings: supplier notations and the FDA NDC grammar; ambiguity reported with the reason, never guessed."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from items.models import Item, ItemPackagingLevel
from items.selectors import item_packaging
from items.services import item_create
from uom.conversions import ConversionError, Packaging, PackagingLevel, item_convert
from uom.packstrings import pack_conflicts, pack_parse, pack_string_check
from uom.services import unit_create

pytestmark = pytest.mark.django_db


def levels(parse):
    """Bottom-up (base first) as (unit, quantity of the level below)."""
    return [(level.unit, level.quantity) for level in parse.levels]


@pytest.mark.parametrize(
    ("text", "expected", "notation"),
    [
        ("BX/100", [(None, 1), ("BX", 100)], "unit/count"),
        ("100/BX", [(None, 1), ("BX", 100)], "count/unit"),
        ("12/CS", [(None, 1), ("CS", 12)], "count/unit"),
        ("1,000/cs", [(None, 1), ("CS", 1000)], "count/unit"),
        ("CS 10BX/100EA", [("EA", 1), ("BX", 100), ("CS", 10)], "nested"),
        ("cs 10bx / 100ea", [("EA", 1), ("BX", 100), ("CS", 10)], "nested"),
        ("400/cs, 100/bx:ea", [("EA", 1), ("BX", 100), ("CS", 4)], "base units per level"),
        ("100/bx, 400/cs", [(None, 1), ("BX", 100), ("CS", 4)], "base units per level"),
        ("1 CS = 10 BX", [("BX", 1), ("CS", 10)], "equation"),
        ("1 CS = 10 BX, 1 BX = 100 EA", [("EA", 1), ("BX", 100), ("CS", 10)], "equation"),
        ("BX 100EA", [("EA", 1), ("BX", 100)], "unit count unit"),
        ("100EA/BX", [("EA", 1), ("BX", 100)], "count unit/unit"),
        ("CS/10BX", [("BX", 1), ("CS", 10)], "unit/count unit"),
        ("1/EA", [("EA", 1)], "count/unit"),
        ("EA", [("EA", 1)], "unit"),
        ("XBX/50", [(None, 1), ("BX", 50)], "unit/count"),
    ],
)
def test_supplier_notations(text, expected, notation):
    parse = pack_parse(text)
    assert not parse.ambiguous, parse.reason
    assert (levels(parse), parse.notation) == (expected, notation)


def test_levels_are_bottom_up_and_top_down_is_the_reverse():
    parse = pack_parse("CS 10BX/100EA")
    assert parse.base_unit == "EA"
    assert [level.unit for level in parse.top_down()] == ["CS", "BX", "EA"]
    assert parse.base_units_per_level() == {"EA": 1, "BX": 100, "CS": 1000}


def test_case_of_12_reads_the_shipped_alias():
    call_command("uom_load_codes")
    parse = pack_parse("Case of 12")
    assert (levels(parse), parse.notation) == ([(None, 1), ("CS", 12)], "unit of count")
    assert levels(pack_parse("case  OF 12")) == [(None, 1), ("CS", 12)]


def test_fda_ndc_vial_in_a_can_with_its_content():
    parse = pack_parse("1 VIAL, MULTI-DOSE in 1 CAN > 30 mL in 1 VIAL, MULTI-DOSE")
    assert not parse.ambiguous, parse.reason
    assert parse.notation == "fda-ndc"
    assert levels(parse) == [("VI", 1), ("CA", 1)]  # a can holds one vial
    assert (parse.content_quantity, parse.content_unit) == (Decimal(30), "ML")
    packaging = parse.packaging()
    assert item_convert(packaging, Decimal(2), "CA", "mL") == Decimal(60)


@pytest.mark.parametrize(
    ("text", "expected", "content"),
    [
        ("100 TABLET in 1 BOTTLE", [("TAB", 1), ("BO", 100)], None),
        ("100 TABLET in 1 BOTTLE (0002-3227-30)", [("TAB", 1), ("BO", 100)], None),
        ("1 BOTTLE in 1 CARTON > 100 TABLET in 1 BOTTLE", [("TAB", 1), ("BO", 100), ("CT", 1)], None),
        ("10 BLISTER PACK in 1 CARTON > 10 TABLET in 1 BLISTER PACK", [("TAB", 1), ("BLP", 10), ("CT", 10)], None),
        ("2.5 mL in 1 VIAL", [("VI", 1)], (Decimal("2.5"), "ML")),
        ("25 VIAL in 1 CARTON > 10 mL in 1 VIAL", [("VI", 1), ("CT", 25)], (Decimal(10), "ML")),
    ],
)
def test_fda_ndc_grammar(text, expected, content):
    parse = pack_parse(text)
    assert not parse.ambiguous, parse.reason
    assert levels(parse) == expected
    assert ((parse.content_quantity, parse.content_unit) if parse.content_unit else None) == content


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the pack string is empty."),
        ("hello world", "'hello world' is not a pack notation this parser knows (read as word word)."),
        ("1/DRM", "unknown unit 'DRM'."),
        ("2.5/BX", "'BX' holds 2.5 of the level below; a pack holds a whole number of at least 1."),
        ("50/cs, 100/bx", "a CS (50 base units) can't hold fewer base units than a BX (100) it contains."),
        ("10/cs, 100/bx", "a CS (10 base units) can't hold fewer base units than a BX (100) it contains."),
        ("250/cs, 100/bx:ea", "a CS of 250 base units is not a whole number of BXs of 100."),
        ("100/bx, 100/cs", "two levels hold the same number of base units."),
        ("BX 10CS/100EA", "read as written, a BX can't contain a CS"),
        ("1 CS = 10 BX, 1 CS = 12 BX", "two equations for 'CS' disagree."),
        ("1 CS = 10 BX, 1 PK = 5 EA", "the equations don't form one chain"),
        ("1 KIT in 1 CARTON * 5 mL in 1 VIAL", "a package with several parts (a kit)"),
        ("1 VIAL in 1 CARTON > 30 mL in 1 AMPULE", "part 2 is packed in 'AMPULE', but part 1 contains 'VIAL'"),
        ("10 mL in 1 VIAL > 1 VIAL in 1 CAN", "part 1 is a physical amount (10 mL) that contains further parts."),
        ("3 TABLET in 2 BOTTLE", "'BOTTLE' holds 1.5 of the level below"),
        ("CS 12DZ/10EA", "a DZ is 12 EA, not 10."),
    ],
)
def test_ambiguous_strings_say_why(text, reason):
    parse = pack_parse(text)
    assert parse.ambiguous
    assert parse.levels == ()
    assert reason in parse.reason


def test_x12_feed_ca_is_a_case():
    assert levels(pack_parse("12/CA", system="x12")) == [(None, 1), ("CS", 12)]
    assert levels(pack_parse("12/CA")) == [(None, 1), ("CA", 12)]  # UN/ECE: a can


def test_packaging_fills_in_the_base_unit_and_refuses_a_different_one():
    assert pack_parse("BX/100").packaging(base_unit="EA") == Packaging(
        "EA", (PackagingLevel(0, "EA", 1), PackagingLevel(1, "BX", 100))
    )
    with pytest.raises(ConversionError, match="does not say its base unit"):
        pack_parse("BX/100").packaging()
    with pytest.raises(ConversionError, match="counts in 'EA', but the base unit is 'VI'"):
        pack_parse("BX 100EA").packaging(base_unit="VI")
    with pytest.raises(ConversionError) as caught:
        pack_parse("hello world").packaging(base_unit="EA")
    assert caught.value.code == "ambiguous_pack"


# --- against an item's packaging ---------------------------------------------------------------------

EACH, BOX, CASE = "00841470100667", "10841470100664", "20841470100661"


@pytest.fixture
def trach_tube(steward):
    """A real GUDID hierarchy: a case of 100 boxes of 10 (1,000 each)."""
    for code, name in (("EA", "Each"), ("BX", "Box"), ("CS", "Case")):
        unit_create(code=code, name=name, dimension="count", actor=steward, reason="t")
    return item_create(
        data={
            "description": "Blom tracheostomy tube",
            "item_type": "med_surg",
            "base_unit": "EA",
            "packaging": [
                {"unit": "EA", "quantity": 1, "gtin": EACH},
                {"unit": "BX", "quantity": 10, "gtin": BOX},
                {"unit": "CS", "quantity": 100, "gtin": CASE},
            ],
        },
        actor=steward,
        reason="t",
    )


def test_agreeing_pack_strings_pass(trach_tube):
    packaging = item_packaging(trach_tube.pk)
    for text in ("CS 100BX/10EA", "1000/cs, 10/bx:ea", "BX/10", "10/BX", "1 CS = 100 BX", "CS/100BX"):
        assert pack_conflicts(pack_parse(text), packaging) == [], text
    assert pack_string_check("CS 100BX/10EA", packaging).notation == "nested"
    # A level the item doesn't have yet is new information, not a contradiction.
    assert pack_conflicts(pack_parse("PX 40CS/100BX"), packaging) == []


def test_contradicting_pack_string_is_refused_and_nothing_is_written(trach_tube):
    packaging = item_packaging(trach_tube.pk)
    before = (Item.objects.count(), ItemPackagingLevel.objects.count(), Item.history.count(), trach_tube.version)
    with pytest.raises(ConversionError) as caught:
        pack_string_check("CS 10BX/100EA", packaging)
    assert (caught.value.code, caught.value.field) == ("pack_conflict", "pack_string")
    assert caught.value.message == (
        "Pack string 'CS 10BX/100EA' contradicts the item's packaging: The pack string says one BX holds 100 EA; "
        "the item's packaging says 10 EA."
    )
    trach_tube.refresh_from_db()
    after = (Item.objects.count(), ItemPackagingLevel.objects.count(), Item.history.count(), trach_tube.version)
    assert after == before
    assert [(p.unit.code, p.quantity) for p in trach_tube.packaging_levels.all()] == [
        ("EA", 1),
        ("BX", 10),
        ("CS", 100),
    ]


def test_other_contradictions(trach_tube):
    packaging = item_packaging(trach_tube.pk)
    assert pack_conflicts(pack_parse("12/CS"), packaging) == [
        "The pack string says one CS holds 12 EA; the item's packaging says 1000 EA."
    ]
    assert pack_conflicts(pack_parse("100 TABLET in 1 BOTTLE"), packaging) == [
        "The pack string counts in 'TAB', but the item's base unit is 'EA' and its packaging has no such level."
    ]
    with pytest.raises(ConversionError) as caught:
        pack_string_check("CS 12BX/", packaging)
    assert caught.value.code == "ambiguous_pack"


def test_pack_string_counting_in_a_higher_level_is_compared_in_base_units(trach_tube):
    packaging = item_packaging(trach_tube.pk)
    assert pack_conflicts(pack_parse("1 CS = 100 BX"), packaging) == []
    assert pack_conflicts(pack_parse("1 CS = 50 BX"), packaging) == [
        "The pack string says one CS holds 500 EA; the item's packaging says 1000 EA."
    ]


def test_content_contradiction():
    vial = Packaging("VI", (PackagingLevel(0, "VI", 1), PackagingLevel(1, "CT", 25)), Decimal(30), "ML")
    assert pack_conflicts(pack_parse("25 VIAL in 1 CARTON > 30 mL in 1 VIAL"), vial) == []
    assert pack_conflicts(pack_parse("25 VIAL in 1 CARTON > 10 mL in 1 VIAL"), vial) == [
        "The pack string says one VI contains 10 ML; the item says 30 ML."
    ]
