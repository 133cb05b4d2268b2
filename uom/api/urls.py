from rest_framework.routers import SimpleRouter

from uom.api import views

router = SimpleRouter()
router.register("units", views.UnitViewSet)
