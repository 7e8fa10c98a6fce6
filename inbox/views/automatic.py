"""Automatic mail: a mailbox's acknowledgement and notification settings (admins), and the
public rating page the closing mail links to (requesters, no account)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.access import WorkspaceRequest, admin_required, get_in_workspace, writable
from inbox.actions.automatic import mailbox_automatic_set
from inbox.actions.satisfaction import (
    SatisfactionRefused,
    satisfaction_comment,
    satisfaction_rater_check,
    satisfaction_record,
    satisfaction_request_for,
)
from inbox.forms.automatic import MailboxAutomaticForm, SatisfactionCommentForm
from inbox.models import Mailbox, SatisfactionLevel
from inbox.selectors.automatic import VARIABLES, acknowledgement_texts


@admin_required
@writable
def mailbox_automatic(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_in_workspace(request, Mailbox.objects.select_related("workspace"), pk=mailbox_id)
    texts = acknowledgement_texts(mailbox)
    initial = {
        "auto_ack": mailbox.auto_ack,
        "auto_language": mailbox.auto_language,
        "expected_reply_hours": mailbox.expected_reply_hours,
        "auto_portal_link": mailbox.auto_portal_link,
        "notify_closed": mailbox.notify_closed,
        "notify_answered": mailbox.notify_answered,
        "satisfaction": mailbox.satisfaction,
        "template_fr": texts["fr"],
        "template_en": texts["en"],
    }
    form = MailboxAutomaticForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                mailbox_automatic_set(mailbox=mailbox, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("The automatic messages of %(address)s are saved.")
                    % {"address": mailbox.address},
                )
                return redirect("mailbox_automatic", mailbox.pk)
        status = 400
    return render(
        request,
        "inbox/automatic.html",
        {"mailbox": mailbox, "form": form, "variables": VARIABLES},
        status=status,
    )


def _refused(request: HttpRequest, code: str) -> HttpResponse:
    status = {"member": 403, "invalid": 404}.get(code, 410)
    return render(request, "inbox/satisfaction.html", {"refused": code}, status=status)


@never_cache
def satisfaction(request: HttpRequest, token: str) -> HttpResponse:
    """The closing mail's links (?rating=good|average|bad) open this page with the choice
    made; it is recorded by the POST the page sends at once (static JS) or with one click.
    A GET records nothing: mail scanners open every link of a message. Nothing here loads
    from elsewhere: no pixel, no third party."""
    user = request.user if request.user.is_authenticated else None
    try:
        request_row = satisfaction_request_for(token)
    except SatisfactionRefused as refusal:
        return _refused(request, refusal.code)
    form = SatisfactionCommentForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "inbox/satisfaction.html", {"form": form}, status=400)
        comment = form.cleaned_data["comment"]
        try:
            if request_row.used_at is not None:  # the comment, after the rating
                satisfaction_comment(token=token, comment=comment, user=user)
                return render(request, "inbox/satisfaction.html", {"thanks": True})
            rated = satisfaction_record(
                token=token,
                rating=form.cleaned_data["rating"] or SatisfactionLevel.GOOD,
                comment=comment,
                user=user,
            )
        except SatisfactionRefused as refusal:
            return _refused(request, refusal.code)
        if comment:
            return render(request, "inbox/satisfaction.html", {"thanks": True})
        label = SatisfactionLevel(rated.rating).label
        return render(
            request, "inbox/satisfaction.html", {"rated": label, "form": SatisfactionCommentForm()}
        )
    try:
        satisfaction_rater_check(request=request_row, user=user)
    except SatisfactionRefused as refusal:
        return _refused(request, refusal.code)
    chosen = request.GET.get("rating", "")
    return render(
        request,
        "inbox/satisfaction.html",
        {
            "choose": SatisfactionLevel.choices,
            "chosen": chosen if chosen in SatisfactionLevel.values else "",
            "form": form,
        },
    )
