import datetime as dt
from decimal import Decimal, InvalidOperation

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.choices import ContractKind, ContractTerm, PriceOutcome
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
            "facility",
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
    facility = serializers.CharField(
        source="contract.facility", read_only=True, help_text="The contract's facility; empty: group-wide."
    )
    supplier = serializers.IntegerField(source="contract.supplier_id", read_only=True)
    supplier_name = serializers.CharField(source="contract.supplier.legal_name", read_only=True)
    item = serializers.PrimaryKeyRelatedField(read_only=True)
    item_description = serializers.CharField(source="item.description", read_only=True)
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    price = serializers.DecimalField(
        max_digits=14, decimal_places=4, coerce_to_string=True, read_only=True, help_text="Per unit, as a string."
    )
    price_per_base_unit = serializers.DecimalField(
        max_digits=24,
        decimal_places=10,
        coerce_to_string=True,
        read_only=True,
        allow_null=True,
        help_text="The price of one base unit of the item (rounded half-even to 10 places); null when the unit "
        "can't be converted to the item's base unit.",
    )
    base_unit = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="The base unit price_per_base_unit is per."
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
            "facility",
            "price_per_base_unit",
            "base_unit",
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


# --- price lookup and comparison ------------------------------------------------------------------------
# The views build plain dicts (``lookup_body``, ``comparison_body``): a lookup answers in a few
# milliseconds and a serializer per candidate would cost more than the query. These serializers
# document the same shapes in the OpenAPI schema; a test holds the two together.


@extend_schema_field({"type": "string", "format": "decimal", "example": "0.1045000000"})
class DecimalText(serializers.Field):
    """A Decimal written as a plain decimal string (never a float, never an exponent)."""

    def to_representation(self, value):
        return _decimal(value)


def _decimal(value) -> str | None:
    return None if value is None else format(value, "f")


# Ids are database integers (signed 64-bit): a larger number is refused here, not by the database (a 500 on SQLite).
MAX_ID = 2**63 - 1


class PriceLookupQuerySerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Item id.")
    supplier = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="Supplier id; leave out for the best price across suppliers.",
    )
    qty = serializers.CharField(
        required=False, default="1", help_text="Quantity ordered, a decimal above zero (default 1)."
    )
    unit = serializers.CharField(
        required=False, max_length=64, help_text="Unit of qty: a packaging level or unit code (default the base unit)."
    )
    date = serializers.DateField(required=False, help_text="Order date, YYYY-MM-DD (default today).")
    currency = serializers.CharField(
        required=False, max_length=3, help_text="ISO 4217 code; needed only when prices in several currencies apply."
    )

    def validate_qty(self, value):
        try:
            quantity = Decimal(str(value).strip())
        except InvalidOperation:
            raise serializers.ValidationError(f"'{value}' is not a number: give a decimal such as 12 or 2.5.") from None
        if not quantity.is_finite() or quantity <= 0:
            raise serializers.ValidationError(f"The quantity must be above zero, not {value}.")
        return quantity

    def validate_currency(self, value):
        return value.strip().upper()

    def to_internal_value(self, data):
        # A bad date would otherwise come back as the generic DRF message without the value.
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if "date" in exc.detail:
                exc.detail["date"] = [f"'{data.get('date')}' is not a date: use YYYY-MM-DD."]
            raise


class PriceCompareQuerySerializer(PriceLookupQuerySerializer):
    qty = serializers.CharField(
        required=False,
        help_text="Compare the prices for this quantity (tiers it reaches); leave out to compare entry tiers.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("supplier")


class PriceCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Contract price (price line) id.")
    outcome = serializers.ChoiceField(choices=PriceOutcome.choices)
    why = serializers.CharField(help_text="Why it was chosen, or why not.")
    contract = serializers.IntegerField()
    contract_number = serializers.CharField()
    contract_kind = serializers.ChoiceField(choices=ContractKind.choices)
    supplier = serializers.IntegerField()
    supplier_name = serializers.CharField()
    unit = serializers.CharField(help_text="The unit the price is per.")
    price = DecimalText(help_text="Per unit, in the contract's currency.")
    currency = serializers.CharField()
    min_quantity = serializers.IntegerField(help_text="Tier: the price applies from this quantity of unit on.")
    start_date = serializers.DateField(help_text="First day (inclusive).")
    end_date = serializers.DateField(help_text="Last day (inclusive).")
    price_per_base_unit = DecimalText(allow_null=True, help_text="Null when the unit can't be converted.")
    base_unit = serializers.CharField(allow_null=True)
    quantity_in_unit = DecimalText(allow_null=True, help_text="The order converted to this price's unit.")
    extended_amount = DecimalText(allow_null=True, help_text="price x quantity_in_unit, exact.")


class PriceLookupResultSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    supplier = serializers.IntegerField(allow_null=True)
    date = serializers.DateField()
    quantity = DecimalText()
    unit = serializers.CharField()
    base_unit = serializers.CharField()
    quantity_in_base_units = DecimalText()
    currency = serializers.CharField(allow_null=True)
    price = PriceCandidateSerializer(allow_null=True, help_text="The chosen price (null on a 404).")
    reason = serializers.CharField(help_text="Why this price applies (or why none does).")
    candidates = PriceCandidateSerializer(many=True, help_text="Every price considered, chosen first.")


class PriceLookupNotFoundSerializer(PriceLookupResultSerializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="no_applicable_price")


class PriceLookupErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(
        help_text="invalid, unknown_item, unknown_supplier, unknown_unit, not_in_packaging, no_content, "
        "incompatible_dimensions, needs_item, ambiguous_unit, several_currencies."
    )
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ComparisonRowSerializer(serializers.Serializer):
    supplier = serializers.IntegerField()
    supplier_name = serializers.CharField()
    price_per_base_unit = DecimalText()
    difference = DecimalText(help_text="Above the lowest price per base unit.")
    difference_percent = DecimalText(allow_null=True, help_text="Above the lowest, in percent (2 places).")
    price = PriceCandidateSerializer(help_text="The supplier's price that applies.")


class SpreadSerializer(serializers.Serializer):
    lowest = DecimalText()
    highest = DecimalText()
    absolute = DecimalText()
    percent = DecimalText(allow_null=True, help_text="(highest - lowest) / lowest x 100, 2 places.")
    suppliers = serializers.IntegerField()


class WithoutPriceSerializer(serializers.Serializer):
    supplier = serializers.IntegerField()
    supplier_name = serializers.CharField()
    reason = serializers.CharField()


class PriceComparisonSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    date = serializers.DateField()
    quantity = DecimalText(allow_null=True)
    unit = serializers.CharField(allow_null=True)
    base_unit = serializers.CharField()
    currency = serializers.CharField(allow_null=True)
    rows = ComparisonRowSerializer(many=True, help_text="One per supplier, lowest price per base unit first.")
    spread = SpreadSerializer(allow_null=True)
    without_price = WithoutPriceSerializer(many=True, help_text="Suppliers with prices none of which applies.")


def candidate_body(c) -> dict:
    return {
        "id": c.id,
        "outcome": c.outcome,
        "why": c.why,
        "contract": c.contract_id,
        "contract_number": c.contract_number,
        "contract_kind": c.contract_kind,
        "supplier": c.supplier_id,
        "supplier_name": c.supplier_name,
        "unit": c.unit,
        "price": _decimal(c.price),
        "currency": c.currency,
        "min_quantity": c.min_quantity,
        "start_date": c.start_date.isoformat(),
        "end_date": c.end_date.isoformat(),
        "price_per_base_unit": _decimal(c.price_per_base_unit),
        "base_unit": c.base_unit,
        "quantity_in_unit": _decimal(c.quantity_in_unit),
        "extended_amount": _decimal(c.extended_amount),
    }


def lookup_body(lookup) -> dict:
    return {
        "item": lookup.item_id,
        "supplier": lookup.supplier_id,
        "date": lookup.on_date.isoformat(),
        "quantity": _decimal(lookup.quantity),
        "unit": lookup.unit,
        "base_unit": lookup.base_unit,
        "quantity_in_base_units": _decimal(lookup.quantity_in_base_units),
        "currency": lookup.chosen.currency if lookup.chosen else lookup.currency,
        "price": candidate_body(lookup.chosen) if lookup.chosen else None,
        "reason": lookup.reason,
        "candidates": [candidate_body(c) for c in lookup.candidates],
    }


def comparison_body(comparison) -> dict:
    spread = comparison.spread
    return {
        "item": comparison.item_id,
        "date": comparison.on_date.isoformat(),
        "quantity": _decimal(comparison.quantity),
        "unit": comparison.unit,
        "base_unit": comparison.base_unit,
        "currency": comparison.currency,
        "rows": [
            {
                "supplier": row.supplier_id,
                "supplier_name": row.supplier_name,
                "price_per_base_unit": _decimal(row.price.price_per_base_unit),
                "difference": _decimal(row.difference),
                "difference_percent": _decimal(row.difference_percent),
                "price": candidate_body(row.price),
            }
            for row in comparison.rows
        ],
        "spread": None
        if spread is None
        else {key: _decimal(value) for key, value in spread.items()} | {"suppliers": spread["suppliers"]},
        "without_price": [
            {"supplier": row["supplier_id"], "supplier_name": row["supplier_name"], "reason": row["reason"]}
            for row in comparison.without_price
        ],
    }
