"""The reports' pages, ordered by path."""

from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.report_page, name="reports"),
    path("reports/<slug:section>.csv", views.report_csv, name="report_csv"),
]
