from rest_framework.routers import SimpleRouter

from uom.api import views

router = SimpleRouter()
router.register("units", views.UnitViewSet)
router.register("uom/convert", views.UnitConvertViewSet, basename="uom-convert")
