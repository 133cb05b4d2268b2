"""URLs of the steward UI, one module per area."""

from django.urls import include, path

urlpatterns = [
    path("", include("mdm.ui.records")),
    path("", include("mdm.ui.review")),
    path("", include("mdm.ui.changes")),
    path("", include("mdm.ui.account")),
]
