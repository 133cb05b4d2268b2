"""Bank numbers in raw source payloads: sealed in the database, masked in API and admin, unsealable."""

import pytest
from django.contrib.auth.models import User
from django.db import connection

from mdm.models import QuarantinedRecord, SourceRecord
from mdm.payload_secrets import masked, seal, unseal
from mdm.services.ingest import payload_hash
from tests.suppliers.factories import ACCOUNT, IBAN, supplier_payload

PATHS = ("bank_accounts.*.iban", "bank_accounts.*.account_number")
URL = "/api/v1/source-records/"


def raw_column(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload FROM {table}")  # noqa: S608 - fixed table names
        return " ".join(str(row[0]) for row in cursor.fetchall())


def test_seal_unseal_mask_round_trip(settings):
    payload = supplier_payload()
    sealed = seal(payload, PATHS)
    assert ACCOUNT not in str(sealed) and "0532013000" not in str(sealed)
    assert sealed["bank_accounts"][0]["account_number"]["last4"] == ACCOUNT[-4:]
    assert unseal(sealed, PATHS) == payload
    shown = masked(sealed, PATHS)
    assert shown["bank_accounts"][0]["account_number"] == "••••" + ACCOUNT[-4:]
    assert shown["bank_accounts"][1]["iban"] == "••••3000"
    assert seal(sealed, PATHS) == sealed  # sealing twice changes nothing


@pytest.mark.django_db
def test_ingested_supplier_payload_never_stores_clear_numbers(api, odoo):
    bad = supplier_payload(bank_accounts=[{"holder_name": "X", "iban": "DE89 3704 0044 0532 0130 01"}])
    body = {
        "system": "odoo-prod",
        "entity_type": "supplier",
        "records": [
            {"external_id": "res.partner,1", "payload": supplier_payload()},
            {"external_id": "res.partner,2", "payload": bad},
        ],
    }
    results = api.post(URL, body, format="json").json()["results"]
    assert [r["outcome"] for r in results] == ["stored", "rejected"]

    for table in ("mdm_sourcerecord", "mdm_quarantinedrecord"):
        stored = raw_column(table)
        assert ACCOUNT not in stored and "053201300" not in stored and "0532 0130" not in stored, table

    # The hash is over what the source sent, so the same payload again is unchanged.
    record = SourceRecord.objects.get(external_id="res.partner,1")
    assert record.payload_hash == payload_hash(supplier_payload())
    assert api.post(URL, body, format="json").json()["results"][0]["outcome"] == "unchanged"
    assert unseal(record.payload, PATHS)["bank_accounts"][1]["iban"] == "DE89 3704 0044 0532 0130 00"

    listed = api.get(URL, {"entity_type": "supplier"}).content.decode()
    assert ACCOUNT not in listed and "0532013000" not in listed and "0532 0130 00" not in listed
    assert "••••3210" in listed
    quarantined = api.get("/api/v1/quarantine/").content.decode()
    assert "0532 0130 01" not in quarantined and "••••3001" in quarantined


@pytest.mark.django_db
def test_admin_source_record_page_masks_payload(client, api, odoo):
    api.post(
        URL,
        {
            "system": "odoo-prod",
            "entity_type": "supplier",
            "records": [{"external_id": "p1", "payload": supplier_payload()}],
        },
        format="json",
    )
    client.force_login(User.objects.create_superuser("root", "r@example.org", "correct horse battery"))
    record = SourceRecord.objects.get()
    page = client.get(f"/admin/mdm/sourcerecord/{record.pk}/change/").content.decode()
    assert "Medline Industries" in page
    assert ACCOUNT not in page and IBAN not in page and "0532 0130 00" not in page
    assert "••••3210" in page
    assert QuarantinedRecord.objects.count() == 0
