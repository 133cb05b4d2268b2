"""Bank accounts: encrypted at rest (live and history tables), exactly one scheme, masked everywhere."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from mdm.services.golden import golden_save_child
from suppliers.models import SupplierBankAccount
from tests.suppliers.factories import ABA, ACCOUNT, IBAN, SupplierBankAccountFactory, SupplierFactory

NEW_ACCOUNT = "5550001234"


def raw_rows(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT iban, account_number, last4, aba_routing FROM {table}")  # noqa: S608 - fixed names
        return cursor.fetchall()


@pytest.mark.django_db
def test_numbers_are_encrypted_in_the_table_and_its_history(steward):
    aba = SupplierBankAccountFactory()
    iban = golden_save_child(
        SupplierBankAccount(supplier=aba.supplier, holder_name="EU", iban=IBAN, currency="EUR"),
        actor=steward,
        reason="t",
    )
    aba.account_number = NEW_ACCOUNT
    golden_save_child(aba, actor=steward, reason="new account")

    live = raw_rows("suppliers_supplierbankaccount")
    history = raw_rows("suppliers_historicalsupplierbankaccount")
    assert len(live) == 2 and len(history) == 3
    for secret_iban, secret_account, *_ in live + history:
        for column in (secret_iban, secret_account):
            assert column == "" or column.startswith("gAAAAA")  # a Fernet token
        text = f"{secret_iban} {secret_account}"
        for clear in (ACCOUNT, NEW_ACCOUNT, IBAN, IBAN[4:]):
            assert clear not in text
    assert sorted(row[2] for row in live) == ["1234", "3000"]
    assert sorted(row[2] for row in history) == ["1234", "3000", "3210"]  # the change shows in history via last4

    # Through the ORM the values read back in clear, for the payment run.
    aba.refresh_from_db()
    iban.refresh_from_db()
    assert (aba.account_number, aba.last4, iban.iban, iban.last4) == (NEW_ACCOUNT, "1234", IBAN, "3000")
    assert [h.last4 for h in aba.history.order_by("history_id")] == ["3210", "1234"]


@pytest.mark.django_db
class TestBankAccountRules:
    def make(self, **fields):
        return SupplierBankAccount(supplier=SupplierFactory(), holder_name="Acme", **fields)

    def test_iban_is_normalized_and_masked(self):
        account = self.make(iban="de89 3704 0044 0532 0130 00", currency="eur")
        account.full_clean()
        account.save()
        assert (account.iban, account.currency, account.last4, account.masked) == (IBAN, "EUR", "3000", "••••3000")
        assert str(account) == "Acme ••••3000"

    @pytest.mark.parametrize(
        ("fields", "field", "fragment"),
        [
            ({"iban": IBAN, "aba_routing": ABA, "account_number": ACCOUNT}, "iban", "not both"),
            ({}, "iban", "Give an IBAN"),
            ({"aba_routing": ABA}, "account_number", "required"),
            ({"account_number": ACCOUNT}, "aba_routing", "required"),
            ({"iban": "DE88370400440532013000"}, "iban", "wrong check digit"),
            ({"aba_routing": "021000022", "account_number": ACCOUNT}, "aba_routing", "wrong check digit"),
        ],
    )
    def test_exactly_one_valid_scheme(self, fields, field, fragment):
        with pytest.raises(ValidationError) as caught:
            self.make(**fields).full_clean()
        assert fragment in caught.value.message_dict[field][0]

    def test_changing_the_number_updates_last4_with_update_fields(self):
        account = SupplierBankAccountFactory()
        account.account_number = NEW_ACCOUNT
        account.save(update_fields=["account_number"])
        account.refresh_from_db()
        assert account.last4 == "1234"

    def test_one_primary_account_per_supplier(self):
        from django.db import IntegrityError, transaction

        account = SupplierBankAccountFactory(is_primary=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            SupplierBankAccountFactory(supplier=account.supplier, is_primary=True)
