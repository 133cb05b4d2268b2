"""The abstract base every golden record inherits: timestamps, lifecycle, optimistic version."""

from django.db import models, router, transaction

from mdm.choices import RecordStatus
from mdm.signals import golden_saved


class GoldenRecordDeleteError(Exception):
    """Golden records are retired, never deleted: deleting one would orphan crosswalks and history."""


class StaleVersionError(Exception):
    """Raised when a write was based on a version of the record that is no longer current."""

    def __init__(self, instance, expected: int):
        self.instance = instance
        self.expected = expected
        self.current = instance.version
        super().__init__(
            f"{instance._meta.verbose_name} {instance.pk} is at version {instance.version}, "
            f"but the change was based on version {expected}: reload the record and apply the change again."
        )


class GoldenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=RecordStatus.ACTIVE)

    def delete(self):
        raise GoldenRecordDeleteError("Golden records are retired, never deleted.")


class GoldenRecord(models.Model):
    """Base class for golden records (supplier, item, unit, contract, contract price).

    Subclasses add ``history = HistoricalRecords()``. ``version`` starts at 1 and goes up by one on
    every save, so a write that names the version it was based on can be refused when stale.
    """

    status = models.CharField(max_length=16, choices=RecordStatus.choices, default=RecordStatus.ACTIVE, db_index=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = GoldenQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        created = self.pk is None or self._state.adding
        if not created:
            self.version = (self.version or 0) + 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version", "updated_at"}
        # The row and whatever listens to golden_saved (the outbox) commit together or not at all.
        with transaction.atomic(using=kwargs.get("using") or router.db_for_write(type(self), instance=self)):
            super().save(*args, **kwargs)
            golden_saved.send(sender=type(self), instance=self, created=created)

    def delete(self, *args, **kwargs):
        raise GoldenRecordDeleteError(
            f"{self._meta.verbose_name} {self.pk} cannot be deleted; retire it instead (status 'retired')."
        )

    @transaction.atomic
    def lock_at_version(self, expected_version: int | None):
        """Lock this row and check it is still at ``expected_version`` (skip the check with None)."""
        current = type(self)._default_manager.select_for_update().only("version").get(pk=self.pk)
        self.version = current.version
        if expected_version is not None and current.version != expected_version:
            raise StaleVersionError(self, expected_version)
        return self


class GoldenChild(models.Model):
    """Base for rows owned by a golden record (aliases, addresses, packaging levels...).

    They carry their own history (with ``HistoricForeignKey`` to the parent) so that reading a golden
    record "as of" a time also returns the children as they were then.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
