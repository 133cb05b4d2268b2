from rest_framework import serializers

from uom.models import Unit, UnitAlias


class UnitAliasSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True)

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
