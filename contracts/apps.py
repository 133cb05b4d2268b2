from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Contracts and prices"

    def ready(self):
        from contracts.serializers import ContractPayloadSerializer, ContractPricePayloadSerializer
        from contracts.services import contract_create_from_payload, contract_price_create_from_payload
        from mdm import registry

        registry.register(
            registry.EntitySpec(
                entity_type="contract",
                label="Contract",
                model_label="contracts.Contract",
                payload_serializer=ContractPayloadSerializer,
                create_golden=contract_create_from_payload,
                display=lambda p: " ".join(
                    str(p.get(key) or "") for key in ("number", "supplier_name", "gpo_name")
                ).strip(),
                api_path="contracts",
            )
        )
        registry.register(
            registry.EntitySpec(
                entity_type="contract_price",
                label="Contract price",
                model_label="contracts.ContractPrice",
                payload_serializer=ContractPricePayloadSerializer,
                create_golden=contract_price_create_from_payload,
                display=lambda p: (
                    f"{p.get('contract', '')} / {p.get('item', '')}: {p.get('price', '')} per {p.get('unit', '')}"
                ),
                api_path="prices",
            )
        )
