"""factory_boy factories for suppliers and their rows, and a valid supplier payload for ingest tests."""

import factory

from suppliers.models import Supplier, SupplierAddress, SupplierAlias, SupplierBankAccount, SupplierContact

# Real, check-digit-valid identifiers (the textbook examples of each scheme).
IBAN = "DE89370400440532013000"
ABA = "021000021"
ACCOUNT = "9876543210"
VAT = "DE136695976"
GLN = "0614141000005"


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    legal_name = factory.Sequence(lambda n: f"Supplier {n:05d}, Inc.")
    duns = factory.Sequence(lambda n: f"{100000000 + n}")


class SupplierAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierAlias

    supplier = factory.SubFactory(SupplierFactory)
    name = factory.Sequence(lambda n: f"Trading name {n}")


class SupplierAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierAddress

    supplier = factory.SubFactory(SupplierFactory)
    kind = "remit_to"
    line1 = factory.Sequence(lambda n: f"PO Box {10000 + n}")
    city = "Chicago"
    region = "IL"
    postal_code = "60693"
    country = "US"


class SupplierContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierContact

    supplier = factory.SubFactory(SupplierFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    role = "Accounts receivable"
    email = factory.Sequence(lambda n: f"ar{n}@supplier.example")


class SupplierBankAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierBankAccount

    supplier = factory.SubFactory(SupplierFactory)
    holder_name = factory.LazyAttribute(lambda o: o.supplier.legal_name)
    bank_name = "JPMorgan Chase Bank"
    currency = "USD"
    aba_routing = ABA
    account_number = ACCOUNT
    is_primary = True


def supplier_payload(**extra) -> dict:
    """A complete, valid supplier payload as a source sends it (printed forms, mixed case)."""
    return {
        "legal_name": "Medline Industries, LP",
        "aliases": ["Medline", "MEDLINE INDUSTRIES"],
        "duns": "02-548-3210",
        "uei": "J7M9HPTGJ1S9",
        "ein": "361234567",
        "vat": "de 136 695 976",
        "gln": GLN,
        "hibcc_lic": "m123",
        "addresses": [
            {
                "kind": "remit_to",
                "line1": "Dept CH 14400",
                "city": "Palatine",
                "region": "IL",
                "postal_code": "60055-4400",
                "country": "us",
            },
            {"kind": "headquarters", "line1": "Three Lakes Drive", "city": "Northfield", "country": "US", "gln": GLN},
        ],
        "contacts": [{"name": "Pat Doe", "role": "Accounts receivable", "email": "ar@medline.example", "phone": None}],
        "bank_accounts": [
            {
                "holder_name": "Medline Industries, LP",
                "bank_name": "JPMorgan Chase",
                "aba_routing": ABA,
                "account_number": ACCOUNT,
                "currency": "usd",
            },
            {"holder_name": "Medline International B.V.", "iban": "DE89 3704 0044 0532 0130 00", "currency": "EUR"},
        ],
        "screening_status": "clear",
        "screened_on": "2026-01-15",
        **extra,
    }
