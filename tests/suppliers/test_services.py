"""Supplier writes: create with children in one transaction, from ingest payloads, rename, retire."""

import json

import pytest
from django.core.exceptions import ValidationError

from mdm.models import GoldenRecordDeleteError, QuarantinedRecord, SourceRecord, StaleVersionError
from mdm.services.golden import golden_create_from_source, golden_set_status
from suppliers.models import Supplier, SupplierAlias, SupplierBankAccount
from suppliers.services import supplier_create, supplier_rename
from tests.suppliers.factories import ABA, ACCOUNT, IBAN, supplier_payload

URL = "/api/v1/source-records/"


def ingest(api, *records, system="odoo-prod"):
    body = {"system": system, "entity_type": "supplier", "records": list(records)}
    response = api.post(URL, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.django_db
class TestSupplierCreate:
    def test_creates_supplier_and_children_with_audit(self, steward, odoo):
        supplier = supplier_create(
            data={
                "legal_name": "Cardinal Health 200, LLC",
                "duns": "12-345-6789",
                "ein": "311234567",
                "aliases": ["Cardinal Health", {"name": "Allegiance Healthcare", "kind": "former"}, "cardinal health"],
                "addresses": [{"kind": "remit_to", "line1": "PO Box 70539", "city": "Chicago", "country": "us"}],
                "contacts": [{"name": "Jo Smith", "email": "jo@cardinal.example"}],
                "bank_accounts": [{"holder_name": "Cardinal Health", "aba_routing": ABA, "account_number": ACCOUNT}],
            },
            system=odoo,
            actor=steward,
            reason="initial load",
        )
        supplier.refresh_from_db()
        assert (supplier.duns, supplier.ein, supplier.version) == ("123456789", "31-1234567", 1)
        assert [(a.name, a.kind, a.system) for a in supplier.aliases.all()] == [
            ("Allegiance Healthcare", "former", odoo),
            ("Cardinal Health", "trading", odoo),
        ]
        assert supplier.addresses.get().country == "US"
        account = supplier.bank_accounts.get()
        assert (account.account_number, account.last4, account.is_primary, account.masked) == (
            ACCOUNT,
            "3210",
            True,
            "••••3210",
        )
        for row in (supplier, supplier.aliases.first(), supplier.addresses.get(), account):
            record = row.history.get()
            assert (record.history_user, record.history_change_reason) == (steward, "initial load")

    def test_invalid_data_names_every_field_and_writes_nothing(self, steward):
        with pytest.raises(ValidationError) as caught:
            supplier_create(
                data={
                    "legal_name": "Acme",
                    "vat": "DE136695977",
                    "addresses": [{"line1": "1 Main", "city": "Austin", "country": "US"}, {"line1": "x", "city": "y"}],
                    "bank_accounts": [
                        {"holder_name": "Acme", "iban": IBAN},
                        {"holder_name": "Acme", "iban": IBAN, "aba_routing": ABA, "account_number": ACCOUNT},
                        {"holder_name": "Acme", "iban": IBAN, "is_primary": True},
                    ],
                },
                actor=steward,
                reason="t",
            )
        errors = caught.value.message_dict
        assert set(errors) == {"vat", "addresses[1].country", "bank_accounts[1].iban"}
        assert "wrong check digit" in errors["vat"][0]
        assert "not both" in errors["bank_accounts[1].iban"][0]
        assert Supplier.objects.count() == 0 and SupplierBankAccount.objects.count() == 0

    def test_two_primary_accounts_are_refused(self, steward):
        with pytest.raises(ValidationError) as caught:
            supplier_create(
                data={
                    "legal_name": "Acme",
                    "bank_accounts": [
                        {"holder_name": "Acme", "iban": IBAN, "is_primary": True},
                        {"holder_name": "Acme", "aba_routing": ABA, "account_number": ACCOUNT, "is_primary": True},
                    ],
                },
                actor=steward,
                reason="t",
            )
        assert "Only one bank account can be primary" in caught.value.message_dict["bank_accounts[1].is_primary"][0]

    def test_unknown_field_is_a_programming_error(self, steward):
        with pytest.raises(ValueError, match="unknown field"):
            supplier_create(data={"legal_name": "Acme", "website": "x"}, actor=steward, reason="t")

    def test_rename_keeps_the_former_name_as_alias(self, steward):
        supplier = supplier_create(data={"legal_name": "Allegiance Corp"}, actor=steward, reason="t")
        supplier_rename(supplier, legal_name="Cardinal Health", actor=steward, reason="acquired", expected_version=1)
        supplier.refresh_from_db()
        assert (supplier.legal_name, supplier.version) == ("Cardinal Health", 2)
        assert [(a.name, a.kind) for a in supplier.aliases.all()] == [("Allegiance Corp", "former")]
        with pytest.raises(StaleVersionError):
            supplier_rename(supplier, legal_name="CAH", actor=steward, reason="x", expected_version=1)


@pytest.mark.django_db
class TestRetireNotDelete:
    def test_supplier_is_retired_never_deleted(self, steward):
        supplier = supplier_create(data={"legal_name": "Acme"}, actor=steward, reason="t")
        with pytest.raises(GoldenRecordDeleteError):
            supplier.delete()
        with pytest.raises(GoldenRecordDeleteError):
            Supplier.objects.all().delete()
        golden_set_status(supplier, status="retired", actor=steward, reason="went out of business")
        supplier.refresh_from_db()
        assert (supplier.status, supplier.version) == ("retired", 2)
        assert Supplier.objects.active().count() == 0
        assert supplier.history.first().history_change_reason == "went out of business"


@pytest.mark.django_db
class TestIngest:
    def test_ingest_stores_standardized_without_clear_bank_numbers_and_rejects_bad_records(self, api, odoo):
        bad = supplier_payload(ein="07-1234567")
        bad["bank_accounts"][1]["iban"] = "DE88370400440532013000"
        ok, rejected = ingest(
            api,
            {"external_id": "res.partner,1001", "payload": supplier_payload()},
            {"external_id": "res.partner,1004", "payload": bad},
        )
        assert ok["outcome"] == "stored" and ok["version"] == 1
        assert rejected["outcome"] == "rejected"
        assert set(rejected["errors"]) == {"ein", "bank_accounts"}
        assert "prefix" in rejected["errors"]["ein"][0]
        assert "wrong check digit" in rejected["errors"]["bank_accounts"]["1"]["iban"][0]
        assert QuarantinedRecord.objects.get().external_id == "res.partner,1004"

        record = SourceRecord.objects.get()
        assert record.standardized["ein"] == "36-1234567" and record.standardized["duns"] == "025483210"
        standardized = json.dumps(record.standardized)
        assert ACCOUNT not in standardized and IBAN not in standardized
        # The raw payload keeps everything the source sent, with the bank numbers sealed (encrypted).
        assert ACCOUNT not in json.dumps(record.payload)
        assert record.payload["bank_accounts"][0]["account_number"]["last4"] == ACCOUNT[-4:]

    def test_same_payload_again_is_unchanged(self, api, odoo):
        record = {"external_id": "res.partner,1001", "payload": supplier_payload()}
        ingest(api, record)
        assert ingest(api, record)[0]["outcome"] == "unchanged"
        assert SourceRecord.objects.count() == 1

    def test_create_golden_from_source_record(self, api, odoo, steward):
        ingest(api, {"external_id": "res.partner,1001", "payload": supplier_payload()})
        record = SourceRecord.objects.get()
        supplier = golden_create_from_source(record, actor=steward)
        supplier.refresh_from_db()
        assert (supplier.legal_name, supplier.ein, supplier.vat, supplier.hibcc_lic) == (
            "Medline Industries, LP",
            "36-1234567",
            "DE136695976",
            "M123",
        )
        assert (supplier.screening_status, str(supplier.screened_on)) == ("clear", "2026-01-15")
        assert sorted(a.name for a in supplier.aliases.all()) == ["MEDLINE INDUSTRIES", "Medline"]
        assert all(a.system == odoo for a in SupplierAlias.objects.all())
        assert [a.kind for a in supplier.addresses.all()] == ["headquarters", "remit_to"]
        us, eu = supplier.bank_accounts.order_by("id")
        assert (us.aba_routing, us.account_number, us.last4, us.currency, us.is_primary) == (
            ABA,
            ACCOUNT,
            "3210",
            "USD",
            True,
        )
        assert (eu.iban, eu.account_number, eu.last4, eu.is_primary) == (IBAN, "", "3000", False)
        crosswalk = record.crosswalk
        crosswalk.refresh_from_db()
        assert (crosswalk.golden_id, crosswalk.link_method, crosswalk.linked_by) == (supplier.pk, "created", steward)
        assert supplier.history.get().history_user == steward

    def test_registry_display(self):
        from mdm import registry

        spec = registry.get("supplier")
        assert spec.model is Supplier and spec.api_path == "suppliers"
        assert spec.display({"legal_name": " Medline Industries, LP "}) == "Medline Industries, LP"
