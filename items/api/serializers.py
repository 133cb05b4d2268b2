from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from items.models import Item, ItemPackagingLevel, eaches_per_level


class PackagingLevelSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    eaches_per_level = serializers.IntegerField(read_only=True, help_text="Base units in one unit of this level.")

    class Meta:
        model = ItemPackagingLevel
        fields = ["level", "unit", "quantity", "gtin", "eaches_per_level"]


class ItemSerializer(serializers.ModelSerializer):
    base_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    ndc_formatted = serializers.CharField(read_only=True, help_text="The NDC as 5-4-2 with hyphens.")
    packaging = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id",
            "description",
            "short_name",
            "manufacturer_name",
            "manufacturer_part_number",
            "item_type",
            "unspsc",
            "sterile",
            "latex_free",
            "single_use",
            "implantable",
            "prescription",
            "ndc",
            "ndc_formatted",
            "gudid_di",
            "base_unit",
            "packaging",
            "status",
            "version",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(PackagingLevelSerializer(many=True))
    def get_packaging(self, obj):
        # .all() uses the prefetch on live reads, and the levels as they were on ?as_of reads.
        levels = sorted(obj.packaging_levels.all(), key=lambda p: p.level)
        for level, eaches in zip(levels, eaches_per_level(p.quantity for p in levels), strict=True):
            level.eaches_per_level = eaches
        return PackagingLevelSerializer(levels, many=True, context=self.context).data
