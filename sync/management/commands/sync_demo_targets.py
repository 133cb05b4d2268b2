"""Demo syndication targets: the demo Odoo (the test server `make run` starts) and a finance file drop."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from sync.models import Subscription, Target


class Command(BaseCommand):
    help = "Create the demo's Odoo target and file drop (idempotent)."

    def handle(self, *args, **options):
        port = os.environ.get("MDM_DEMO_ODOO_PORT", "8069")
        odoo, created = Target.objects.get_or_create(
            name="Demo Odoo 17",
            defaults={
                "kind": Target.Kind.ODOO,
                "url": f"http://127.0.0.1:{port}",
                "database": "odoo",
                "login": "mdm",
                "secret": "test-key",
                "inbound": False,
            },
        )
        # Units go out as dependencies of the items that use them (packaging units like BX have no fixed size).
        for entity_type in ("supplier", "item", "contract_price"):
            Subscription.objects.get_or_create(target=odoo, entity_type=entity_type)
        drop, _ = Target.objects.get_or_create(
            name="Finance file drop",
            defaults={
                "kind": Target.Kind.FILE_DROP,
                "directory": str(settings.VAR_DIR / "drops" / "finance"),
                "file_format": Target.FileFormat.CSV,
            },
        )
        # The adapter never creates a drop directory (a missing share must not become a local folder): the demo's
        # own folder is made here.
        os.makedirs(drop.directory, exist_ok=True)
        Subscription.objects.get_or_create(
            target=drop, entity_type="supplier", defaults={"filters": {"status": "active"}}
        )
        self.stdout.write(f"demo targets: {odoo.name} ({odoo.url}), {drop.name} ({drop.directory})")
