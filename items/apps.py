from django.apps import AppConfig


class ItemsConfig(AppConfig):
    name = "items"
    verbose_name = "Items"

    def ready(self):
        from items import matching, stewardship
        from items.access import ACCESS_ATTRIBUTES
        from items.selectors import item_packaging, item_packaging_problems
        from items.serializers import ItemPayloadSerializer
        from items.services import item_create_from_payload
        from mdm import registry
        from uom.conversions import register_packaging_provider

        register_packaging_provider(item_packaging, checker=item_packaging_problems)

        from items.syndication import item_publish

        registry.register(
            registry.EntitySpec(
                entity_type="item",
                publish=item_publish,
                label="Item",
                model_label="items.Item",
                payload_serializer=ItemPayloadSerializer,
                create_golden=item_create_from_payload,
                display=lambda p: " ".join(
                    str(p.get(key) or "") for key in ("description", "manufacturer_part_number")
                ).strip(),
                api_path="items",
                matching=matching.ADAPTER,
                stewardship=stewardship.ADAPTER,
                access_attributes=ACCESS_ATTRIBUTES,
            )
        )
