"""Notifications: the list, marking them read, email preferences and "I'm away"."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, member_required
from accounts.keys import keys_for
from accounts.models import Membership
from inbox.actions.notifications import notifications_mark_read, preferences_for
from inbox.models import Notification, NotificationPreference
from inbox.selectors.conversation_rows import conversation_summary
from trupeo.params import parse_id

PAGE_SIZE = 50


class PreferencesForm(forms.ModelForm):
    is_away = forms.BooleanField(
        label=gettext_lazy("I am away: round-robin rules skip me"), required=False
    )

    class Meta:
        model = NotificationPreference
        fields = ["email_assigned", "email_mentioned", "email_reply", "email_woke"]


@member_required
def notification_list(request: WorkspaceRequest) -> HttpResponse:
    """Newest first, keyset-paged by id (`?before=`)."""
    items = (
        Notification.objects.filter(recipient=request.user, workspace=request.workspace)
        .select_related("actor", "conversation__mailbox")
        .order_by("-id")
    )
    if before := parse_id(request.GET.get("before", "")):
        items = items.filter(id__lt=before)
    page = list(items[: PAGE_SIZE + 1])
    keys = keys_for(request.workspace)
    rows = [
        {
            "notification": n,
            "subject": conversation_summary(keys, n.conversation).get("subject") or "",
        }
        for n in page[:PAGE_SIZE]
    ]
    return render(
        request,
        "inbox/notifications.html",
        {
            "rows": rows,
            "next_before": page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else "",
        },
    )


@member_required
@require_POST
def notifications_read(request: WorkspaceRequest) -> HttpResponse:
    notifications_mark_read(user=request.user, workspace_id=request.workspace.pk)
    return redirect("notifications")


@member_required
def notification_settings(request: WorkspaceRequest) -> HttpResponse:
    preference = preferences_for(user=request.user, workspace_id=request.workspace.pk)
    membership = Membership.objects.get(workspace=request.workspace, user=request.user)
    form = PreferencesForm(
        request.POST or None, instance=preference, initial={"is_away": membership.is_away}
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        membership.is_away = form.cleaned_data["is_away"]
        membership.save(update_fields=["is_away"])
        messages.success(request, _("Your preferences are saved."))
        return redirect("notification_settings")
    return render(request, "inbox/notification_settings.html", {"form": form})
