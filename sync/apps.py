from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Syndication"

    def ready(self):
        from sync import outbox

        outbox.connect()
