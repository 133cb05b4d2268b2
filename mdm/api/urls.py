from rest_framework.routers import DefaultRouter

from mdm.api import audit, changes, views
from mdm.api.matching import register_routes

router = DefaultRouter()
router.register("source-systems", views.SourceSystemViewSet)
router.register("source-records", views.SourceRecordViewSet)
router.register("quarantine", views.QuarantinedRecordViewSet)
router.register("ingest-batches", views.IngestBatchViewSet)
register_routes(router)
changes.register_routes(router)
audit.register_routes(router)
