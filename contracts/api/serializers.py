import datetime as dt

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.choices import ContractTerm
from contracts.models import Contract, ContractPrice


def _reference_day(context) -> dt.date | None:
    """The day "in effect" is judged on: the ``as_of`` day on a time-travel read, else today."""
    as_of = context.get("as_of")
    return as_of.date() if as_of is not None else None


class ContractSerializer(serializers.ModelSerializer):
    supplier = serializers.PrimaryKeyRelatedField(read_only=True)
    supplier_name = serializers.CharField(source="supplier.legal_name", read_only=True)
    term = serializers.SerializerMethodField(
        help_text="pending, in_effect or expired, from the dates on today (or on the as_of day)."
    )
    in_effect = serializers.SerializerMethodField(
        help_text="Active and within its dates (both inclusive) today (or on the as_of day)."
    )

    class Meta:
        model = Contract
        fields = [
            "id",
            "number",
            "supplier",
            "supplier_name",
            "kind",
            "gpo_name",
            "start_date",
            "end_date",
            "currency",
            "term",
            "in_effect",
            "status",
            "version",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=ContractTerm.choices))
    def get_term(self, obj) -> str:
        return obj.term(_reference_day(self.context))

    def get_in_effect(self, obj) -> bool:
        return obj.is_in_effect(_reference_day(self.context))


class ContractPriceSerializer(serializers.ModelSerializer):
    contract = serializers.PrimaryKeyRelatedField(read_only=True)
    contract_number = serializers.CharField(source="contract.number", read_only=True)
    currency = serializers.CharField(source="contract.currency", read_only=True, help_text="The contract's currency.")
    supplier = serializers.IntegerField(source="contract.supplier_id", read_only=True)
    supplier_name = serializers.CharField(source="contract.supplier.legal_name", read_only=True)
    item = serializers.PrimaryKeyRelatedField(read_only=True)
    item_description = serializers.CharField(source="item.description", read_only=True)
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    price = serializers.DecimalField(
        max_digits=14, decimal_places=4, coerce_to_string=True, read_only=True, help_text="Per unit, as a string."
    )
    term = serializers.SerializerMethodField(
        help_text="pending, in_effect or expired, from the price's dates on today (or on the as_of day)."
    )

    class Meta:
        model = ContractPrice
        fields = [
            "id",
            "contract",
            "contract_number",
            "supplier",
            "supplier_name",
            "item",
            "item_description",
            "unit",
            "price",
            "currency",
            "min_quantity",
            "start_date",
            "end_date",
            "term",
            "status",
            "version",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=ContractTerm.choices))
    def get_term(self, obj) -> str:
        return obj.term(_reference_day(self.context))
