"""SupplierPayloadSerializer: the supplier contract of docs/ingest-payloads.md, field by field."""

import json

import pytest

from mdm import crypto
from suppliers.serializers import SupplierPayloadSerializer
from tests.suppliers.factories import ACCOUNT, GLN, IBAN, supplier_payload


def validate(payload):
    serializer = SupplierPayloadSerializer(data=payload)
    valid = serializer.is_valid()
    # As the ingest service stores them: plain JSON, list indexes as strings.
    return valid, json.loads(json.dumps(serializer.validated_data if valid else serializer.errors, default=str))


def test_valid_payload_is_standardized():
    valid, data = validate(supplier_payload())
    assert valid, data
    assert data["legal_name"] == "Medline Industries, LP"
    assert (data["duns"], data["ein"], data["vat"], data["gln"], data["hibcc_lic"]) == (
        "025483210",
        "36-1234567",
        "DE136695976",
        GLN,
        "M123",
    )
    assert [a["country"] for a in data["addresses"]] == ["US", "US"]
    assert data["addresses"][0]["line2"] == "" and data["addresses"][1]["kind"] == "headquarters"
    assert data["contacts"] == [
        {"name": "Pat Doe", "role": "Accounts receivable", "email": "ar@medline.example", "phone": ""}
    ]
    assert data["screening_status"] == "clear" and data["screened_on"] == "2026-01-15"


def test_standardized_bank_accounts_hold_no_clear_number():
    valid, data = validate(supplier_payload())
    assert valid, data
    text = json.dumps(data)
    assert ACCOUNT not in text and IBAN not in text and "0532 0130" not in text
    us, eu = data["bank_accounts"]
    assert (us["last4"], us["aba_routing"], us["currency"], us["iban_encrypted"]) == ("3210", "021000021", "USD", "")
    assert crypto.decrypt(us["account_number_encrypted"]) == ACCOUNT
    assert (eu["last4"], eu["account_number_encrypted"]) == ("3000", "")
    assert crypto.decrypt(eu["iban_encrypted"]) == IBAN
    assert not {"iban", "account_number"} & (set(us) | set(eu))


def test_minimal_payload_and_nulls_for_optional_fields():
    valid, data = validate({"legal_name": "Acme Surgical", "duns": None, "vat": "", "screened_on": None})
    assert valid, data
    assert data["duns"] == "" and data["vat"] == "" and data["screened_on"] is None
    assert data["screening_status"] == "not_screened"
    assert data["aliases"] == data["addresses"] == data["contacts"] == data["bank_accounts"] == []


def _bank(**fields):
    return {"bank_accounts": [{"holder_name": "Acme", **fields}]}


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"ein": "07-1234567"}, ["ein"], "prefix that the IRS does not issue"),
        ({"ein": "12-345"}, ["ein"], "must be 9 digits"),
        ({"vat": "DE136695977"}, ["vat"], "wrong check digit"),
        ({"gln": "0614141000006"}, ["gln"], "wrong check digit: expected 5"),
        ({"duns": "12345678"}, ["duns"], "must be 9 digits"),
        ({"uei": "0ABC"}, ["uei"], "12 letters/digits"),
        ({"hibcc_lic": "1234"}, ["hibcc_lic"], "4 characters"),
        ({"legal_name": ""}, ["legal_name"], "may not be blank"),
        ({"screening_status": "maybe"}, ["screening_status"], "not a valid choice"),
        ({"screened_on": "15/01/2026"}, ["screened_on"], "wrong format"),
        (_bank(iban="DE88370400440532013000"), ["bank_accounts", "0", "iban"], "wrong check digit"),
        (_bank(aba_routing="021000022", account_number="123456"), ["bank_accounts", "0", "aba_routing"], "check digit"),
        (_bank(aba_routing="021000021", account_number="12"), ["bank_accounts", "0", "account_number"], "4 to 17"),
        (_bank(currency="EURO", iban=IBAN), ["bank_accounts", "0", "currency"], "ISO 4217"),
        (
            _bank(iban=IBAN, aba_routing="021000021", account_number="123456"),
            ["bank_accounts", "0", "iban"],
            "not both",
        ),
        (_bank(aba_routing="021000021"), ["bank_accounts", "0", "account_number"], "required with an ABA"),
        (_bank(account_number="123456"), ["bank_accounts", "0", "aba_routing"], "required with an account number"),
        (_bank(), ["bank_accounts", "0", "iban"], "Give an IBAN, or an ABA routing number"),
        (_bank(holder_name="", iban=IBAN), ["bank_accounts", "0", "holder_name"], "may not be blank"),
        (
            {"addresses": [{"line1": "1 Main St", "city": "Austin", "country": "XX"}]},
            ["addresses", "0", "country"],
            "ISO 3166",
        ),
        ({"addresses": [{"line1": "1 Main St", "city": "Austin"}]}, ["addresses", "0", "country"], "required"),
        (
            {"addresses": [{"line1": "1 Main St", "city": "Austin", "country": "US", "gln": "123"}]},
            ["addresses", "0", "gln"],
            "13 digits",
        ),
        (
            {"addresses": [{"kind": "billing", "line1": "x", "city": "y", "country": "US"}]},
            ["addresses", "0", "kind"],
            "not a valid choice",
        ),
        ({"contacts": [{"name": "Pat", "email": "not-an-email"}]}, ["contacts", "0", "email"], "valid email"),
        ({"contacts": [{"role": "AR"}]}, ["contacts", "0", "name"], "required"),
        ({"aliases": "Medline"}, ["aliases"], "list"),
    ],
)
def test_each_error_names_the_field(change, path, fragment):
    valid, errors = validate({"legal_name": "Acme Surgical", **change})
    assert not valid
    node = errors
    for key in path:
        assert key in node, f"{path} not in {errors}"
        node = node[key]
    assert any(fragment in message for message in node), node
    # Only the broken field is reported (nested errors come under their own list index).
    assert set(errors) == {path[0]}


def test_second_bank_account_error_is_indexed():
    payload = supplier_payload()
    payload["bank_accounts"][1]["iban"] = "DE88370400440532013000"
    valid, errors = validate(payload)
    assert not valid
    assert list(errors["bank_accounts"]) == ["1"]
    assert "wrong check digit" in errors["bank_accounts"]["1"]["iban"][0]
    # The error message never echoes the number back (it is kept in quarantine and shown to stewards).
    assert "DE88370400440532013000" not in json.dumps(errors)
