"""Triage from the browser: one conversation (POST .../triage/) or many (POST inbox/bulk/).

With htmx the conversation's live part comes back in place; without, a redirect.
"""

from collections.abc import Callable
from typing import NamedTuple

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from accounts.access import (
    WorkspaceRequest,
    get_in_workspace,
    in_workspace,
    member_required,
    writable,
)
from inbox.actions import notifications, tags, triage
from inbox.actions.merging import conversation_merge, conversation_split
from inbox.actions.reading import sender_distrust, sender_trust
from inbox.actions.snooze import conversation_snooze, conversation_wake
from inbox.forms.triage import (
    NOT_IN_WORKSPACE,
    AssignForm,
    FollowForm,
    MergeForm,
    NoteForm,
    SenderForm,
    SnoozeForm,
    SplitForm,
    StatusForm,
    TagForm,
    TriageForm,
    WakeForm,
)
from inbox.models import Conversation, Status
from inbox.selectors.conversation_page import for_page
from inbox.views.conversation import conversation_context
from trupeo.params import parse_id

MAX_BULK = 200


class Triage(NamedTuple):
    form: type[TriageForm]
    action: Callable[..., object]


# Every action of the conversation page: its form (what it reads) and its action function.
TRIAGE: dict[str, Triage] = {
    "assign": Triage(AssignForm, triage.conversation_assign),
    "status": Triage(StatusForm, triage.conversation_set_status),
    "tag": Triage(TagForm, tags.conversation_tag_add),
    "untag": Triage(TagForm, tags.conversation_tag_remove),
    "snooze": Triage(SnoozeForm, conversation_snooze),
    "wake": Triage(WakeForm, conversation_wake),
    "note": Triage(NoteForm, triage.note_add),
    "follow": Triage(FollowForm, notifications.follow),
    "unfollow": Triage(FollowForm, notifications.unfollow),
    "trust_sender": Triage(SenderForm, sender_trust),
    "distrust_sender": Triage(SenderForm, sender_distrust),
    "merge": Triage(MergeForm, conversation_merge),
    "split": Triage(SplitForm, conversation_split),
}
# Those the list's bulk bar offers: none reads the conversation.
BULK = ("assign", "status", "tag", "untag", "snooze", "wake")


def _valid(form: TriageForm) -> None:
    """Raise the form's errors as one ValidationError (shown in words); an id of another
    workspace is the same 404 as anywhere else."""
    if form.is_valid():
        return
    errors = [error for field in form.errors.as_data().values() for error in field]
    if any(error.code == NOT_IN_WORKSPACE for error in errors):
        raise Http404("No such object in this workspace.")
    raise ValidationError(errors)


@member_required
@writable
@require_POST
def conversation_triage(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = get_in_workspace(
        request, Conversation.objects.select_related("workspace", "mailbox"), pk=conversation_id
    )
    chosen = TRIAGE.get(request.POST.get("action", ""))
    target = conversation
    closed = False
    try:
        if chosen is None:
            raise ValidationError(_("Unknown action."))
        form = chosen.form(request.POST, request=request, conversation=conversation)
        with transaction.atomic():
            _valid(form)
            arguments = form.arguments(conversation)
            # A merge goes on in the conversation merged into; a split in the new one.
            target = arguments.get("target", conversation)
            done = chosen.action(**arguments)
            if isinstance(done, Conversation):
                target = done
        closed = arguments.get("status") == Status.CLOSED
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    if closed and not request.htmx and not messages.get_messages(request):
        messages.success(request, _("Conversation closed."))
        return redirect("inbox")
    if request.htmx and target.pk == conversation.pk:
        conversation = for_page(request.user).get(pk=conversation.pk)
        response = render(
            request, "inbox/conversation.html#live", conversation_context(request, conversation)
        )
        # The sidebar's counts (and the list, for a shortcut pressed on it) refresh now.
        return trigger_client_event(response, "inbox-changed")
    return redirect("conversation", conversation_id=target.pk)


@member_required
@writable
@require_POST
def conversations_bulk(request: WorkspaceRequest) -> HttpResponse:
    """The same action on every ticked conversation of the list, all or nothing."""
    ids = [pk for v in request.POST.getlist("ids") if (pk := parse_id(v))][:MAX_BULK]
    action = request.POST.get("action", "")
    chosen = TRIAGE[action] if action in BULK else None
    conversations = list(in_workspace(request, Conversation).filter(pk__in=ids))
    try:
        if not conversations:
            raise ValidationError(_("Tick at least one conversation."))
        if chosen is None:
            raise ValidationError(_("Unknown action."))
        with transaction.atomic():
            form = chosen.form(request.POST, request=request)
            _valid(form)
            for conversation in conversations:
                chosen.action(**form.arguments(conversation))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        count = len(conversations)
        messages.success(
            request,
            ngettext("%(count)d conversation updated.", "%(count)d conversations updated.", count)
            % {"count": count},
        )
    back = request.POST.get("next", "")
    if not back or not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect("inbox")
    return HttpResponseRedirect(back)  # a path, never a view name to reverse
