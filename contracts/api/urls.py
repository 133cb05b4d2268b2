from rest_framework.routers import SimpleRouter

from contracts.api import views

router = SimpleRouter()
router.register("contracts", views.ContractViewSet)
router.register("prices", views.ContractPriceViewSet)
