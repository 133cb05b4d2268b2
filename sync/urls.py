"""Operations pages for syndication (mounted at the site root by ``mdm.urls``)."""

from django.urls import path

from sync import trace_ui, ui

urlpatterns = [
    path("operations/", ui.operations, name="operations"),
    path("operations/deliveries/", ui.delivery_list, name="operations-deliveries"),
    path("operations/deliveries/<int:pk>/", ui.delivery_detail, name="operations-delivery"),
    path("operations/deliveries/<int:pk>/replay/", ui.delivery_replay, name="operations-delivery-replay"),
    path("operations/targets/<int:pk>/", ui.target_detail, name="operations-target"),
    path("operations/targets/<int:pk>/replay-dead/", ui.target_replay_dead, name="operations-target-replay-dead"),
    path("operations/targets/<int:pk>/replay-since/", ui.target_replay_since, name="operations-target-replay-since"),
    path("operations/targets/<int:pk>/check/", ui.target_check_connection, name="operations-target-check"),
    path("trace/", trace_ui.trace_page, name="trace"),
]
