"""Saved replies: every member sees the list, admins write, change and delete them."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, admin_required, get_in_workspace, member_required
from accounts.keys import keys_for
from inbox.actions.saved_replies import saved_reply_create, saved_reply_delete, saved_reply_update
from inbox.forms.saved_replies import SavedReplyForm
from inbox.models import SavedReply
from inbox.selectors.saved_replies import (
    VARIABLES,
    saved_replies_for,
    saved_reply_open,
    unknown_variables,
)


def _variables() -> list[tuple[str, str]]:
    return [("{{ %s }}" % name, str(label)) for name, label in VARIABLES.items()]  # noqa: UP031


@member_required
def saved_reply_list(request: WorkspaceRequest) -> HttpResponse:
    return render(
        request,
        "inbox/saved_replies.html",
        {
            "saved_replies": saved_replies_for(workspace=request.workspace),
            "is_admin": request.membership.is_admin,
        },
    )


def _form_page(
    request: WorkspaceRequest, form: SavedReplyForm, saved_reply: SavedReply | None
) -> HttpResponse:
    return render(
        request,
        "inbox/saved_replies_form.html",
        {"form": form, "saved_reply": saved_reply, "variables": _variables()},
    )


def _saved(request: WorkspaceRequest, body: str) -> None:
    unknown = unknown_variables(body)
    if unknown:
        names = ", ".join("{{ %s }}" % n for n in unknown)  # noqa: UP031
        messages.warning(
            request,
            _("Saved. These are not variables and will be inserted as they are: %(names)s.")
            % {"names": names},
        )
    else:
        messages.success(request, _("The saved reply is saved."))


@admin_required
def saved_reply_add(request: WorkspaceRequest) -> HttpResponse:
    form = SavedReplyForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            saved_reply_create(
                workspace=request.workspace,
                mailbox=form.cleaned_data["mailbox"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                created_by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _saved(request, form.cleaned_data["body"])
            return redirect("saved_replies")
    return _form_page(request, form, None)


@admin_required
def saved_reply_edit(request: WorkspaceRequest, saved_reply_id: int) -> HttpResponse:
    saved_reply = get_in_workspace(
        request, SavedReply.objects.select_related("mailbox", "workspace"), pk=saved_reply_id
    )
    current = saved_reply_open(keys_for(request.workspace), saved_reply)
    form = SavedReplyForm(
        request.POST or None,
        workspace=request.workspace,
        initial={"title": current.title, "body": current.body, "mailbox": saved_reply.mailbox},
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved_reply_update(
                saved_reply=saved_reply,
                mailbox=form.cleaned_data["mailbox"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _saved(request, form.cleaned_data["body"])
            return redirect("saved_replies")
    return _form_page(request, form, saved_reply)


@admin_required
@require_POST
def saved_reply_remove(request: WorkspaceRequest, saved_reply_id: int) -> HttpResponse:
    saved_reply = get_in_workspace(request, SavedReply, pk=saved_reply_id)
    saved_reply_delete(saved_reply=saved_reply)
    messages.success(request, _("The saved reply is deleted."))
    return redirect("saved_replies")
