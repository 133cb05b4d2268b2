"""Validation of supplier payloads from source systems (the contract in docs/ingest-payloads.md).

``validated_data`` is the standardized form that the ingest service stores in ``SourceRecord.standardized``:
identifiers canonical (EIN ``NN-NNNNNNN``, DUNS 9 digits, VAT compact with its prefix). Bank account
numbers are checked but never kept in clear there: a bank account comes out as ``last4`` plus
``iban_encrypted`` or ``account_number_encrypted`` (a Fernet token, see ``mdm.crypto``), which
``suppliers.services.supplier_create_from_payload`` decrypts.
"""

from rest_framework import serializers

from mdm import crypto
from mdm.identifiers import (
    clean_aba_routing,
    clean_bank_account_number,
    clean_country,
    clean_currency,
    clean_duns,
    clean_ein,
    clean_gln,
    clean_hibcc_lic,
    clean_iban,
    clean_uei,
    clean_vat,
)
from mdm.payload_fields import IdentifierField, OptionalCharField, run_cleaner
from suppliers.choices import AddressKind, ScreeningStatus
from suppliers.models import bank_account_problems


class OptionalEmailField(OptionalCharField, serializers.EmailField):
    pass


class AddressPayloadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AddressKind.choices, required=False, default=AddressKind.OTHER)
    line1 = serializers.CharField(max_length=255)
    line2 = OptionalCharField(max_length=255)
    city = serializers.CharField(max_length=100)
    region = OptionalCharField(max_length=100)
    postal_code = OptionalCharField(max_length=20)
    country = serializers.CharField(max_length=64, help_text="ISO 3166 alpha-2 code (US, DE).")
    gln = IdentifierField(clean_gln)

    def validate_country(self, value):
        return run_cleaner(clean_country, value)


class ContactPayloadSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    role = OptionalCharField(max_length=100)
    email = OptionalEmailField(max_length=254)
    phone = OptionalCharField(max_length=50)


class BankAccountPayloadSerializer(serializers.Serializer):
    """``{holder_name, bank_name, iban}`` or ``{holder_name, bank_name, aba_routing, account_number}``.

    The standardized form holds no clear account number or IBAN (see the module docstring).
    """

    holder_name = serializers.CharField(max_length=255)
    bank_name = OptionalCharField(max_length=255)
    currency = IdentifierField(clean_currency)
    iban = IdentifierField(clean_iban)
    aba_routing = IdentifierField(clean_aba_routing)
    account_number = IdentifierField(clean_bank_account_number)

    def validate(self, attrs):
        problems = bank_account_problems(
            iban=attrs["iban"], aba_routing=attrs["aba_routing"], account_number=attrs["account_number"]
        )
        if problems:
            raise serializers.ValidationError({field: [message] for field, message in problems.items()})
        iban, account_number = attrs.pop("iban"), attrs.pop("account_number")
        # Source records are evidence kept for years and shown to stewards: the secret goes in encrypted.
        return {
            **attrs,
            "last4": (iban or account_number)[-4:],
            "iban_encrypted": crypto.encrypt(iban) if iban else "",
            "account_number_encrypted": crypto.encrypt(account_number) if account_number else "",
        }


class SupplierPayloadSerializer(serializers.Serializer):
    legal_name = serializers.CharField(max_length=255)
    aliases = serializers.ListField(child=serializers.CharField(max_length=255), required=False, default=list)
    duns = IdentifierField(clean_duns)
    uei = IdentifierField(clean_uei)
    ein = IdentifierField(clean_ein)
    vat = IdentifierField(clean_vat)
    gln = IdentifierField(clean_gln)
    hibcc_lic = IdentifierField(clean_hibcc_lic)
    addresses = AddressPayloadSerializer(many=True, required=False, default=list)
    contacts = ContactPayloadSerializer(many=True, required=False, default=list)
    bank_accounts = BankAccountPayloadSerializer(many=True, required=False, default=list)
    screening_status = serializers.ChoiceField(
        choices=ScreeningStatus.choices, required=False, default=ScreeningStatus.NOT_SCREENED
    )
    screened_on = serializers.DateField(required=False, allow_null=True, default=None)
