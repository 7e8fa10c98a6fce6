"""The "Your data" pages (export and deletion), under /settings/data/."""

from django.urls import path

from privacy import account_views as views

urlpatterns = [
    path("settings/data/", views.data_page, name="privacy_data"),
    path("settings/data/export/", views.export_start, name="privacy_export_start"),
    path(
        "settings/data/exports/<id:export_id>/",
        views.export_progress,
        name="privacy_export_progress",
    ),
    path(
        "settings/data/exports/<id:export_id>/download/",
        views.export_download,
        name="privacy_export_download",
    ),
    path(
        "settings/data/workspace/delete/", views.workspace_delete, name="privacy_workspace_delete"
    ),
    path("settings/data/account/export/", views.account_export, name="privacy_account_export"),
    path("settings/data/account/delete/", views.account_delete, name="privacy_account_delete"),
]
