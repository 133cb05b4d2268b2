from django.db import models


class Dimension(models.TextChoices):
    COUNT = "count", "Count (each, packaging)"
    MASS = "mass", "Mass"
    VOLUME = "volume", "Volume"
    LENGTH = "length", "Length"
    AREA = "area", "Area"
    TIME = "time", "Time"
    ACTIVITY = "activity", "Activity / units (IU, U)"
    OTHER = "other", "Other"
