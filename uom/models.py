"""Unit golden records and their per-source aliases."""

from django.db import models
from simple_history.models import HistoricalRecords, HistoricForeignKey

from mdm.models import GoldenChild, GoldenRecord
from uom.choices import Dimension


def normalize_alias(text: str) -> str:
    """Aliases compare case- and space-insensitively: 'Case of 12' == 'case  of 12'."""
    return " ".join(str(text).split()).casefold()


class Unit(GoldenRecord):
    """A unit of measure or packaging unit (EA, BX, CS, mg, mL...)."""

    code = models.CharField(max_length=16, unique=True, help_text="The hub's code, e.g. EA, BX, CS, MG, ML.")
    name = models.CharField(max_length=100)
    dimension = models.CharField(max_length=16, choices=Dimension.choices, db_index=True)
    unece_code = models.CharField(
        "UN/ECE code",
        max_length=3,
        blank=True,
        db_index=True,
        help_text="UN/ECE Recommendation 20 unit code or Recommendation 21 package type code.",
    )
    ucum_code = models.CharField("UCUM code", max_length=32, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} ({self.name})"


class UnitAlias(GoldenChild):
    """What a source system calls a unit ("CS", "Case", "case of 12"). No system = any system."""

    unit = HistoricForeignKey(Unit, on_delete=models.CASCADE, related_name="aliases")
    system = models.ForeignKey("mdm.SourceSystem", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    alias = models.CharField(max_length=64)
    normalized = models.CharField(max_length=64, editable=False, db_index=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "unit aliases"
        constraints = [
            models.UniqueConstraint(fields=["system", "normalized"], name="unit_alias_unique_per_system"),
            models.UniqueConstraint(
                fields=["normalized"], condition=models.Q(system__isnull=True), name="unit_alias_unique_global"
            ),
        ]

    def save(self, *args, **kwargs):
        self.normalized = normalize_alias(self.alias)
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.alias} -> {self.unit.code}"
