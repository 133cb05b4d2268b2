"""Real package hierarchies from the FDA GUDID sample: conversions and GTIN-14 indicator rules on every one."""

import csv
from collections import defaultdict
from decimal import Decimal
from math import prod
from pathlib import Path

import pytest

from mdm.identifiers import gtin_indicator, gtin_item_reference
from uom.conversions import (
    Packaging,
    PackagingLevel,
    base_units_per,
    item_conversion,
    item_convert,
    packaging_problems,
)

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "gudid_package_hierarchies.csv"
LEVEL_UNITS = ("EA", "BX", "CS", "PX")


def _read():
    packages = defaultdict(list)
    with open(DATA, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["device_id_type"] == "Package":
                packages[row["primary_di"]].append(row)
    chains, branched = {}, {}
    for primary, rows in packages.items():
        by_child = defaultdict(list)
        for row in rows:
            by_child[row["contains_di_number"]].append(row)
        if any(len(parents) > 1 for parents in by_child.values()):
            branched[primary] = rows
            continue
        chain, current = [(primary, 1)], primary
        while current in by_child:
            row = by_child[current][0]
            chain.append((row["device_id"], int(row["pkg_quantity"])))
            current = row["device_id"]
        if len(chain) == len(rows) + 1:
            chains[primary] = chain
        else:
            branched[primary] = rows
    return chains, branched


CHAINS, BRANCHED = _read()


def packaging_of(chain) -> Packaging:
    """A GUDID chain (base DI first, then each package DI with how many of the level below it holds)."""
    return Packaging(
        "EA",
        tuple(
            PackagingLevel(level, LEVEL_UNITS[level], quantity, gtin) for level, (gtin, quantity) in enumerate(chain)
        ),
    )


def test_the_sample_has_the_expected_hierarchies():
    assert len(CHAINS) == 426
    assert len(BRANCHED) == 56
    assert CHAINS["00841470100667"] == [("00841470100667", 1), ("10841470100664", 10), ("20841470100661", 100)]


def test_trach_tube_case_of_100_boxes_of_10():
    packaging = packaging_of(CHAINS["00841470100667"])
    assert base_units_per(packaging, "CS") == Decimal(1000)
    assert item_convert(packaging, Decimal(3), "CS", "BX") == Decimal(300)
    assert item_convert(packaging, Decimal(2500), "EA", "CS") == Decimal("2.5")
    conversion = item_conversion(packaging, "1", "CS", "EA")
    assert [step.as_dict() for step in conversion.path] == [
        {"from": "CS", "to": "BX", "factor": "100", "kind": "packaging"},
        {"from": "BX", "to": "EA", "factor": "10", "kind": "packaging"},
    ]
    levels = packaging.levels
    assert [gtin_indicator(level.gtin) for level in levels] == [0, 1, 2]
    assert len({gtin_item_reference(level.gtin) for level in levels}) == 1


@pytest.mark.parametrize("primary", sorted(CHAINS))
def test_every_real_chain_converts_exactly_and_passes_the_rules(primary):
    chain = CHAINS[primary]
    packaging = packaging_of(chain)
    assert packaging_problems(packaging) == {}
    top = LEVEL_UNITS[len(chain) - 1]
    eaches = prod(quantity for _gtin, quantity in chain)
    assert base_units_per(packaging, top) == eaches
    # Round trip through every level is exact, whatever the quantities (12, 25, 40...).
    for level in range(len(chain)):
        unit = LEVEL_UNITS[level]
        per = prod(quantity for _gtin, quantity in chain[: level + 1])
        assert item_convert(packaging, Decimal(eaches), "EA", unit) == Decimal(eaches // per)
        assert item_convert(packaging, Decimal(eaches // per), unit, "EA") == Decimal(eaches)
    # GTIN-14: levels that share an item reference carry different indicator digits.
    by_reference = defaultdict(list)
    for gtin, _quantity in chain:
        by_reference[gtin_item_reference(gtin)].append(gtin_indicator(gtin))
    assert all(len(set(indicators)) == len(indicators) for indicators in by_reference.values())


def test_two_real_cases_reuse_indicator_0_under_a_new_item_reference():
    # GS1 allows a case its own GTIN-13 (indicator 0) with another item reference; the rules accept it.
    reused = [p for p, chain in CHAINS.items() if len({gtin_indicator(g) for g, _ in chain}) < len(chain)]
    assert sorted(reused) == ["00841470100445", "00841470100469"]
    for primary in reused:
        assert packaging_problems(packaging_of(CHAINS[primary])) == {}


def test_each_branch_of_a_branched_device_is_its_own_valid_hierarchy():
    # 00814371020037 comes in a pack of 2 and a pack of 4 of the same device: two hierarchies, not one.
    for primary, rows in BRANCHED.items():
        for row in rows:
            if row["contains_di_number"] != primary:
                continue
            packaging = packaging_of([(primary, 1), (row["device_id"], int(row["pkg_quantity"]))])
            assert packaging_problems(packaging) == {}, (primary, row["device_id"])
            assert base_units_per(packaging, "BX") == int(row["pkg_quantity"])


def test_breaking_the_gtin_rules_on_real_data_is_caught():
    chain = CHAINS["00841470100667"]
    # The box given the case's GTIN: two levels, one GTIN.
    duplicated = packaging_of([chain[0], (chain[2][0], chain[1][1]), chain[2]])
    problems = packaging_problems(duplicated)
    assert problems["levels[2]"] == [
        "GTIN '20841470100661' is already given for packaging level 1: each level needs its own GTIN. Levels "
        "sharing item reference 084147010066 must use different indicator digits (both use 2)."
    ]
    # A variable-measure GTIN (indicator 9) on a fixed-quantity level.
    variable = packaging_of([chain[0], chain[1], ("90841470100668", 100)])
    assert "indicator digit 9" in packaging_problems(variable)["levels[2]"][0]
    # A case that holds fewer eaches than its box: impossible as levels, caught in the counts.
    from uom.conversions import eaches_problems

    assert eaches_problems([("BX", Decimal(10)), ("CS", Decimal(5))]) == [
        "a CS of 5 base units can't contain a BX of 10: it would hold fewer base units than the pack inside it."
    ]
