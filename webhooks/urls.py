"""The webhook settings, ordered by path."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("settings/webhooks/", views.webhook_list, name="webhook_list"),
    path("settings/webhooks/<id:endpoint_id>/", views.webhook_edit, name="webhook_edit"),
    path("settings/webhooks/<id:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path(
        "settings/webhooks/<id:endpoint_id>/deliveries/",
        views.webhook_deliveries,
        name="webhook_deliveries",
    ),
    path("settings/webhooks/<id:endpoint_id>/enable/", views.webhook_enable, name="webhook_enable"),
    path("settings/webhooks/<id:endpoint_id>/ping/", views.webhook_ping, name="webhook_ping"),
    path("settings/webhooks/<id:endpoint_id>/secret/", views.webhook_secret, name="webhook_secret"),
    path("settings/webhooks/new/", views.webhook_add, name="webhook_add"),
]
