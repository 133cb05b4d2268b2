"""The supplier stewardship adapter: snapshot, validate, update, merge of aliases, survivorship input, search."""

import json

import pytest
from django.core.exceptions import ValidationError

from mdm import registry
from mdm.services.changes import same_value
from mdm.services.ingest import to_json
from suppliers import stewardship
from suppliers.models import Supplier, SupplierAlias, SupplierBankAccount
from suppliers.serializers import SupplierPayloadSerializer
from suppliers.services import supplier_create, supplier_update
from tests.suppliers.factories import ABA, ACCOUNT, GLN, IBAN, VAT, SupplierFactory, supplier_payload

pytestmark = pytest.mark.django_db

ADAPTER = stewardship.ADAPTER
PRINTED_IBAN = "DE89 3704 0044 0532 0130 00"


@pytest.fixture
def medline(steward):
    return supplier_create(
        data={
            "legal_name": "Medline Industries, LP",
            "duns": "025483210",
            "ein": "36-1234567",
            "gln": GLN,
            "aliases": ["Medline", {"name": "MEDLINE IND LP", "kind": "source_variant"}],
            "bank_accounts": [
                {"holder_name": "Medline Industries, LP", "aba_routing": ABA, "account_number": ACCOUNT},
                {"holder_name": "Medline International B.V.", "iban": IBAN, "currency": "EUR"},
            ],
        },
        actor=steward,
        reason="test",
    )


def messages(exc) -> dict:
    return exc.value.message_dict


def test_the_adapter_is_registered_with_the_supplier_spec():
    spec = registry.get("supplier")
    assert spec.stewardship is ADAPTER
    assert ADAPTER.fields[0] == "legal_name" and {"aliases", "bank_accounts"} <= set(ADAPTER.fields)
    assert set(ADAPTER.sensitive) == {"ein", "vat", "bank_accounts"} and ADAPTER.low_risk == ("aliases",)
    assert set(ADAPTER.labels) == set(ADAPTER.fields)


def test_snapshot_is_json_and_masks_bank_numbers(medline):
    snap = ADAPTER.snapshot(medline)
    text = json.dumps(snap, ensure_ascii=False)
    assert ACCOUNT not in text and IBAN not in text and "0532013000" not in text
    assert snap["aliases"] == ["Medline", "MEDLINE IND LP"]
    assert snap["ein"] == "36-1234567" and snap["screened_on"] is None
    primary, other = snap["bank_accounts"]
    assert primary["is_primary"] and primary["account"] == "••••3210" and primary["aba_routing"] == ABA
    assert other["account"] == "••••3000" and not other["is_primary"]
    assert len(primary["fingerprint"]) == 12 and primary["fingerprint"] != other["fingerprint"]
    assert {"iban", "account_number"}.isdisjoint(primary)


@pytest.mark.parametrize(
    "changes, key, text",
    [
        ({"ein": "00-1234567"}, "ein", "prefix"),
        ({"duns": "12345"}, "duns", "9 digits"),
        ({"colour": "blue"}, "colour", "Not a supplier field"),
        ({"legal_name": "  "}, "legal_name", "blank"),
        ({"screening_status": "maybe"}, "screening_status", "not a valid choice"),
        ({"screened_on": "15/01/2026"}, "screened_on", "YYYY-MM-DD"),
        ({"screened_on": "2999-01-01"}, "screened_on", "future"),
        ({"aliases": ["ok", ""]}, "aliases[1]", "needs a name"),
        ({"bank_accounts": [{"holder_name": "X", "iban": "DE89370400440532013001"}]}, "bank_accounts[0].iban", "check"),
        ({"bank_accounts": [{"holder_name": "X", "aba_routing": ABA}]}, "bank_accounts[0].account_number", "required"),
        ({"bank_accounts": [{"iban": IBAN}]}, "bank_accounts[0].holder_name", "blank"),
        ({"bank_accounts": [{"holder_name": "X", "iban": IBAN, "pin": "1"}]}, "bank_accounts[0].pin", "Not a bank"),
    ],
)
def test_validate_reports_each_problem_on_its_field(medline, changes, key, text):
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate(changes, medline)
    assert key in messages(exc), messages(exc)
    assert text in " ".join(messages(exc)[key])


def test_only_one_bank_account_may_be_primary(medline):
    accounts = [
        {"holder_name": "A", "iban": IBAN, "is_primary": True},
        {"holder_name": "B", "aba_routing": ABA, "account_number": ACCOUNT, "is_primary": True},
    ]
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate({"bank_accounts": accounts}, medline)
    assert list(messages(exc)) == ["bank_accounts[1].is_primary"]
    assert "Only one bank account can be primary" in messages(exc)["bank_accounts[1].is_primary"][0]


def test_an_account_of_another_supplier_cannot_be_named(medline):
    other = SupplierFactory()
    stranger = SupplierBankAccount.objects.create(supplier=other, holder_name="X", iban=IBAN)
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate({"bank_accounts": [{"id": stranger.pk}]}, medline)
    assert "not one of this supplier's accounts" in messages(exc)["bank_accounts[0].id"][0]


def test_validate_normalizes_only_the_given_fields(medline):
    out = ADAPTER.validate(
        {
            "duns": "02-548-3210",
            "vat": "de 136 695 976",
            "screened_on": "2026-01-15",
            "aliases": [" Medline ", "medline"],
        },
        medline,
    )
    assert out == {"duns": "025483210", "vat": VAT, "screened_on": "2026-01-15", "aliases": ["Medline"]}


def test_a_new_bank_number_is_returned_encrypted_never_in_clear(medline):
    snap = ADAPTER.snapshot(medline)
    kept = snap["bank_accounts"][0]
    out = ADAPTER.validate(
        {"bank_accounts": [kept, {"holder_name": "Medline GmbH", "iban": PRINTED_IBAN, "currency": "eur"}]}, medline
    )
    text = json.dumps(out, ensure_ascii=False)
    assert IBAN not in text and PRINTED_IBAN not in text and ACCOUNT not in text
    first, new = out["bank_accounts"]
    assert first == kept  # an account passed back as the snapshot shows it is unchanged
    assert new["id"] is None and new["iban_encrypted"] and new["account_number_encrypted"] == ""
    assert new["account"] == "••••3000" and new["currency"] == "EUR"
    assert new["fingerprint"] == snap["bank_accounts"][1]["fingerprint"]  # the same IBAN, recognizably


def test_the_snapshot_validates_to_itself(medline):
    snap = ADAPTER.snapshot(medline)
    out = ADAPTER.validate(snap, medline)
    assert all(same_value(snap[name], out[name]) for name in ADAPTER.fields)


def test_update_writes_history_with_the_reason_and_bumps_the_version(medline, steward):
    version = medline.version
    ADAPTER.update(
        medline,
        ADAPTER.validate({"legal_name": "Medline Industries LP", "ein": "36-7654321"}, medline),
        actor=steward,
        reason="W-9 of 2026-11-20",
    )
    medline = Supplier.objects.get(pk=medline.pk)
    assert (medline.legal_name, medline.ein, medline.version) == ("Medline Industries LP", "36-7654321", version + 1)
    latest = medline.history.first()
    assert latest.history_change_reason == "W-9 of 2026-11-20" and latest.history_user == steward
    former = medline.aliases.get(name="Medline Industries, LP")
    assert former.kind == "former" and former.history.first().history_change_reason == "W-9 of 2026-11-20"


def test_update_replaces_bank_accounts_and_aliases(medline, steward):
    aba_account, iban_account = medline.bank_accounts.order_by("-is_primary")
    changes = ADAPTER.validate(
        {
            "aliases": ["Medline", "Medline Healthcare"],
            "bank_accounts": [
                {"id": iban_account.pk, "bank_name": "Deutsche Bank"},
                {"holder_name": "Medline Industries, LP", "aba_routing": "071000013", "account_number": "12345678901"},
            ],
        },
        medline,
    )
    assert changes["bank_accounts"][0]["is_primary"]  # no primary given: the first account becomes primary
    ADAPTER.update(medline, changes, actor=steward, reason="new remittance letter")

    assert list(medline.aliases.values_list("name", flat=True)) == ["Medline", "Medline Healthcare"]
    kept, added = medline.bank_accounts.order_by("id")[0], medline.bank_accounts.order_by("id")[1]
    assert kept.pk == iban_account.pk and kept.is_primary and kept.bank_name == "Deutsche Bank"
    assert kept.iban == IBAN  # its number stays
    assert added.account_number == "12345678901" and added.last4 == "8901" and not added.is_primary
    assert not SupplierBankAccount.objects.filter(pk=aba_account.pk).exists()
    gone = SupplierBankAccount.history.filter(id=aba_account.pk, history_type="-").get()
    assert gone.history_change_reason == "new remittance letter" and gone.history_user == steward
    assert not SupplierAlias.objects.filter(supplier=medline, name="MEDLINE IND LP").exists()


def test_an_account_keeps_its_row_and_takes_a_new_number(medline, steward):
    aba_account = medline.bank_accounts.get(is_primary=True)
    changes = ADAPTER.validate({"bank_accounts": [{"id": aba_account.pk, "iban": PRINTED_IBAN}]}, medline)
    ADAPTER.update(medline, changes, actor=steward, reason="moved to an IBAN account")
    (account,) = medline.bank_accounts.all()
    assert account.pk == aba_account.pk and account.iban == IBAN
    assert (account.aba_routing, account.account_number, account.last4) == ("", "", "3000")


def test_a_failed_update_writes_nothing(medline, steward):
    version, history = medline.version, medline.history.count()
    with pytest.raises(ValidationError):
        supplier_update(
            medline,
            changes={"legal_name": "Renamed", "bank_accounts": [{"holder_name": "X", "iban": "DE00"}]},
            actor=steward,
            reason="x",
        )
    medline = Supplier.objects.get(pk=medline.pk)
    assert (medline.legal_name, medline.version, medline.history.count()) == (
        "Medline Industries, LP",
        version,
        history,
    )
    assert medline.bank_accounts.count() == 2


def test_create_takes_validated_values(steward):
    data = ADAPTER.validate(
        {
            "legal_name": "Cardinal Health",
            "ein": "31-0958666",
            "screened_on": "2026-01-15",
            "screening_status": "clear",
            "bank_accounts": [{"holder_name": "Cardinal Health", "iban": PRINTED_IBAN}],
        },
        None,
    )
    assert IBAN not in json.dumps(data)
    supplier = ADAPTER.create(data, actor=steward, reason="new supplier")
    assert (supplier.ein, str(supplier.screened_on)) == ("31-0958666", "2026-01-15")
    assert supplier.bank_accounts.get().iban == IBAN
    # one field of a new record normalizes on its own (the create form's duplicate suggestions use it) ...
    assert ADAPTER.validate({"duns": "02-548-3210"}, None) == {"duns": "025483210"}
    # ... and a record that lacks its legal name is refused when it is created
    with pytest.raises(ValidationError) as exc:
        ADAPTER.create(ADAPTER.validate({"duns": "02-548-3210"}, None), actor=steward, reason="x")
    assert "legal_name" in messages(exc)


def test_merge_children_adds_the_merged_names_as_aliases(medline, steward):
    merged = supplier_create(
        data={"legal_name": "MEDLINE IND LP", "aliases": ["medline", "Medline Industries Holdings"]},
        actor=steward,
        reason="test",
    )
    moves = ADAPTER.merge_children(medline, merged, actor=steward, reason="same company")
    # "MEDLINE IND LP" and "medline" are known already (any case): only the holdings name is new
    created = SupplierAlias.objects.get(supplier=medline, name="Medline Industries Holdings")
    assert moves == [{"op": "create", "model": "suppliers.SupplierAlias", "pk": created.pk}]
    assert created.history.first().history_change_reason == "same company"

    other = supplier_create(data={"legal_name": "Medline Canada"}, actor=steward, reason="test")
    moves = ADAPTER.merge_children(medline, other, actor=steward, reason="same company")
    assert SupplierAlias.objects.get(pk=moves[0]["pk"]).kind == "former"
    assert merged.aliases.count() == 2  # the merged record keeps its own rows


def test_source_values_from_a_standardized_payload():
    serializer = SupplierPayloadSerializer(data=supplier_payload())
    assert serializer.is_valid(), serializer.errors
    values = ADAPTER.source_values(to_json(serializer.validated_data))
    assert values == {
        "legal_name": "Medline Industries, LP",
        "duns": "025483210",
        "uei": "J7M9HPTGJ1S9",
        "ein": "36-1234567",
        "vat": VAT,
        "gln": GLN,
        "hibcc_lic": "M123",
        "screening_status": "clear",
        "screened_on": "2026-01-15",
    }
    assert set(ADAPTER.survivorship) == set(values)
    assert ADAPTER.source_values({"legal_name": "X", "screening_status": "not_screened"}) == {
        "legal_name": "X",
        "screening_status": "",  # the serializer's default says nothing about screening
    }


def test_search_by_name_alias_and_identifier(medline):
    other = SupplierFactory(legal_name="Owens & Minor", duns="123456789")
    search = ADAPTER.search
    assert list(search("medline lp")) == [medline]
    assert list(search("IND LP")) == [medline]  # an alias
    assert list(search("02-548-3210")) == [medline]  # D-U-N-S as printed
    assert list(search("361234567")) == [medline]  # EIN without its hyphen
    assert list(search(GLN)) == [medline]
    assert list(search("owens")) == [other]
    assert list(search("nobody")) == [] and list(search("  ")) == []


def test_scope_and_label(medline):
    assert ADAPTER.scope(medline, {}) == {"supplier_id": medline.pk}
    assert ADAPTER.scope(None, {"legal_name": "New"}) == {"supplier_id": None}
    assert ADAPTER.label(medline) == "Medline Industries, LP"
