from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Syndication"

    def ready(self):
        from mdm import redaction
        from sync import outbox

        outbox.connect()
        # A target's API key or signing secret never reaches a log line or an error page (mdm.redaction).
        redaction.register_secret_column("sync.Target", "secret")
