from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mdm.crypto import mask
from suppliers.models import Supplier, SupplierAddress, SupplierAlias, SupplierBankAccount, SupplierContact


class SupplierAliasSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = SupplierAlias
        fields = ["name", "kind", "system"]


class SupplierAddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupplierAddress
        fields = ["kind", "line1", "line2", "city", "region", "postal_code", "country", "gln"]


class SupplierContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupplierContact
        fields = ["name", "role", "email", "phone"]


class SupplierBankAccountSerializer(serializers.ModelSerializer):
    """A bank account with its number masked; the IBAN and account number never leave the hub."""

    account_number_masked = serializers.SerializerMethodField(
        help_text="Last four characters of the IBAN or account number, e.g. ••••1234."
    )
    scheme = serializers.SerializerMethodField(help_text="'iban', or 'aba' (US routing + account number).")

    class Meta:
        model = SupplierBankAccount
        fields = [
            "holder_name",
            "bank_name",
            "currency",
            "scheme",
            "aba_routing",
            "account_number_masked",
            "is_primary",
        ]

    # Computed from the clear last4 column (not the model's ``masked`` property) so that historical rows,
    # which have the columns but not the live model's properties, serialize the same way on ?as_of reads.
    @extend_schema_field(serializers.CharField())
    def get_account_number_masked(self, obj):
        return mask(obj.last4)

    @extend_schema_field(serializers.ChoiceField(choices=["iban", "aba"]))
    def get_scheme(self, obj):
        return "aba" if obj.aba_routing else "iban"


class SupplierSerializer(serializers.ModelSerializer):
    # .all() uses the prefetch on live reads, and the rows as they were on ?as_of reads.
    aliases = SupplierAliasSerializer(many=True, read_only=True)
    addresses = SupplierAddressSerializer(many=True, read_only=True)
    contacts = SupplierContactSerializer(many=True, read_only=True)
    bank_accounts = SupplierBankAccountSerializer(many=True, read_only=True)

    class Meta:
        model = Supplier
        fields = [
            "id",
            "legal_name",
            "duns",
            "uei",
            "ein",
            "vat",
            "gln",
            "hibcc_lic",
            "screening_status",
            "screened_on",
            "aliases",
            "addresses",
            "contacts",
            "bank_accounts",
            "status",
            "version",
            "created_at",
            "updated_at",
        ]


class UnmaskedBankAccountSerializer(serializers.Serializer):
    """A bank account with its full numbers (only for ``suppliers.reveal_supplierbankaccount``; every read audited)."""

    id = serializers.IntegerField()
    holder_name = serializers.CharField()
    bank_name = serializers.CharField()
    currency = serializers.CharField()
    iban = serializers.CharField(help_text="The full IBAN; empty for a US account (routing + account number).")
    aba_routing = serializers.CharField()
    account_number = serializers.CharField(help_text="The full account number; empty for an IBAN account.")
    last4 = serializers.CharField()
    is_primary = serializers.BooleanField()


class UnmaskedBankAccountsSerializer(serializers.Serializer):
    supplier = serializers.IntegerField(help_text="The supplier's id.")
    legal_name = serializers.CharField()
    accounts = UnmaskedBankAccountSerializer(many=True)
