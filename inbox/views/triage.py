"""Triage from the browser: one conversation (POST .../triage/) or many (POST inbox/bulk/).

With htmx the conversation's live part comes back in place; without, a redirect.
"""

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
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
from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.actions import notifications, tags, triage
from inbox.actions.merging import conversation_merge, conversation_split
from inbox.actions.reading import sender_distrust, sender_trust
from inbox.actions.snooze import PRESETS, conversation_snooze, conversation_wake, preset_time
from inbox.models import Conversation, Message, Status, Tag
from inbox.selectors.conversation_page import for_page, message_view
from inbox.views.conversation import conversation_context
from trupeo.params import parse_id, parse_moment

MAX_BULK = 200


def _assignee(request: WorkspaceRequest) -> User | None:
    value = request.POST.get("assignee", "")
    if value == "me":
        return request.user
    if not value:
        return None
    if (user_id := parse_id(value)) is None:
        raise ValidationError(_("Unknown teammate."))
    return get_in_workspace(
        request, Membership.objects.select_related("user"), user_id=user_id
    ).user


def _tag(request: WorkspaceRequest) -> Tag:
    """The tag picked (`tag` id) or typed (`tag_name`, created when new)."""
    if name := request.POST.get("tag_name", "").strip():
        return tags.tag_get_or_create(workspace=request.workspace, name=name)
    if (tag_id := parse_id(request.POST.get("tag", ""))) is None:
        raise ValidationError(_("Choose a tag."))
    return get_in_workspace(request, Tag, pk=tag_id)


def _snooze_until(request: WorkspaceRequest) -> datetime:
    preset = request.POST.get("preset", "")
    if preset in PRESETS:
        return preset_time(preset)
    until = parse_moment(request.POST.get("until", ""))
    if until is None:
        raise ValidationError(_("Choose when it should come back."))
    return until


def _apply(request: WorkspaceRequest, conversation: Conversation, action: str) -> None:
    """One triage action on one conversation (shared by the page and bulk)."""
    actor = request.user
    if action == "assign":
        triage.conversation_assign(
            conversation=conversation, assignee=_assignee(request), actor=actor
        )
    elif action == "status":
        triage.conversation_set_status(
            conversation=conversation, status=request.POST.get("status", ""), actor=actor
        )
    elif action == "tag":
        tags.conversation_tag_add(conversation=conversation, tag=_tag(request), actor=actor)
    elif action == "untag":
        tags.conversation_tag_remove(conversation=conversation, tag=_tag(request), actor=actor)
    elif action == "snooze":
        conversation_snooze(conversation=conversation, until=_snooze_until(request), actor=actor)
    elif action == "wake":
        conversation_wake(conversation=conversation, actor=actor)
    else:
        raise ValidationError(_("Unknown action."))


@member_required
@writable
@require_POST
def conversation_triage(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = get_in_workspace(
        request, Conversation.objects.select_related("workspace", "mailbox"), pk=conversation_id
    )
    action = request.POST.get("action", "")
    target = conversation
    try:
        with transaction.atomic():
            if action == "note":
                triage.note_add(
                    conversation=conversation,
                    author=request.user,
                    body=request.POST.get("body", ""),
                )
            elif action == "follow":
                notifications.follow(conversation=conversation, user=request.user)
            elif action == "unfollow":
                notifications.unfollow(conversation=conversation, user=request.user)
            elif action in ("trust_sender", "distrust_sender"):
                _sender_images(request, conversation, trust=action == "trust_sender")
            elif action == "merge":
                target = _merge_target(request, conversation)
                conversation_merge(source=conversation, target=target, actor=request.user)
            elif action == "split":
                message = get_in_workspace(
                    request, Message, pk=_digits(request.POST.get("message", ""))
                )
                if message.conversation_id != conversation.pk:
                    raise ValidationError(_("That message is not in this conversation."))
                target = conversation_split(message=message, actor=request.user)
            else:
                _apply(request, conversation, action)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    closed = action == "status" and request.POST.get("status") == Status.CLOSED
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


def _digits(value: str) -> int:
    number = parse_id(value.strip().lstrip("#"))
    if number is None:
        raise ValidationError(_("Give the number of a conversation, like #1234."))
    return number


def _merge_target(request: WorkspaceRequest, conversation: Conversation) -> Conversation:
    """The conversation to merge into: its number ("#1234") or its link."""
    value = request.POST.get("into", "").strip().rstrip("/")
    number = value.rsplit("/", 1)[-1] if "/" in value else value
    return get_in_workspace(request, Conversation, pk=_digits(number))


def _sender_images(request: WorkspaceRequest, conversation: Conversation, *, trust: bool) -> None:
    message = get_in_workspace(
        request, Message, pk=_digits(request.POST.get("message", "")), conversation=conversation
    )
    keys = keys_for(request.workspace)
    address = message_view(keys, message).sender.get("address", "")
    if not address:
        raise ValidationError(_("This message has no sender address."))
    change = sender_trust if trust else sender_distrust
    change(keys=keys, workspace=request.workspace, address=address)


@member_required
@writable
@require_POST
def conversations_bulk(request: WorkspaceRequest) -> HttpResponse:
    """The same action on every ticked conversation of the list, all or nothing."""
    ids = [pk for v in request.POST.getlist("ids") if (pk := parse_id(v))][:MAX_BULK]
    action = request.POST.get("action", "")
    conversations = list(in_workspace(request, Conversation).filter(pk__in=ids))
    try:
        if not conversations:
            raise ValidationError(_("Tick at least one conversation."))
        with transaction.atomic():
            for conversation in conversations:
                _apply(request, conversation, action)
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
