"""Price lookup and comparison (the service): tiers by converted quantity, inclusive dates, precedence, reasons."""

import datetime as dt
from decimal import Decimal

import pytest

from contracts.lookup import PriceLookupError, price_compare, price_lookup
from mdm.services.golden import golden_set_status

D = dt.date
SPRING = D(2025, 4, 1)


def outcomes(lookup) -> dict[int, str]:
    return {candidate.id: candidate.outcome for candidate in lookup.candidates}


@pytest.mark.django_db
class TestLookup:
    def test_gpo_comes_before_a_cheaper_distributor_price(self, market):
        lookup = price_lookup(item_id=market["item"].pk, quantity=Decimal(250), unit="EA", on_date=D(2025, 2, 1))
        chosen = lookup.chosen
        assert chosen.id == market["gpo_box"].pk
        assert (chosen.quantity_in_unit, chosen.price_per_base_unit, chosen.extended_amount) == (
            Decimal("2.5"),
            Decimal("0.1"),
            Decimal("25"),
        )
        assert lookup.quantity_in_base_units == Decimal(250) and lookup.base_unit == "EA"
        assert outcomes(lookup) == {
            market["gpo_box"].pk: "chosen",
            market["gpo_box_10"].pk: "tier_not_reached",
            market["gpo_case"].pk: "tier_not_reached",
            market["distributor_each"].pk: "lower_precedence",
        }  # the local agreement starts in March: not a candidate on 1 February
        assert lookup.candidates[0] is chosen
        assert "The order of 250 EA is 2.5 BX, which reaches this tier." in lookup.reason
        assert "local agreements come before GPO agreements, which come before distributor" in lookup.reason
        why = {c.id: c.why for c in lookup.candidates}
        assert why[market["gpo_case"].pk] == "This tier starts at 1 CS; the order of 250 EA is 0.25 CS."
        assert why[market["gpo_box_10"].pk] == "This tier starts at 10 BX; the order of 250 EA is 2.5 BX."

    def test_local_agreement_wins_when_its_tier_is_reached(self, market):
        lookup = price_lookup(item_id=market["item"].pk, quantity=Decimal(2), unit="CS", on_date=SPRING)
        assert lookup.chosen.id == market["local_case_2"].pk
        assert lookup.chosen.price_per_base_unit == Decimal("0.098")
        assert outcomes(lookup) == {
            market["local_case_2"].pk: "chosen",
            market["gpo_box"].pk: "higher_tier_applies",  # 20 BX reach the 10 BX tier of the same contract
            market["gpo_box_10"].pk: "lower_precedence",
            market["gpo_case"].pk: "lower_precedence",
            market["distributor_each"].pk: "lower_precedence",
        }

    def test_below_the_local_tier_the_cheapest_gpo_price_per_base_unit(self, market):
        lookup = price_lookup(item_id=market["item"].pk, quantity=Decimal(1), unit="CS", on_date=SPRING)
        assert lookup.chosen.id == market["gpo_case"].pk  # 0.09 per EA beats 9.50 / 100 = 0.095
        result = outcomes(lookup)
        assert result[market["gpo_box_10"].pk] == "higher_price_per_base_unit"
        assert result[market["local_case_2"].pk] == "tier_not_reached"
        assert "Among the GPO agreements that apply it has the lowest price per EA." in lookup.reason

    def test_one_supplier(self, market):
        lookup = price_lookup(
            item_id=market["item"].pk, quantity=Decimal(7), on_date=SPRING, supplier_id=market["cardinal"].pk
        )
        assert lookup.chosen.id == market["distributor_each"].pk
        assert lookup.unit == "EA"  # the base unit by default
        assert [c.id for c in lookup.candidates] == [market["distributor_each"].pk]
        assert lookup.reason.endswith("It is the only price that applies.")
        assert lookup.chosen.extended_amount == Decimal("0.56")

    def test_dates_are_inclusive_at_both_ends(self, market):
        item = market["item"].pk
        assert price_lookup(item_id=item, on_date=D(2025, 1, 1)).chosen is not None
        assert price_lookup(item_id=item, on_date=D(2025, 12, 31)).chosen is not None
        after = price_lookup(item_id=item, on_date=D(2026, 1, 1))
        assert after.chosen is None and after.candidates == []
        assert after.reason == f"Item {item} has no price in effect on 2026-01-01 (dates are inclusive)."
        local = price_lookup(
            item_id=item, quantity=Decimal(2), unit="CS", on_date=D(2025, 6, 30), supplier_id=market["owens"].pk
        )
        assert local.chosen.id == market["local_case_2"].pk

    def test_no_price_for_the_quantity_says_why(self, market):
        lookup = price_lookup(
            item_id=market["item"].pk, quantity=Decimal(1), unit="CS", on_date=SPRING, supplier_id=market["owens"].pk
        )
        assert lookup.chosen is None
        assert lookup.reason == (
            f"None of the 1 price(s) from supplier {market['owens'].pk} in effect on 2025-04-01 applies to 1 CS: "
            "1 tier not reached by the quantity."
        )
        assert lookup.candidates[0].why == "This tier starts at 2 CS; the order is 1 CS."

    def test_most_recent_start_breaks_a_tie_on_price(self, market, make_contract, make_price):
        newer = make_contract("VZ-2", supplier=market["medline"], kind="gpo", start_date=D(2025, 2, 1))
        later = make_price("90.00", contract=newer, item=market["item"], unit="CS", start_date=D(2025, 2, 1))
        lookup = price_lookup(item_id=market["item"].pk, quantity=Decimal(1), unit="CS", on_date=SPRING)
        assert lookup.chosen.id == later.pk
        assert outcomes(lookup)[market["gpo_case"].pk] == "older_start"
        same_day = make_contract("VZ-3", supplier=market["medline"], kind="gpo", start_date=D(2025, 2, 1))
        twin = make_price("90.00", contract=same_day, item=market["item"], unit="CS", start_date=D(2025, 2, 1))
        lookup = price_lookup(item_id=market["item"].pk, quantity=Decimal(1), unit="CS", on_date=SPRING)
        assert lookup.chosen.id == later.pk and outcomes(lookup)[twin.pk] == "tie_higher_id"

    def test_inactive_retired_and_unconvertible_candidates_are_explained(self, market, make_price, steward, units):
        golden_set_status(market["gpo_box"], status="inactive", actor=steward, reason="under review")
        golden_set_status(market["distributor_each"].contract, status="retired", actor=steward, reason="ended")
        from uom.services import unit_create

        unit_create(code="PL", name="Pallet", dimension="count", actor=steward, reason="test")
        pallet = make_price(
            "5000.00", contract=market["gpo_case"].contract, item=market["item"], unit="PL", min_quantity=1
        )
        assert pallet.price_per_base_unit is None
        lookup = price_lookup(item_id=market["item"].pk, quantity=Decimal(3), unit="BX", on_date=SPRING)
        result = outcomes(lookup)
        assert result[market["gpo_box"].pk] == "price_inactive"
        assert result[market["distributor_each"].pk] == "contract_inactive"
        assert result[pallet.pk] == "unit_not_convertible"
        assert lookup.chosen is None  # 3 BX is 0.3 CS: the case tier is not reached either
        assert "1 price line not active" in lookup.reason and "1 contract not active" in lookup.reason

    def test_a_packaging_change_is_seen_by_the_next_lookup(self, market, steward, django_assert_num_queries):
        from items.models import ItemPackagingLevel
        from mdm.services.golden import golden_save_child

        item = market["item"].pk
        lookup = price_lookup(item_id=item, quantity=Decimal(250), unit="EA", on_date=SPRING)
        assert lookup.chosen.quantity_in_unit == Decimal("2.5")
        with django_assert_num_queries(1):  # the packaging is cached while its fingerprint holds
            price_lookup(item_id=item, quantity=Decimal(250), unit="EA", on_date=SPRING)
        box = ItemPackagingLevel.objects.get(item_id=item, level=1)
        box.quantity = 50  # repacked: 50 to a box
        golden_save_child(box, actor=steward, reason="repacked")
        lookup = price_lookup(item_id=item, quantity=Decimal(250), unit="EA", on_date=SPRING)
        assert [c.quantity_in_unit for c in lookup.candidates if c.unit == "BX"] == [Decimal(5), Decimal(5)]

    def test_retired_prices_are_not_candidates(self, market, steward):
        golden_set_status(market["distributor_each"], status="retired", actor=steward, reason="withdrawn")
        lookup = price_lookup(item_id=market["item"].pk, on_date=SPRING, supplier_id=market["cardinal"].pk)
        assert lookup.candidates == [] and lookup.chosen is None

    def test_prices_in_two_currencies_need_a_choice(self, market, make_contract, make_price, make_supplier):
        euro = make_contract("EU-1", supplier=make_supplier("B. Braun"), kind="distributor", currency="EUR")
        in_euro = make_price("0.07", contract=euro, item=market["item"], unit="EA")
        item = market["item"].pk
        with pytest.raises(PriceLookupError) as caught:
            price_lookup(item_id=item, quantity=Decimal(5), on_date=SPRING)
        assert caught.value.field == "currency" and caught.value.code == "several_currencies"
        assert "Prices in EUR and USD apply to this item on 2025-04-01" in caught.value.message
        lookup = price_lookup(item_id=item, quantity=Decimal(5), on_date=SPRING, currency="EUR")
        assert lookup.chosen.id == in_euro.pk
        assert outcomes(lookup)[market["distributor_each"].pk] == "other_currency"

    @pytest.mark.parametrize(
        ("kwargs", "field", "code", "message"),
        [
            ({"item_id": 999_999}, "item", "unknown_item", "There is no item 999999."),
            ({"unit": "XX"}, "unit", "unknown_unit", "XX"),
            ({"unit": "KG"}, "unit", None, ""),
            ({"quantity": Decimal(0)}, "qty", "not_positive", "The quantity must be a number above zero, not 0."),
            ({"quantity": Decimal(-2)}, "qty", "not_positive", "above zero"),
            ({"supplier_id": 999_999}, "supplier", "unknown_supplier", "No supplier 999999."),
        ],
    )
    def test_bad_input(self, market, steward, kwargs, field, code, message):
        if kwargs.get("unit") == "KG":
            from uom.services import unit_create

            unit_create(code="KG", name="Kilogram", dimension="mass", ucum_code="kg", actor=steward, reason="test")
        with pytest.raises(PriceLookupError) as caught:
            price_lookup(**{"item_id": market["item"].pk, "on_date": SPRING, **kwargs})
        assert caught.value.field == field
        if code:
            assert caught.value.code == code
        assert message in caught.value.message


@pytest.mark.django_db
class TestCompare:
    def test_entry_tiers_per_base_unit_with_the_spread(self, market):
        comparison = price_compare(item_id=market["item"].pk, on_date=SPRING)
        rows = [
            (row.supplier_name, row.price.id, row.price.price_per_base_unit, row.difference, row.difference_percent)
            for row in comparison.rows
        ]
        assert rows == [
            ("Cardinal Health", market["distributor_each"].pk, Decimal("0.08"), Decimal(0), Decimal("0.00")),
            ("Medline Industries, LP", market["gpo_case"].pk, Decimal("0.09"), Decimal("0.01"), Decimal("12.50")),
            ("Owens & Minor", market["local_case_2"].pk, Decimal("0.098"), Decimal("0.018"), Decimal("22.50")),
        ]
        assert comparison.spread == {
            "lowest": Decimal("0.08"),
            "highest": Decimal("0.098"),
            "absolute": Decimal("0.018"),
            "percent": Decimal("22.50"),
            "suppliers": 3,
        }
        assert (comparison.currency, comparison.base_unit, comparison.quantity) == ("USD", "EA", None)
        medline = [row for row in comparison.rows if row.supplier_id == market["medline"].pk][0].price
        assert medline.outcome == "chosen"
        assert comparison.without_price == []

    def test_for_a_quantity_suppliers_without_an_applicable_price_are_listed(self, market):
        comparison = price_compare(item_id=market["item"].pk, on_date=SPRING, quantity=Decimal(1), unit="CS")
        assert [row.supplier_name for row in comparison.rows] == ["Cardinal Health", "Medline Industries, LP"]
        assert comparison.without_price == [
            {
                "supplier_id": market["owens"].pk,
                "supplier_name": "Owens & Minor",
                "reason": f"None of the 1 price(s) from supplier {market['owens'].pk} in effect on 2025-04-01 applies "
                "to 1 CS: 1 tier not reached by the quantity.",
            }
        ]

    def test_one_query_for_the_prices(self, market, django_assert_max_num_queries):
        price_compare(item_id=market["item"].pk, on_date=SPRING)  # warm the unit registry and packaging cache
        with django_assert_max_num_queries(1):
            price_compare(item_id=market["item"].pk, on_date=SPRING)

    def test_nothing_to_compare(self, packed_item):
        comparison = price_compare(item_id=packed_item.pk, on_date=SPRING)
        assert comparison.rows == [] and comparison.spread is None and comparison.currency is None
