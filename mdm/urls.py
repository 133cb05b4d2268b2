"""Root URLs: the steward UI, admin, API v1 (one router assembled from every app), OpenAPI docs."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.module_loading import import_string
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from mdm import views
from sync import views as sync_views

api_router = DefaultRouter()
for dotted in settings.MDM_API_ROUTERS:
    api_router.registry.extend(import_string(dotted).registry)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", sync_views.readyz, name="readyz"),
    path("metrics", sync_views.metrics, name="metrics"),
    path("", include("mdm.ui.urls")),
    path("", include("sync.urls")),
    path("", include("suppliers.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = "mdm.views.page_not_found"
handler500 = "mdm.views.server_error"
