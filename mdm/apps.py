from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "MDM core"

    def ready(self):
        from mdm.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="mdm.sync_role_groups")
