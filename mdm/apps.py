from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "MDM core"

    def ready(self):
        from mdm.roles import sync_role_groups
        from mdm.services.matching import on_model_saved

        # Blocking keys follow golden records: every save of a matched model refreshes them after commit.
        post_save.connect(on_model_saved, dispatch_uid="mdm.matching_keys")

        post_migrate.connect(sync_role_groups, dispatch_uid="mdm.sync_role_groups")
