"""Creating contracts and prices: directly or from source records; validated, audited, constrained in the DB."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contracts.models import Contract, ContractPrice
from contracts.selectors import contract_prices_for_item
from mdm import registry
from mdm.models import Crosswalk, SourceRecord
from mdm.services.golden import golden_create_from_source, golden_save, golden_set_status
from tests.contracts.test_payload import contract_payload, price_payload

D = dt.date
URL = "/api/v1/source-records/"


def test_contract_and_price_are_registered_with_the_hub():
    contract, price = registry.get("contract"), registry.get("contract_price")
    assert (contract.label, contract.model_label, contract.api_path) == ("Contract", "contracts.Contract", "contracts")
    assert (price.label, price.model_label, price.api_path) == ("Contract price", "contracts.ContractPrice", "prices")
    assert contract.display(contract_payload()) == "VZ-2025-001 MEDLINE INDUSTRIES LP Vizient"
    assert price.display(price_payload()) == "purchase.requisition,3 / product.template,42: 104.5 per Case"


@pytest.mark.django_db
class TestContractCreate:
    def test_creates_with_history_who_and_why(self, contract, steward):
        assert (contract.number, contract.currency, contract.version, contract.status) == (
            "VZ-2025-001",
            "USD",
            1,
            "active",
        )
        record = contract.history.get()
        assert (record.history_user, record.history_change_reason) == (steward, "test")

    def test_currency_is_normalized(self, make_contract):
        assert make_contract(currency=" eur ").currency == "EUR"

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"end_date": D(2024, 12, 31)}, "end_date", "The end date 2024-12-31 is before the start date 2025-01-01"),
            ({"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code"),
            ({"kind": "framework"}, "kind", "is not a valid choice"),
        ],
    )
    def test_bad_input_names_the_field_and_writes_nothing(self, make_contract, change, field, message):
        with pytest.raises(ValidationError) as caught:
            make_contract(**change)
        assert list(caught.value.message_dict) == [field]
        assert message in caught.value.message_dict[field][0]
        assert Contract.objects.count() == 0 and Contract.history.count() == 0

    def test_number_is_unique_per_supplier(self, make_contract, make_supplier, contract):
        with pytest.raises(ValidationError) as caught:
            make_contract("VZ-2025-001")
        assert "already has contract number 'VZ-2025-001'" in caught.value.message_dict["number"][0]
        assert make_contract("VZ-2025-001", supplier=make_supplier("Cardinal Health")).number == "VZ-2025-001"

    def test_in_effect_uses_inclusive_dates_and_the_lifecycle(self, contract, steward):
        assert contract.is_in_effect(D(2025, 1, 1)) and contract.is_in_effect(D(2027, 12, 31))
        assert not contract.is_in_effect(D(2024, 12, 31)) and not contract.is_in_effect(D(2028, 1, 1))
        assert [contract.term(day) for day in (D(2024, 12, 31), D(2026, 6, 1), D(2028, 1, 1))] == [
            "pending",
            "in_effect",
            "expired",
        ]
        golden_set_status(contract, status="retired", actor=steward, reason="superseded")
        assert not contract.is_in_effect(D(2026, 6, 1))
        assert contract.term(D(2026, 6, 1)) == "in_effect"  # expiry comes from the dates alone


@pytest.mark.django_db
class TestContractPriceCreate:
    def test_creates_with_history(self, make_price, steward):
        price = make_price("104.5")
        price.refresh_from_db()
        assert (price.price, price.unit.code, price.min_quantity, price.contract.prices.get()) == (
            Decimal("104.5000"),
            "BX",
            1,
            price,
        )
        assert price.history.get().history_user == steward

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"price": "-0.01"}, "price", "A price cannot be negative."),
            ({"price": "1.23456"}, "price", "Ensure that there are no more than 4 decimal places."),
            ({"end_date": D(2024, 12, 31)}, "end_date", "The end date 2024-12-31 is before the start date"),
            ({"start_date": D(2024, 12, 1)}, "start_date", "before contract VZ-2025-001 starts (2025-01-01)"),
            ({"end_date": D(2028, 1, 31)}, "end_date", "after contract VZ-2025-001 ends (2027-12-31)"),
            ({"min_quantity": 0}, "min_quantity", "The minimum quantity is at least 1."),
        ],
    )
    def test_bad_input_names_the_field_and_writes_nothing(self, make_price, change, field, message):
        with pytest.raises(ValidationError) as caught:
            make_price(**change)
        assert list(caught.value.message_dict) == [field]
        assert message in caught.value.message_dict[field][0]
        assert ContractPrice.objects.count() == 0 and ContractPrice.history.count() == 0

    def test_one_price_per_tier_and_day(self, make_price, steward):
        first = make_price("10.00")
        with pytest.raises(ValidationError) as caught:
            make_price("9.00", start_date=D(2025, 12, 31), end_date=D(2026, 6, 30))
        assert f"Contract price {first.pk} already prices this item" in caught.value.message_dict["start_date"][0]
        # Another tier, another unit, or the next day are separate prices.
        make_price("9.00", min_quantity=100)
        make_price("95.00", unit="CS")
        make_price("9.50", start_date=D(2026, 1, 1), end_date=D(2026, 12, 31))
        # A retired price no longer blocks its days.
        golden_set_status(first, status="retired", actor=steward, reason="wrong price")
        make_price("11.00")
        assert ContractPrice.objects.count() == 5

    def test_best_applicable_price_for_an_order(self, make_price, item):
        make_price("10.00")
        make_price("9.00", min_quantity=100)
        make_price("8.00", min_quantity=1000)
        prices = contract_prices_for_item(item, on_date=D(2025, 6, 1), quantity=150)
        assert [str(p.price) for p in prices] == ["9.0000", "10.0000"]
        assert not contract_prices_for_item(item, on_date=D(2026, 6, 1)).exists()


@pytest.mark.django_db
class TestDatabaseConstraints:
    """The database refuses what the serializers and services refuse, even when they are bypassed."""

    def test_negative_price_is_refused_on_insert(self, contract, item, units):
        with pytest.raises(IntegrityError), transaction.atomic():
            ContractPrice.objects.create(
                contract=contract,
                item=item,
                unit=units["EA"],
                price=Decimal("-1"),
                start_date=D(2025, 1, 1),
                end_date=D(2025, 12, 31),
            )
        assert ContractPrice.objects.count() == 0

    def test_negative_price_is_refused_on_update(self, make_price):
        price = make_price("10.00")
        with pytest.raises(IntegrityError), transaction.atomic():
            ContractPrice.objects.filter(pk=price.pk).update(price=Decimal("-0.0001"))
        price.refresh_from_db()
        assert price.price == Decimal("10.0000")

    @pytest.mark.parametrize("field", ["min_quantity", "end_date"])
    def test_price_tier_and_dates_are_checked(self, make_price, field):
        price = make_price("10.00")
        value = {"min_quantity": 0, "end_date": D(2024, 1, 1)}[field]
        with pytest.raises(IntegrityError), transaction.atomic():
            ContractPrice.objects.filter(pk=price.pk).update(**{field: value})

    def test_contract_end_before_start_is_refused(self, contract):
        with pytest.raises(IntegrityError), transaction.atomic():
            Contract.objects.filter(pk=contract.pk).update(end_date=D(2024, 1, 1))

    def test_contract_number_is_unique_per_supplier(self, contract):
        with pytest.raises(IntegrityError), transaction.atomic():
            Contract.objects.create(
                number=contract.number,
                supplier=contract.supplier,
                kind="local",
                start_date=D(2025, 1, 1),
                end_date=D(2025, 1, 1),
                currency="USD",
            )


def ingest(api, entity_type, records):
    response = api.post(URL, {"system": "odoo-prod", "entity_type": entity_type, "records": records}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def source(entity_type, external_id):
    return SourceRecord.objects.get(entity_type=entity_type, external_id=external_id, is_current=True)


@pytest.mark.django_db
class TestFromSourceRecords:
    def test_contract_and_prices_from_odoo(self, api, steward, odoo, units, supplier, item, link):
        link(odoo, "supplier", "res.partner,7", supplier)
        link(odoo, "item", "product.template,42", item)
        results = ingest(api, "contract", [{"external_id": "purchase.requisition,3", "payload": contract_payload()}])
        assert results[0]["outcome"] == "stored"
        record = source("contract", "purchase.requisition,3")
        assert record.standardized["currency"] == "USD" and record.standardized["supplier"] == "res.partner,7"
        contract = golden_create_from_source(record, actor=steward, reason="initial load")
        assert (contract.number, contract.supplier, contract.kind, contract.gpo_name, contract.currency) == (
            "VZ-2025-001",
            supplier,
            "gpo",
            "Vizient",
            "USD",
        )
        assert (contract.start_date, contract.end_date) == (D(2025, 1, 1), D(2027, 12, 31))
        assert (record.crosswalk.golden_id, record.crosswalk.link_method) == (contract.pk, "created")
        assert contract.history.get().history_change_reason == "initial load"

        results = ingest(
            api,
            "contract_price",
            [
                {"external_id": "line,1", "payload": price_payload()},
                {"external_id": "line,2", "payload": price_payload(unit="EA", price="1.1234", min_quantity=None)},
            ],
        )
        assert [r["outcome"] for r in results] == ["stored", "stored"]
        tier, each = (
            golden_create_from_source(source("contract_price", ext), actor=steward) for ext in ("line,1", "line,2")
        )
        assert (tier.contract, tier.item, tier.unit.code, tier.price, tier.min_quantity) == (
            contract,
            item,
            "CS",
            Decimal("104.5000"),
            10,
        )
        assert (each.unit.code, each.price, each.min_quantity) == ("EA", Decimal("1.1234"), 1)
        assert sorted(contract.prices.values_list("pk", flat=True)) == sorted([tier.pk, each.pk])
        assert Crosswalk.objects.get(entity_type="contract_price", external_id="line,1").golden_id == tier.pk

    @pytest.mark.parametrize("crosswalk_exists", [False, True])
    def test_unlinked_supplier_is_a_clear_error(self, api, steward, odoo, crosswalk_exists):
        if crosswalk_exists:  # the supplier was received but no steward linked or created it yet
            Crosswalk.objects.create(system=odoo, entity_type="supplier", external_id="res.partner,7")
        ingest(api, "contract", [{"external_id": "purchase.requisition,3", "payload": contract_payload()}])
        record = source("contract", "purchase.requisition,3")
        with pytest.raises(ValidationError) as caught:
            golden_create_from_source(record, actor=steward)
        message = caught.value.message_dict["supplier"][0]
        assert "supplier 'res.partner,7' from odoo-prod is not linked to a golden supplier yet" in message
        assert Contract.objects.count() == 0
        record.crosswalk.refresh_from_db()
        assert record.crosswalk.golden_id is None

    def test_supplier_of_another_system_does_not_count(self, api, steward, catalog, odoo, supplier, link):
        link(catalog, "supplier", "res.partner,7", supplier)
        ingest(api, "contract", [{"external_id": "c", "payload": contract_payload()}])
        with pytest.raises(ValidationError, match="from odoo-prod is not linked"):
            golden_create_from_source(source("contract", "c"), actor=steward)

    def test_unlinked_contract_and_item_are_named(self, api, steward, odoo, units):
        ingest(api, "contract_price", [{"external_id": "line,1", "payload": price_payload()}])
        with pytest.raises(ValidationError) as caught:
            golden_create_from_source(source("contract_price", "line,1"), actor=steward)
        errors = caught.value.message_dict
        assert set(errors) == {"contract", "item"}
        assert (
            "contract 'purchase.requisition,3' from odoo-prod is not linked to a golden contract yet"
            in (errors["contract"][0])
        )
        assert "item 'product.template,42' from odoo-prod is not linked to a golden item yet" in errors["item"][0]
        assert ContractPrice.objects.count() == 0

    def test_price_outside_the_contract_fails_at_golden_creation(self, api, steward, odoo, units, contract, item, link):
        link(odoo, "contract", "purchase.requisition,3", contract)
        link(odoo, "item", "product.template,42", item)
        ingest(api, "contract_price", [{"external_id": "l", "payload": price_payload(end_date="2029-01-01")}])
        with pytest.raises(ValidationError) as caught:
            golden_create_from_source(source("contract_price", "l"), actor=steward)
        assert "after contract VZ-2025-001 ends (2027-12-31)" in caught.value.message_dict["end_date"][0]
        assert ContractPrice.objects.count() == 0


@pytest.mark.django_db
def test_contract_as_of_sees_its_prices_as_they_were(contract, make_price, steward):
    price = make_price("10.00")
    before = timezone.now()
    price.price = Decimal("9.5")
    golden_save(price, actor=steward, reason="price change", expected_version=1)
    make_price("8.00", min_quantity=100)

    then = Contract.history.as_of(before).get(pk=contract.pk)
    assert [(p.pk, p.price) for p in then.prices.all()] == [(price.pk, Decimal("10.0000"))]
    assert sorted(p.price for p in contract.prices.all()) == [Decimal("8.0000"), Decimal("9.5000")]
