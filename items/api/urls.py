from rest_framework.routers import SimpleRouter

from items.api import views

router = SimpleRouter()
router.register("items", views.ItemViewSet)
