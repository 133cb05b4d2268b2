"""URLs for the metrics and readiness tests (the project's own URL wiring is the lead's)."""

from django.urls import path

from sync import views

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
    path("readyz", views.readyz, name="readyz"),
]
