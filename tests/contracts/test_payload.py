"""Contract and contract price payloads: each bad input is refused with a field-named reason, nothing written."""

import pytest

from contracts.models import Contract, ContractPrice
from contracts.serializers import ContractPayloadSerializer, ContractPricePayloadSerializer
from mdm.models import Crosswalk, QuarantinedRecord, SourceRecord

URL = "/api/v1/source-records/"


def contract_payload(**extra):
    return {
        "number": "VZ-2025-001",
        "supplier": "res.partner,7",
        "supplier_name": "MEDLINE INDUSTRIES LP",
        "kind": "gpo",
        "gpo_name": "Vizient",
        "start_date": "2025-01-01",
        "end_date": "2027-12-31",
        "currency": "usd",
        **extra,
    }


def price_payload(**extra):
    return {
        "contract": "purchase.requisition,3",
        "item": "product.template,42",
        "unit": "Case",
        "price": "104.5",
        "min_quantity": 10,
        "start_date": "2025-01-01",
        "end_date": "2025-12-31",
        **extra,
    }


def validate(serializer_class, payload, system):
    serializer = serializer_class(data=payload, context={"system": system})
    return serializer.is_valid(), (serializer.validated_data if serializer.is_valid() else serializer.errors)


@pytest.mark.django_db
class TestContractPayload:
    def test_valid_payload_is_standardized(self, odoo):
        ok, data = validate(ContractPayloadSerializer, contract_payload(kind="GPO", supplier=7), odoo)
        assert ok, data
        assert (data["currency"], data["kind"], data["supplier"]) == ("USD", "gpo", "7")
        assert str(data["start_date"]) == "2025-01-01"

    def test_only_the_documented_fields_are_required(self, odoo):
        ok, errors = validate(ContractPayloadSerializer, {}, odoo)
        assert not ok
        assert set(errors) == {"number", "supplier", "kind", "start_date", "end_date", "currency"}

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"end_date": "2024-12-31"}, "end_date", "The end date 2024-12-31 is before the start date 2025-01-01"),
            ({"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code"),
            ({"currency": "dollars"}, "currency", "is not an ISO 4217 currency code"),
            ({"kind": "framework"}, "kind", "is not a valid choice"),
            ({"start_date": "01/02/2025"}, "start_date", "Date has wrong format"),
        ],
    )
    def test_bad_input_names_the_field(self, odoo, change, field, message):
        ok, errors = validate(ContractPayloadSerializer, contract_payload(**change), odoo)
        assert not ok
        assert set(errors) == {field}
        assert message in errors[field][0]

    def test_same_day_start_and_end_is_fine(self, odoo):
        ok, _ = validate(ContractPayloadSerializer, contract_payload(end_date="2025-01-01"), odoo)
        assert ok


@pytest.mark.django_db
class TestContractPricePayload:
    def test_valid_payload_is_standardized(self, odoo, units):
        ok, data = validate(ContractPricePayloadSerializer, price_payload(), odoo)
        assert ok, data
        assert (data["unit"], str(data["price"]), data["min_quantity"]) == ("CS", "104.5000", 10)

    def test_min_quantity_defaults_to_one(self, odoo, units):
        payload = price_payload()
        del payload["min_quantity"]
        assert validate(ContractPricePayloadSerializer, payload, odoo)[1]["min_quantity"] == 1
        assert validate(ContractPricePayloadSerializer, price_payload(min_quantity=None), odoo)[1]["min_quantity"] == 1

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"end_date": "2024-06-30"}, "end_date", "The end date 2024-06-30 is before the start date 2025-01-01"),
            ({"price": "-0.01"}, "price", "A price cannot be negative."),
            ({"price": "1.23456"}, "price", "A price has at most 4 decimal places"),
            ({"price": "12,50"}, "price", "A price is a decimal number"),
            ({"price": "1234567890123.5"}, "price", "at most 10 digits before the decimal point"),
            ({"unit": "PALLET"}, "unit", "Unknown unit 'PALLET'"),
            ({"min_quantity": 0}, "min_quantity", "The minimum quantity (the tier) is at least 1."),
        ],
    )
    def test_bad_input_names_the_field(self, odoo, units, change, field, message):
        ok, errors = validate(ContractPricePayloadSerializer, price_payload(**change), odoo)
        assert not ok
        assert set(errors) == {field}
        assert message in errors[field][0]

    def test_alias_of_another_system_is_unknown(self, catalog, units):
        ok, errors = validate(ContractPricePayloadSerializer, price_payload(), catalog)
        assert not ok and "Unknown unit 'Case'" in errors["unit"][0]


@pytest.mark.django_db
class TestBadInputThroughIngest:
    """Through POST /api/v1/source-records/: rejected with the field named, quarantined, nothing stored."""

    def assert_nothing_stored(self):
        assert SourceRecord.objects.count() == 0
        assert Crosswalk.objects.count() == 0
        assert Contract.objects.count() == 0 and ContractPrice.objects.count() == 0

    @pytest.mark.parametrize(
        ("entity_type", "payload", "field", "message"),
        [
            ("contract", contract_payload(end_date="2024-12-31"), "end_date", "is before the start date"),
            ("contract", contract_payload(currency="XYZ"), "currency", "'XYZ' is not an ISO 4217 currency code"),
            ("contract_price", price_payload(price="-5"), "price", "A price cannot be negative."),
            ("contract_price", price_payload(price="0.00001"), "price", "at most 4 decimal places"),
            ("contract_price", price_payload(unit="PALLET"), "unit", "Unknown unit 'PALLET'"),
            ("contract_price", price_payload(end_date="2024-01-01"), "end_date", "is before the start date"),
        ],
    )
    def test_rejected_with_the_field_named(self, api, odoo, units, entity_type, payload, field, message):
        body = {
            "system": "odoo-prod",
            "entity_type": entity_type,
            "records": [{"external_id": "x1", "payload": payload}],
        }
        response = api.post(URL, body, format="json")
        assert response.status_code == 200, response.content
        result = response.json()["results"][0]
        assert result["outcome"] == "rejected"
        assert list(result["errors"]) == [field]
        assert message in result["errors"][field][0]
        assert QuarantinedRecord.objects.get().errors == result["errors"]
        self.assert_nothing_stored()
