from rest_framework import serializers

from uom.models import Unit, UnitAlias


class UnitAliasSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = UnitAlias
        fields = ["alias", "system"]


class UnitSerializer(serializers.ModelSerializer):
    aliases = UnitAliasSerializer(many=True, read_only=True)

    class Meta:
        model = Unit
        fields = [
            "id",
            "code",
            "name",
            "dimension",
            "unece_code",
            "ucum_code",
            "aliases",
            "status",
            "version",
            "created_at",
            "updated_at",
        ]


class ConvertQuerySerializer(serializers.Serializer):
    """The query string of ``GET /api/v1/uom/convert/``."""

    qty = serializers.CharField(max_length=64, help_text="The quantity to convert, a decimal number ('2.5').")
    # "from" is a Python keyword: the field is declared under it in __init__.
    to = serializers.CharField(max_length=64, help_text="The unit to convert to.")
    item = serializers.IntegerField(required=False, min_value=1, help_text="An item id, for packaging levels.")
    system = serializers.CharField(required=False, max_length=100, help_text="Source system whose aliases apply.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = serializers.CharField(max_length=64, help_text="The unit of qty.")


class ResolvedUnitSerializer(serializers.Serializer):
    input = serializers.CharField(help_text="The unit as given.")
    code = serializers.CharField(help_text="The hub unit code it resolved to (or the UCUM code itself).")
    name = serializers.CharField()
    dimension = serializers.CharField()
    unece_code = serializers.CharField(allow_blank=True)
    ucum_code = serializers.CharField(allow_blank=True)


class ConversionStepSerializer(serializers.Serializer):
    from_unit = serializers.CharField(help_text="One of this unit...")
    to_unit = serializers.CharField(help_text="...is `factor` of this unit.")
    factor = serializers.CharField(help_text="A decimal ('0.001') or, when it has no finite decimal form, '1/3'.")
    kind = serializers.CharField(
        help_text="unit (a fixed physical or count factor), packaging (a level of the item) or content "
        "(the item's content per base unit)."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = self.fields.pop("from_unit")
        self.fields["to"] = self.fields.pop("to_unit")


class ConvertResultSerializer(serializers.Serializer):
    quantity = serializers.CharField(help_text="The result as a decimal string (never a float).")
    exact = serializers.BooleanField(
        help_text="False when the exact result has no finite decimal form (1/3 box) and was rounded half-even "
        "to 28 significant digits."
    )
    factor = serializers.CharField(help_text="The overall factor: quantity = qty x factor.")
    path = ConversionStepSerializer(many=True, help_text="The factors used, in order.")
    item = serializers.IntegerField(allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = ResolvedUnitSerializer(help_text="The unit qty was given in, resolved.")
        self.fields["to"] = ResolvedUnitSerializer(help_text="The unit of the result, resolved.")


class ConvertErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(
        help_text="invalid (a parameter is missing or malformed), invalid_quantity, unknown_unit, "
        "incompatible_dimensions, needs_item, no_content, not_in_packaging, ambiguous_unit, unknown_item."
    )
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
