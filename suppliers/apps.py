from django.apps import AppConfig


class SuppliersConfig(AppConfig):
    name = "suppliers"
    verbose_name = "Suppliers"

    def ready(self):
        from mdm import registry
        from suppliers import matching, stewardship
        from suppliers.serializers import SupplierPayloadSerializer
        from suppliers.services import supplier_create_from_payload
        from suppliers.syndication import supplier_publish

        registry.register(
            registry.EntitySpec(
                entity_type="supplier",
                publish=supplier_publish,
                label="Supplier",
                model_label="suppliers.Supplier",
                payload_serializer=SupplierPayloadSerializer,
                create_golden=supplier_create_from_payload,
                display=lambda p: str(p.get("legal_name") or "").strip(),
                api_path="suppliers",
                matching=matching.ADAPTER,
                stewardship=stewardship.ADAPTER,
                # Bank numbers in a raw source payload are sealed before it is stored (mdm.payload_secrets).
                secret_paths=("bank_accounts.*.iban", "bank_accounts.*.account_number"),
            )
        )
