from django.db import models


class ItemType(models.TextChoices):
    MED_SURG = "med_surg", "Medical / surgical supply"
    DRUG = "drug", "Drug"
    LAB = "lab", "Laboratory"
    EQUIPMENT = "equipment", "Equipment"
    IMPLANT = "implant", "Implant"
