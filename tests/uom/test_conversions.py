"""Exact unit and item conversions: Decimal in and out, fractions inside, the path of factors, clear errors."""

from decimal import Decimal
from fractions import Fraction

import pytest

from uom.conversions import (
    ConversionError,
    Packaging,
    PackagingLevel,
    base_units_per,
    fraction_to_decimal,
    item_conversion,
    item_convert,
    packaging_problems,
    unit_conversion,
    unit_convert,
)

pytestmark = pytest.mark.django_db

GLOVES = Packaging("EA", (PackagingLevel(0, "EA", 1), PackagingLevel(1, "BX", 100), PackagingLevel(2, "CS", 10)))
VIALS = Packaging(
    "VI", (PackagingLevel(0, "VI", 1), PackagingLevel(1, "CT", 25)), content_quantity=Decimal("30"), content_unit="ML"
)


@pytest.mark.parametrize(
    ("qty", "source", "target", "expected"),
    [
        ("1500", "mg", "g", "1.5"),
        ("1", "L", "mL", "1000"),
        ("0.1", "g", "mg", "100"),
        ("250", "MCG", "MG", "0.25"),
        ("2", "DZ", "EA", "24"),
        ("3", "PR", "EA", "6"),
        ("1", "LB", "G", "453.59237"),  # exact by definition, not 453.592 from a rounded table
        ("1", "OZ", "G", "28.349523125"),
        ("1", "FOZ", "ML", "29.5735295625"),
        ("12", "FR", "MM", "4"),  # French gauge: exactly 1/3 mm
        ("3", "mg/dL", "g/L", "0.03"),  # UCUM expressions that aren't hub units
        ("5", "10*3/uL", "/uL", "5000"),
        ("1", "KGM", "GRM", "1000"),  # UN/ECE Rec 20
        ("1", "C62", "EA", "1"),
        ("1", "WK", "DAY", "7"),
    ],
)
def test_unit_convert_is_exact(qty, source, target, expected):
    result = unit_convert(Decimal(qty), source, target)
    assert isinstance(result, Decimal)
    assert format(result, "f") == expected


def test_no_float_drift_on_repeated_small_steps():
    # 0.1 mg -> g ten thousand times summed in Decimal stays exactly 1 g; floats would drift.
    total = sum((unit_convert(Decimal("0.1"), "mg", "g") for _ in range(10_000)), Decimal(0))
    assert total == Decimal("1")


def test_non_terminating_result_is_rounded_and_flagged():
    conversion = unit_conversion("1", "GRN", "lb")
    assert conversion.exact is False
    assert conversion.factor == Fraction(1, 7000)
    assert conversion.quantity == Decimal("0.0001428571428571428571428571429")
    assert conversion.path[0].as_dict()["factor"] == "1/7000"


def test_fraction_to_decimal_exact_when_it_terminates():
    assert fraction_to_decimal(Fraction(1, 8)) == (Decimal("0.125"), True)
    assert fraction_to_decimal(Fraction(3000, 1)) == (Decimal("3000"), True)
    value, exact = fraction_to_decimal(Fraction(2, 3))
    assert (str(value), exact) == ("0.6666666666666666666666666667", False)


def test_unit_conversion_reports_units_and_path():
    conversion = unit_conversion("2", "KGM", "mg")
    assert (conversion.from_unit.code, conversion.to_unit.code) == ("KG", "MG")
    assert [step.as_dict() for step in conversion.path] == [
        {"from": "KG", "to": "MG", "factor": "1000000", "kind": "unit"}
    ]
    assert conversion.quantity == Decimal("2000000")


@pytest.mark.parametrize(
    ("source", "target", "code", "field"),
    [
        ("mg", "mL", "incompatible_dimensions", "to"),
        ("MG", "EA", "incompatible_dimensions", "to"),
        ("IU", "%", "incompatible_dimensions", "to"),  # both "dimensionless" in pint, not the same thing
        ("MEQ", "MMOL", "incompatible_dimensions", "to"),  # an equivalent depends on the valence
        ("BX", "EA", "needs_item", "from"),
        ("EA", "CS", "needs_item", "to"),
        ("FOO", "EA", "unknown_unit", "from"),
        ("EA", "", "unknown_unit", "to"),
    ],
)
def test_unit_convert_refuses_with_code_and_field(source, target, code, field):
    with pytest.raises(ConversionError) as caught:
        unit_convert(Decimal(1), source, target)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert str(caught.value) == caught.value.message


def test_unknown_unit_message_names_the_unit():
    with pytest.raises(ConversionError, match=r"Unknown unit 'FOO': not a hub unit code, UN/ECE Rec 20"):
        unit_convert(Decimal(1), "FOO", "EA")


@pytest.mark.parametrize("qty", ["abc", "", "NaN", "Infinity", "1e999", None, 1.5, True])
def test_bad_quantities_are_refused(qty):
    with pytest.raises(ConversionError) as caught:
        unit_convert(qty, "mg", "g")
    assert (caught.value.code, caught.value.field) == ("invalid_quantity", "qty")


def test_ints_and_strings_are_quantities():
    assert unit_convert(3, "g", "mg") == Decimal(3000)
    assert unit_convert(" 2.50 ", "g", "mg") == Decimal(2500)


# --- items -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qty", "source", "target", "expected"),
    [
        ("2", "CS", "EA", "2000"),
        ("2", "CS", "BX", "20"),
        ("150", "EA", "BX", "1.5"),
        ("1", "EA", "CS", "0.001"),
        ("3", "BX", "BX", "3"),
        ("1", "DZ", "BX", "0.12"),  # a fixed count through the base unit
        ("1", "XCS", "EA", "1000"),  # the UBL form of a Rec 21 code
    ],
)
def test_item_convert_between_levels(qty, source, target, expected):
    assert format(item_convert(GLOVES, Decimal(qty), source, target), "f") == expected


def test_item_conversion_path_goes_through_the_levels():
    conversion = item_conversion(GLOVES, "1", "CS", "EA")
    assert [(s.from_unit, s.to_unit, s.factor, s.kind) for s in conversion.path] == [
        ("CS", "BX", 10, "packaging"),
        ("BX", "EA", 100, "packaging"),
    ]
    upward = item_conversion(GLOVES, "1", "EA", "CS")
    assert [(s.from_unit, s.to_unit, s.factor) for s in upward.path] == [
        ("EA", "BX", Fraction(1, 100)),
        ("BX", "CS", Fraction(1, 10)),
    ]
    # Converting between two levels uses only the steps between them.
    assert [(s.from_unit, s.to_unit) for s in item_conversion(GLOVES, "1", "CS", "BX").path] == [("CS", "BX")]


def test_item_convert_to_physical_units_through_the_content():
    assert item_convert(VIALS, Decimal(1), "CT", "L") == Decimal("0.75")
    assert item_convert(VIALS, Decimal(45), "mL", "VI") == Decimal("1.5")
    assert item_convert(VIALS, Decimal(2), "VI", "ML") == Decimal(60)
    conversion = item_conversion(VIALS, "1", "CT", "L")
    assert [(s.from_unit, s.to_unit, s.kind) for s in conversion.path] == [
        ("CT", "VI", "packaging"),
        ("VI", "ML", "content"),
        ("ML", "L", "unit"),
    ]


def test_one_box_of_three_is_a_third_rounded_and_flagged():
    packaging = Packaging("EA", (PackagingLevel(0, "EA", 1), PackagingLevel(1, "BX", 3)))
    conversion = item_conversion(packaging, "1", "EA", "BX")
    assert conversion.exact is False
    assert conversion.quantity == Decimal("0.3333333333333333333333333333")
    assert item_convert(packaging, Decimal(3), "EA", "BX") == Decimal(1)


def test_base_units_per():
    assert base_units_per(GLOVES, "CS") == Decimal(1000)
    assert base_units_per(GLOVES, "BX") == Decimal(100)
    assert base_units_per(GLOVES, "EA") == Decimal(1)
    assert base_units_per(VIALS, "ML") == Decimal(1) / Decimal(30)
    assert base_units_per(VIALS, "L") == Decimal("33.33333333333333333333333333")


def test_mass_to_count_without_content_is_refused():
    with pytest.raises(ConversionError) as caught:
        item_convert(GLOVES, Decimal(1), "MG", "EA")
    assert (caught.value.code, caught.value.field) == ("no_content", "from")
    assert "has no content per base unit" in caught.value.message


def test_content_in_another_dimension_is_refused():
    with pytest.raises(ConversionError) as caught:
        item_convert(VIALS, Decimal(1), "VI", "mg")
    assert (caught.value.code, caught.value.field) == ("incompatible_dimensions", "to")
    assert "its content is given in 'ML' (volume)" in caught.value.message


def test_level_the_item_does_not_have_is_refused():
    with pytest.raises(ConversionError) as caught:
        item_convert(GLOVES, Decimal(1), "CT", "EA")
    assert (caught.value.code, caught.value.field) == ("not_in_packaging", "from")
    assert "its levels: EA, BX, CS" in caught.value.message


# --- consistency -------------------------------------------------------------------------------------


def test_consistent_packaging_has_no_problems():
    assert packaging_problems(GLOVES) == {}
    assert packaging_problems(VIALS) == {}


def test_packaging_problems_are_specific():
    broken = Packaging(
        "EA",
        (
            PackagingLevel(0, "EA", 2),
            PackagingLevel(1, "CS", 10),
            PackagingLevel(2, "BX", 0),
            PackagingLevel(4, "CS", 5),
        ),
        content_quantity=Decimal("-1"),
        content_unit="BX",
    )
    problems = packaging_problems(broken)
    assert "without gaps; got [0, 1, 2, 4]" in problems["levels"][0]
    assert any("A BX can't contain a CS" in message for message in problems["levels"])
    assert problems["levels[0]"] == ["Level 0 is one base unit: its quantity must be 1, not 2."]
    assert problems["levels[2]"] == ["Level 2 must hold a whole number of at least 1 of the level below."]
    assert "'CS' is already packaging level 1" in problems["levels[3]"][0]
    assert problems["content"] == [
        "The content must be a physical unit (mL, mg...), not 'BX'.",
        "The content per base unit must be greater than zero.",
    ]


def test_item_rules_check_gtins_per_level():
    # Registered by the item app: each level its own GTIN, and never the variable-measure indicator 9.
    same = Packaging(
        "EA",
        (
            PackagingLevel(0, "EA", 1, "00841470100667"),
            PackagingLevel(1, "BX", 10, "00841470100667"),
            PackagingLevel(2, "CS", 100, "90841470100668"),
        ),
    )
    problems = packaging_problems(same)
    assert "must use different indicator digits (both use 0)" in problems["levels[1]"][0]
    assert "indicator digit 9" in problems["levels[2]"][0]


def test_a_unit_at_two_levels_is_ambiguous_to_convert():
    doubled = Packaging("EA", (PackagingLevel(0, "EA", 1), PackagingLevel(1, "BX", 10), PackagingLevel(2, "BX", 5)))
    with pytest.raises(ConversionError) as caught:
        item_convert(doubled, Decimal(1), "BX", "EA")
    assert caught.value.code == "ambiguous_unit"
