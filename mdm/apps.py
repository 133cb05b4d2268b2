from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "MDM core"

    def ready(self):
        from mdm import audit_signals, identity, redaction
        from mdm.roles import sync_role_groups
        from mdm.services.matching import on_model_saved

        # Blocking keys follow golden records: every save of a matched model refreshes them after commit.
        post_save.connect(on_model_saved, dispatch_uid="mdm.matching_keys")

        # The role matrix is code: its sync after migrate is not a person's permission change (see audit_signals).
        post_migrate.connect(
            audit_signals.during_role_sync(sync_role_groups), weak=False, dispatch_uid="mdm.sync_role_groups"
        )
        audit_signals.connect()
        # Every log record is redacted where it is made (mdm.redaction): no handler ever sees a secret.
        redaction.install_record_factory()
        # Lockout audit rows (django-axes) and the second factor owed by a session (django-otp): mdm.identity.
        identity.connect()
