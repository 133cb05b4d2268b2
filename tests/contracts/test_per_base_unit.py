"""Price per base unit: computed exactly on every write, null when the unit can't be converted, recomputed
when the item's packaging changes."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from contracts.models import ContractPrice, per_base_unit
from contracts.services import contract_prices_recompute
from items.models import ItemPackagingLevel
from mdm.services.golden import golden_save, golden_save_child

D = dt.date


def recomputes(callbacks) -> list:
    """The on-commit callbacks that recompute prices (other apps register their own)."""
    from contracts.signals import RecomputeOnCommit

    return [callback for callback in callbacks if isinstance(callback, RecomputeOnCommit)]


class TestPerBaseUnitArithmetic:
    @pytest.mark.parametrize(
        ("price", "factor", "expected"),
        [
            ("104.5", "1000", "0.1045000000"),
            ("10.00", "12", "0.8333333333"),  # a box of 12: rounded once, to 10 places
            ("2.00", "3", "0.6666666667"),
            ("0", "100", "0E-10"),
            ("99999999.9999", "1", "99999999.9999000000"),
        ],
    )
    def test_exact_division_rounded_once(self, price, factor, expected):
        assert per_base_unit(Decimal(price), Decimal(factor)) == Decimal(expected)
        assert isinstance(per_base_unit(Decimal(price), Decimal(factor)), Decimal)

    def test_half_even_on_the_tenth_place(self):
        # 0.00000000005 exactly half way: to the even neighbour (0), and 0.00000000015 -> 0.0000000002.
        assert per_base_unit(Decimal("0.0005"), Decimal("10000000")) == Decimal("0E-10")
        assert per_base_unit(Decimal("0.0015"), Decimal("10000000")) == Decimal("2E-10")

    def test_a_fraction_of_a_base_unit_is_exact(self):
        # 10.00 per mL of a 30 mL vial is 300 per vial, with no trace of 1/30 rounding.
        assert per_base_unit(Decimal("10"), Fraction(1, 30)) == Decimal("300.0000000000")

    @pytest.mark.parametrize("factor", ["0", "-1"])
    def test_a_unit_holds_a_positive_number_of_base_units(self, factor):
        with pytest.raises(ValueError, match="positive number of base units"):
            per_base_unit(Decimal("1"), Decimal(factor))


@pytest.mark.django_db
class TestComputedOnWrite:
    @pytest.mark.parametrize(
        ("unit", "price", "expected"), [("EA", "0.1200", "0.12"), ("BX", "9.9900", "0.0999"), ("CS", "95", "0.095")]
    )
    def test_per_base_unit_from_the_packaging(self, make_price, packed_item, unit, price, expected):
        line = make_price(price, item=packed_item, unit=unit)
        line.refresh_from_db()
        assert line.price_per_base_unit == Decimal(expected)
        assert line.base_unit.code == "EA"
        assert line.history.get().price_per_base_unit == Decimal(expected)

    def test_unit_not_in_the_packaging_keeps_a_null_figure(self, make_price, item):
        # ``item`` has only its base level (EA): a price per case can't be put per each.
        line = make_price("95.00", item=item, unit="CS")
        line.refresh_from_db()
        assert (line.price_per_base_unit, line.base_unit.code) == (None, "EA")
        assert "not a packaging level of this item" in line.refresh_price_per_base_unit()

    def test_physical_unit_through_the_item_content(self, make_price, steward, more_units):
        from items.services import item_create

        vial = item_create(
            data={
                "description": "Heparin sodium 1,000 units/mL, 30 mL multi-dose vial",
                "item_type": "drug",
                "base_unit": "VL",
                "content_quantity": Decimal("30"),
                "content_unit": "ML",
                "packaging": [{"unit": "VL", "quantity": 1}, {"unit": "BX", "quantity": 25}],
            },
            actor=steward,
            reason="test",
        )
        per_ml = make_price("0.4000", item=vial, unit="ML")
        per_box = make_price("300.0000", item=vial, unit="BX")
        assert per_ml.price_per_base_unit == Decimal("12.0000000000")  # 30 mL x 0.40
        assert per_box.price_per_base_unit == Decimal("12.0000000000")  # 300 / 25 vials
        assert per_ml.base_unit.code == per_box.base_unit.code == "VL"

    def test_a_price_change_moves_the_figure(self, make_price, packed_item, steward):
        line = make_price("9.00", item=packed_item, unit="BX")
        line.price = Decimal("12.00")
        golden_save(line, actor=steward, reason="price change", expected_version=1)
        line.refresh_from_db()
        assert line.price_per_base_unit == Decimal("0.12")
        assert [h.price_per_base_unit for h in line.history.order_by("history_date")] == [
            Decimal("0.09"),
            Decimal("0.12"),
        ]


@pytest.mark.django_db
class TestRecompute:
    def test_recompute_after_the_packaging_changes(self, make_price, make_packed_item, steward):
        gloves = make_packed_item(per_box=100, boxes=10)
        by_box = make_price("10.00", item=gloves, unit="BX")
        by_case = make_price("90.00", item=gloves, unit="CS")
        by_each = make_price("0.11", item=gloves, unit="EA")
        box = ItemPackagingLevel.objects.get(item=gloves, level=1)
        # The manufacturer now packs 50 to a box: nothing changed on the prices yet.
        ItemPackagingLevel.objects.filter(pk=box.pk).update(quantity=50)
        assert ContractPrice.objects.get(pk=by_box.pk).price_per_base_unit == Decimal("0.1")

        assert contract_prices_recompute(gloves.pk, actor=steward) == 2  # the box and the case; each is unchanged
        figures = dict(ContractPrice.objects.values_list("pk", "price_per_base_unit"))
        assert figures == {by_box.pk: Decimal("0.2"), by_case.pk: Decimal("0.18"), by_each.pk: Decimal("0.11")}
        latest = ContractPrice.objects.get(pk=by_box.pk)
        assert latest.version == 2
        record = latest.history.latest()
        assert (record.history_user, record.history_change_reason) == (steward, "price per base unit recomputed")
        assert contract_prices_recompute(gloves.pk) == 0  # nothing left to change: no new history

    def test_a_level_removed_leaves_a_null_figure(self, make_price, make_packed_item):
        gloves = make_packed_item()
        by_case = make_price("90.00", item=gloves, unit="CS")
        ItemPackagingLevel.objects.filter(item=gloves, level=2).delete()
        assert contract_prices_recompute(gloves.pk) == 1
        by_case.refresh_from_db()
        assert by_case.price_per_base_unit is None and by_case.base_unit.code == "EA"

    def test_item_without_prices_is_a_no_op(self, packed_item, django_assert_max_num_queries):
        with django_assert_max_num_queries(3):  # one select, in a savepoint
            assert contract_prices_recompute(packed_item.pk) == 0

    def test_packaging_change_recomputes_once_after_commit(
        self, make_price, make_packed_item, steward, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):  # the item's creation commits
            gloves = make_packed_item()
            by_case = make_price("90.00", item=gloves, unit="CS")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            for level in ItemPackagingLevel.objects.filter(item=gloves, level__gte=1):
                level.quantity = {1: 50, 2: 4}[level.level]
                golden_save_child(level, actor=steward, reason="repacked")
            gloves.description += " (repacked)"
            golden_save(gloves, actor=steward, reason="repacked")
        assert len(recomputes(callbacks)) == 1  # three saves, one recompute
        by_case.refresh_from_db()
        assert by_case.price_per_base_unit == Decimal("0.45")  # 90.00 / (4 x 50)
        assert by_case.history.latest().history_change_reason == (
            "item packaging changed: price per base unit recomputed"
        )

    def test_rolled_back_change_schedules_nothing(
        self, make_price, make_packed_item, steward, django_capture_on_commit_callbacks
    ):
        from django.db import transaction

        with django_capture_on_commit_callbacks(execute=True):  # the item's creation commits
            gloves = make_packed_item()
            make_price("90.00", item=gloves, unit="CS")
        level = ItemPackagingLevel.objects.get(item=gloves, level=2)
        with django_capture_on_commit_callbacks() as callbacks:
            with pytest.raises(RuntimeError), transaction.atomic():
                level.quantity = 4
                golden_save_child(level, actor=steward, reason="repacked")
                raise RuntimeError("abandoned")
            assert recomputes(callbacks) == []
            # The abandoned change does not keep the next, real one from being recomputed.
            level.quantity = 5
            golden_save_child(level, actor=steward, reason="repacked")
        assert [c.item_id for c in recomputes(callbacks)] == [gloves.pk]


@pytest.mark.django_db
def test_recompute_command(make_price, make_packed_item, capsys):
    from django.core.management import call_command

    gloves, other = make_packed_item(), make_packed_item()
    by_case = make_price("90.00", item=gloves, unit="CS")
    make_price("10.00", item=other, unit="BX")
    ItemPackagingLevel.objects.filter(item=gloves, level=2).update(quantity=5)  # 500 EA a case now
    call_command("contract_prices_recompute", "--item", str(gloves.pk))
    assert capsys.readouterr().out.strip() == "1 item(s) checked, 1 price line(s) changed."
    by_case.refresh_from_db()
    assert by_case.price_per_base_unit == Decimal("0.18")
    call_command("contract_prices_recompute")
    assert capsys.readouterr().out.strip() == "2 item(s) checked, 0 price line(s) changed."


@pytest.mark.django_db
def test_admin_shows_the_figure_read_only(client, make_price, packed_item):
    from django.contrib.auth.models import User

    line = make_price("95.00", item=packed_item, unit="CS")
    client.force_login(User.objects.create_superuser("root", password="correct horse battery"))
    page = client.get(f"/admin/contracts/contractprice/{line.pk}/change/").content.decode()
    assert "0.0950000000" in page and 'name="price_per_base_unit"' not in page
    listing = client.get("/admin/contracts/contractprice/").content.decode()
    assert "0.0950000000" in listing
