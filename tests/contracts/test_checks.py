"""Price checks: overlaps, expiring contracts, anomalies per base unit, unconvertible units -> steward tasks."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from contracts.checks import prices_check, robust_scale, robust_z
from contracts.models import ContractPrice
from contracts.services import contract_price_create
from contracts.tasks import prices_check_task
from items.models import ItemPackagingLevel
from mdm.models import StewardTask
from mdm.services.golden import golden_save_child, golden_set_status

D = dt.date
TODAY = D(2025, 4, 1)


def open_tasks(kind: str) -> list[StewardTask]:
    return list(StewardTask.objects.filter(kind=kind, status="open").order_by("id"))


class TestRobustStatistics:
    def test_median_absolute_deviation(self):
        values = [Decimal(v) for v in ("0.10", "0.11", "0.12", "0.10", "0.11", "0.30")]
        scale = robust_scale(values)
        assert (scale.median, scale.mad, scale.scale) == (Decimal("0.11"), Decimal("0.01"), Decimal("0.014826"))
        assert scale.method == "1.4826 x MAD"
        assert robust_z(Decimal("0.30"), scale).quantize(Decimal("0.01")) == Decimal("12.82")

    def test_mad_zero_falls_back_to_the_mean_absolute_deviation(self):
        values = [Decimal(v) for v in ("0.10", "0.10", "0.10", "0.11", "0.50")]
        scale = robust_scale(values)
        assert (scale.median, scale.mad) == (Decimal("0.10"), Decimal("0.00"))
        assert scale.scale == Decimal("1.2533") * Decimal("0.082")
        assert "MAD is 0" in scale.method
        assert robust_z(Decimal("0.50"), scale) > Decimal("3.5") > robust_z(Decimal("0.11"), scale)

    def test_all_equal_has_no_outlier(self):
        scale = robust_scale([Decimal("4.2")] * 5)
        assert scale.scale == 0 and robust_z(Decimal("4.2"), scale) is None


@pytest.fixture
def priced_by(make_contract, make_price, make_supplier, packed_item):
    """``priced_by("0.10", "0.12")``: one price per EA of the packed item per value, each from its own supplier."""
    counter = iter(range(1000))

    def make(*values, item=packed_item, **extra):
        lines = []
        for value in values:
            n = next(counter)
            contract = make_contract(f"C-{n:03d}", supplier=make_supplier(f"Supplier {n}"))
            lines.append(make_price(value, contract=contract, item=item, unit="EA", **extra))
        return lines

    return make


@pytest.mark.django_db
class TestOverlaps:
    def test_two_contracts_of_one_supplier_pricing_one_tier(self, make_contract, make_price, supplier, packed_item):
        gpo = make_contract("VZ-1", supplier=supplier)
        local = make_contract("L-9", supplier=supplier, kind="local", gpo_name="")
        first = make_price("10.00", contract=gpo, item=packed_item, unit="BX")
        second = make_price(
            "9.80", contract=local, item=packed_item, unit="BX", start_date=D(2025, 7, 1), end_date=D(2026, 6, 30)
        )
        make_price("9.00", contract=local, item=packed_item, unit="BX", min_quantity=10)  # another tier: fine
        report = prices_check(on_date=TODAY, checks=["price_overlap"])
        assert (report.found, report.opened, report.closed) == (
            {"price_overlap": 1},
            {"price_overlap": 1},
            {"price_overlap": 0},
        )
        [task] = open_tasks("price_overlap")
        assert (task.entity_type, task.object_id, task.priority) == ("contract_price", second.pk, 1)
        assert task.dedupe_key == f"price_overlap:{first.pk}:{second.pk}"
        assert task.details["overlap_start"] == "2025-07-01" and task.details["overlap_end"] == "2025-12-31"
        assert [p["price_id"] for p in task.details["prices"]] == [first.pk, second.pk]
        assert f"Prices {first.pk} and {second.pk} overlap from 2025-07-01 to 2025-12-31" in task.title

        # Re-running refreshes the open task; retiring one of the prices closes it.
        assert prices_check(on_date=TODAY, checks=["price_overlap"]).opened == {"price_overlap": 0}
        assert len(open_tasks("price_overlap")) == 1
        golden_set_status(second, status="retired", actor=None, reason="duplicate")
        report = prices_check(on_date=TODAY, checks=["price_overlap"])
        assert report.closed == {"price_overlap": 1} and open_tasks("price_overlap") == []
        task.refresh_from_db()
        assert task.status == "resolved" and "no longer finds" in task.resolution_note

    def test_other_suppliers_and_days_do_not_overlap(self, make_contract, make_price, make_supplier, packed_item):
        mine = make_contract("VZ-1")
        theirs = make_contract("VZ-1", supplier=make_supplier("Cardinal Health"))
        make_price("10.00", contract=mine, item=packed_item, unit="BX")
        make_price("10.00", contract=theirs, item=packed_item, unit="BX")
        make_price(
            "10.00", contract=mine, item=packed_item, unit="BX", start_date=D(2026, 1, 1), end_date=D(2026, 2, 1)
        )
        assert prices_check(on_date=TODAY, checks=["price_overlap"]).found == {"price_overlap": 0}

    def test_database_refuses_an_overlap_within_a_contract(self, make_price, contract, packed_item, units):
        """PostgreSQL: an exclusion constraint. SQLite has none: the code check and this nightly check remain."""
        first = make_price("10.00", item=packed_item, unit="BX")
        twin = ContractPrice(
            contract=contract,
            item=packed_item,
            unit=units["BX"],
            price=Decimal("11.00"),
            start_date=D(2025, 6, 1),
            end_date=D(2025, 6, 30),
        )
        if connection.vendor == "postgresql":
            with pytest.raises(IntegrityError, match="contract_price_no_overlap"), transaction.atomic():
                ContractPrice.objects.bulk_create([twin])
            assert ContractPrice.objects.count() == 1
            # A retired price does not hold its days.
            golden_set_status(first, status="retired", actor=None, reason="replaced")
            ContractPrice.objects.bulk_create([twin])
        else:
            ContractPrice.objects.bulk_create([twin])
            [task] = [prices_check(on_date=TODAY, checks=["price_overlap"]), *open_tasks("price_overlap")][1:]
            assert task.dedupe_key == f"price_overlap:{first.pk}:{ContractPrice.objects.latest('id').pk}"
        assert ContractPrice.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_cannot_both_store_an_overlapping_tier(steward, units, make_packed_item, make_contract):
    """A second writer whose check ran before the first committed still fails (PostgreSQL: the exclusion
    constraint; SQLite: writes are serialized, so its check sees the first price)."""
    item, contract = make_packed_item(), make_contract()
    fields = {"contract": contract, "item": item, "unit": units["BX"], "start_date": D(2025, 1, 1)}
    first_written, second_done = threading.Event(), threading.Event()
    outcome = {}

    def second_writer():
        first_written.wait(10)
        try:
            contract_price_create(price="9.00", end_date=D(2025, 3, 31), actor=steward, reason="t2", **fields)
            outcome["second"] = "stored"
        except ValidationError as exc:
            outcome["second"] = exc.message_dict["start_date"][0]
        finally:
            connection.close()
            second_done.set()

    writer = threading.Thread(target=second_writer)
    writer.start()
    with transaction.atomic():
        # Written without the code check, as if its check had run before the second writer's.
        ContractPrice.objects.bulk_create([ContractPrice(price=Decimal("10.00"), end_date=D(2025, 12, 31), **fields)])
        first_written.set()
        second_done.wait(1)  # the second writer is now blocked (on the row or on the write lock)
    writer.join(30)
    assert ContractPrice.objects.count() == 1
    if connection.vendor == "postgresql":  # its check passed; the exclusion constraint refused the insert
        assert "was stored at the same time and overlaps 2025-01-01 to 2025-03-31" in outcome["second"]
    else:  # it waited for the write lock, then its check saw the first price
        assert "already prices this item per this unit from quantity 1" in outcome["second"]


@pytest.mark.django_db
class TestExpiringContracts:
    @pytest.fixture
    def contracts(self, make_contract, make_supplier):
        def ending(number, end, **extra):
            return make_contract(number, start_date=D(2024, 1, 1), end_date=end, **extra)

        return {
            "soon": ending("E-10", TODAY + dt.timedelta(days=10)),
            "later": ending("E-45", TODAY + dt.timedelta(days=45)),
            "edge": ending("E-60", TODAY + dt.timedelta(days=60)),
            "far": ending("E-61", TODAY + dt.timedelta(days=61)),
            "ended": ending("E-X", TODAY - dt.timedelta(days=1)),
            "retired": ending("E-R", TODAY + dt.timedelta(days=5), status="retired"),
        }

    def test_tasks_for_contracts_ending_within_the_warning_days(self, contracts, make_price, packed_item):
        soon = contracts["soon"]
        make_price("1.00", contract=soon, item=packed_item, unit="EA", end_date=soon.end_date)
        report = prices_check(on_date=TODAY, checks=["contract_expiring"])
        assert report.found == {"contract_expiring": 3}  # 10, 45 and 60 days: both ends included
        tasks = {task.object_id: task for task in open_tasks("contract_expiring")}
        assert set(tasks) == {contracts[k].pk for k in ("soon", "later", "edge")}
        soon = tasks[contracts["soon"].pk]
        assert (soon.priority, soon.due_date, soon.entity_type) == (1, D(2025, 4, 11), "contract")
        assert soon.details["days_left"] == 10 and soon.details["active_prices"] == 1
        assert soon.dedupe_key == f"contract_expiring:{contracts['soon'].pk}:2025-04-11"
        assert "ends on 2025-04-11, in 10 day(s)" in soon.title
        assert tasks[contracts["later"].pk].priority == 2

    def test_the_warning_days_are_a_setting(self, contracts, settings):
        settings.MDM_CONTRACT_EXPIRY_WARNING_DAYS = 30
        prices_check(on_date=TODAY, checks=["contract_expiring"])
        assert [t.object_id for t in open_tasks("contract_expiring")] == [contracts["soon"].pk]

    def test_an_extension_closes_the_task(self, contracts, steward):
        from mdm.services.golden import golden_save

        prices_check(on_date=TODAY, checks=["contract_expiring"])
        soon = contracts["soon"]
        soon.end_date = D(2027, 12, 31)
        golden_save(soon, actor=steward, reason="extended")
        report = prices_check(on_date=TODAY, checks=["contract_expiring"])
        assert report.closed == {"contract_expiring": 1}
        assert soon.pk not in [t.object_id for t in open_tasks("contract_expiring")]


@pytest.mark.django_db
class TestAnomalies:
    def test_a_price_far_above_the_median(self, priced_by):
        lines = priced_by("0.10", "0.11", "0.12", "0.10", "0.11", "0.30")
        report = prices_check(on_date=TODAY, checks=["price_anomaly"])
        assert report.found == {"price_anomaly": 1}
        [task] = open_tasks("price_anomaly")
        assert (task.object_id, task.dedupe_key) == (lines[-1].pk, f"price_anomaly:{lines[-1].pk}")
        details = task.details
        assert {k: details[k] for k in ("price_per_base_unit", "median", "mad", "scale", "robust_z")} == {
            "price_per_base_unit": "0.3000000000",
            "median": "0.1100000000",
            "mad": "0.0100000000",
            "scale": "0.01482600000000",
            "robust_z": "12.8153",
        }
        assert (details["threshold"], details["direction"], details["deviation_percent"]) == ("3.5", "above", "172.7")
        assert details["lines_compared"] == 6 and details["base_unit"] == "EA" and details["currency"] == "USD"
        assert "robust z 12.82" in task.title and "above the item's median 0.11" in task.title

    def test_mad_zero_and_a_price_below(self, priced_by):
        lines = priced_by("0.10", "0.10", "0.10", "0.10", "0.01")
        prices_check(on_date=TODAY, checks=["price_anomaly"])
        [task] = open_tasks("price_anomaly")
        assert task.object_id == lines[-1].pk and task.details["direction"] == "below"
        assert task.details["scale_method"] == "1.2533 x mean absolute deviation (MAD is 0)"

    @pytest.mark.parametrize(
        "values",
        [
            ("0.10", "0.10", "0.10", "0.10"),  # all equal
            ("0.10", "0.90"),  # too few to say which is odd
            ("10.00", "10.00", "10.00", "10.00", "10.01"),  # an outlier by z, but 0.1 % is not worth a task
        ],
    )
    def test_no_anomaly(self, priced_by, values):
        priced_by(*values)
        assert prices_check(on_date=TODAY, checks=["price_anomaly"]).found == {"price_anomaly": 0}

    def test_per_base_unit_makes_units_comparable_and_old_prices_do_not_count(self, priced_by, make_price, contract):
        lines = priced_by("0.10", "0.11", "0.10")
        item = lines[0].item
        make_price("105.00", contract=contract, item=item, unit="CS")  # 0.105 per EA: normal
        priced_by("0.90", start_date=D(2025, 1, 1), end_date=D(2025, 1, 31))  # ended before the check date
        assert prices_check(on_date=TODAY, checks=["price_anomaly"]).found == {"price_anomaly": 0}
        outlier = make_price("1000.00", contract=contract, item=item, unit="BX")  # 10 per EA
        prices_check(on_date=TODAY, checks=["price_anomaly"])
        assert [t.object_id for t in open_tasks("price_anomaly")] == [outlier.pk]


@pytest.mark.django_db
class TestUnconvertibleUnits:
    def test_task_until_the_packaging_knows_the_unit(self, make_price, packed_item, steward, units):
        from uom.services import unit_create

        pallet = unit_create(code="PL", name="Pallet", dimension="count", actor=steward, reason="test")
        line = make_price("4000.00", item=packed_item, unit="PL")
        prices_check(on_date=TODAY, checks=["price_unit_unconvertible"])
        [task] = open_tasks("price_unit_unconvertible")
        assert (task.object_id, task.dedupe_key) == (line.pk, f"price_unit_unconvertible:{line.pk}:PL")
        assert task.details["problem"].startswith("'PL' (Pallet) is not a packaging level of this item")
        assert task.details["packaging"] == ["EA x1", "BX x100", "CS x10"] and task.details["base_unit"] == "EA"

        # The item gets its pallet level (40 cases); the check recomputes the figure and closes the task.
        golden_save_child(
            ItemPackagingLevel(item=packed_item, level=3, unit=pallet, quantity=40), actor=steward, reason="pallet"
        )
        report = prices_check(on_date=TODAY, checks=["price_unit_unconvertible"])
        assert (report.recomputed, report.closed) == (1, {"price_unit_unconvertible": 1})
        line.refresh_from_db()
        assert line.price_per_base_unit == Decimal("0.1")  # 4000 / (40 x 10 x 100)


@pytest.mark.django_db
class TestEntryPoints:
    def test_management_command(self, priced_by, capsys):
        priced_by("0.10", "0.11", "0.12", "0.10", "0.11", "0.30")
        call_command("prices_check", "--date", "2025-04-01", "--check", "price_anomaly")
        out = capsys.readouterr().out
        assert out.startswith("Price checks on 2025-04-01: price_anomaly: 1 found, 1 new task(s), 0 closed.")
        call_command("prices_check", "--date", "2025-04-01")
        assert "price_overlap: 0 found" in capsys.readouterr().out

    def test_management_command_refuses_a_bad_date(self):
        with pytest.raises(CommandError, match="--date '1.4.2025' is not a date in the form YYYY-MM-DD"):
            call_command("prices_check", "--date", "1.4.2025")

    def test_celery_task_is_registered_and_runs_the_checks(self, priced_by):
        from mdm.celery import app

        app.loader.import_default_modules()
        assert app.tasks["contracts.prices_check"].name == "contracts.prices_check"
        priced_by("0.10", "0.11", "0.12", "0.10", "0.11", "0.30")
        result = prices_check_task("2025-04-01")
        assert result["found"]["price_anomaly"] == 1 and result["on_date"] == "2025-04-01"

    def test_nightly_schedule_is_in_the_database(self):
        from django_celery_beat.models import PeriodicTask

        task = PeriodicTask.objects.get(name="Nightly price checks")
        assert (task.task, task.enabled, task.crontab.hour, task.crontab.minute) == (
            "contracts.prices_check",
            True,
            "2",
            "30",
        )

    def test_unknown_check_is_refused(self):
        with pytest.raises(ValueError, match="unknown price check"):
            prices_check(checks=["price_gossip"])
