from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Contracts and prices"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from contracts import signals
        from contracts.serializers import ContractPayloadSerializer, ContractPricePayloadSerializer
        from contracts.services import contract_create_from_payload, contract_price_create_from_payload
        from mdm import registry

        # Prices per base unit follow the item's packaging (contracts may know items; items never know contracts).
        post_save.connect(signals.item_saved, sender="items.Item", dispatch_uid="contracts.item_saved")
        for signal in (post_save, post_delete):
            signal.connect(
                signals.packaging_level_changed,
                sender="items.ItemPackagingLevel",
                dispatch_uid=f"contracts.packaging_level_{'saved' if signal is post_save else 'deleted'}",
            )

        from contracts.access import (
            CONTRACT_ACCESS_ATTRIBUTES,
            CONTRACT_PRICE_ACCESS_ATTRIBUTES,
            CONTRACT_PRICE_ACCESS_THROUGH,
        )
        from contracts.syndication import contract_price_publish, contract_publish

        registry.register(
            registry.EntitySpec(
                entity_type="contract",
                publish=contract_publish,
                label="Contract",
                model_label="contracts.Contract",
                payload_serializer=ContractPayloadSerializer,
                create_golden=contract_create_from_payload,
                display=lambda p: " ".join(
                    str(p.get(key) or "") for key in ("number", "supplier_name", "gpo_name")
                ).strip(),
                api_path="contracts",
                access_attributes=CONTRACT_ACCESS_ATTRIBUTES,
            )
        )
        registry.register(
            registry.EntitySpec(
                entity_type="contract_price",
                publish=contract_price_publish,
                label="Contract price",
                model_label="contracts.ContractPrice",
                payload_serializer=ContractPricePayloadSerializer,
                create_golden=contract_price_create_from_payload,
                display=lambda p: (
                    f"{p.get('contract', '')} / {p.get('item', '')}: {p.get('price', '')} per {p.get('unit', '')}"
                ),
                api_path="prices",
                access_attributes=CONTRACT_PRICE_ACCESS_ATTRIBUTES,
                access_through=CONTRACT_PRICE_ACCESS_THROUGH,
            )
        )
