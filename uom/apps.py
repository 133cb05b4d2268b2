from django.apps import AppConfig


class UomConfig(AppConfig):
    name = "uom"
    verbose_name = "Units of measure"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from mdm import registry
        from uom.models import Unit, UnitAlias
        from uom.registry import registry_invalidate

        for model in (Unit, UnitAlias):
            post_save.connect(registry_invalidate, sender=model, dispatch_uid=f"uom-registry-{model.__name__}-save")
            post_delete.connect(registry_invalidate, sender=model, dispatch_uid=f"uom-registry-{model.__name__}-del")
        from uom.serializers import UnitPayloadSerializer
        from uom.services import unit_create_from_payload
        from uom.syndication import unit_publish

        registry.register(
            registry.EntitySpec(
                entity_type="unit",
                publish=unit_publish,
                label="Unit",
                model_label="uom.Unit",
                payload_serializer=UnitPayloadSerializer,
                create_golden=unit_create_from_payload,
                display=lambda p: f"{p.get('code', '')} {p.get('name', '')}".strip(),
                api_path="units",
            )
        )
