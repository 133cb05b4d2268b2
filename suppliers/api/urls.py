from rest_framework.routers import SimpleRouter

from suppliers.api import views

router = SimpleRouter()
router.register("suppliers", views.SupplierViewSet)
