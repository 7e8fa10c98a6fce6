"""The "Your data" pages (export and deletion), under /settings/data/, and the workspace's
data-processing terms."""

from django.urls import path

from privacy.gdpr import account_views as views
from privacy.gdpr import retention_views, terms_views

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
    path("settings/data/retention/", retention_views.retention_page, name="privacy_retention"),
    path(
        "settings/data/retention/confirm/",
        retention_views.retention_confirm,
        name="privacy_retention_confirm",
    ),
    path(
        "settings/data/retention/preview/",
        retention_views.retention_preview,
        name="privacy_retention_preview",
    ),
    path(
        "settings/data/retention/receipts/<id:receipt_id>/",
        retention_views.receipt_download,
        name="privacy_retention_receipt",
    ),
    path("settings/processor-terms/", terms_views.processor_terms_page, name="processor_terms"),
]
