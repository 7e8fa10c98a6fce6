"""Reply-time goals and business hours, ordered by path."""

from django.urls import path

from sla import views

urlpatterns = [
    path("inbox/due/", views.due_list, name="sla_due"),
    path("mailboxes/<id:mailbox_id>/goals/", views.mailbox_goals, name="sla_mailbox"),
    path("settings/business-hours/", views.workspace_calendar, name="sla_calendar"),
]
