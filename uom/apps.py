from django.apps import AppConfig


class UomConfig(AppConfig):
    name = "uom"
    verbose_name = "Units of measure"

    def ready(self):
        from mdm import registry
        from uom.serializers import UnitPayloadSerializer
        from uom.services import unit_create_from_payload

        registry.register(
            registry.EntitySpec(
                entity_type="unit",
                label="Unit",
                model_label="uom.Unit",
                payload_serializer=UnitPayloadSerializer,
                create_golden=unit_create_from_payload,
                display=lambda p: f"{p.get('code', '')} {p.get('name', '')}".strip(),
                api_path="units",
            )
        )
