"""The triage UI: conversation lists and the conversation page."""

from django.http import HttpResponse
from django.shortcuts import render

from accounts.access import WorkspaceRequest, get_in_workspace, in_workspace, member_required
from inbox.models import Conversation


@member_required
def conversation_list(request: WorkspaceRequest) -> HttpResponse:
    conversations = in_workspace(request, Conversation).order_by("-last_message_at", "-id")[:50]
    return render(request, "inbox/list.html", {"conversations": conversations})


@member_required
def conversation_detail(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = get_in_workspace(request, Conversation, pk=conversation_id)
    return render(request, "inbox/conversation.html", {"conversation": conversation})
