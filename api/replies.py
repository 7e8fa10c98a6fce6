"""Replies through the composer's own state machine (inbox.mail.sending): a draft is made,
checked as the "Send" button checks it, and queued; the sending task does the rest.

The checks a person answers on the page become 409s the caller answers in the request: a
message or note that arrived since the caller read the conversation (`seen`), and recipients
new to the conversation or a requester copied on a message to a third party
(`confirm_recipients`). A refused reply leaves no draft behind. No undo window: the API's
caller has no "Undo" button, so the message is handed to a worker at once."""

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from accounts.access import get_in_workspace
from accounts.keys import keys_for
from api import schemas
from api.errors import ApiError
from inbox.actions import compose as drafting
from inbox.mail.sending import outgoing_create, outgoing_queue, recipients_over_limit
from inbox.models import Conversation, Outgoing, SendState
from inbox.selectors.signatures import mailbox_signature

router = Router(tags=["replies"])


@router.post(
    "/conversations/{id:conversation_id}/replies",
    response={202: schemas.ReplyOut},
    url_name="api_conversation_replies",
    summary="Reply to a conversation",
)
def conversation_reply(request: HttpRequest, conversation_id: int, payload: schemas.ReplyIn):
    """Queued for sending from the conversation's shared address (202); follow it with
    GET /replies/{reply_id}. The signature of the address is added, the answered message
    quoted, as from the page."""
    conversation = get_in_workspace(
        request, Conversation.objects.select_related("mailbox", "workspace"), pk=conversation_id
    )
    message = drafting.answered_message(conversation, payload.message_id)
    if message is None:
        if payload.message_id is not None:
            raise ApiError(404, _("No such message in this conversation."))
        raise ApiError(422, _("There is no message to answer in this conversation."))
    keys = keys_for(request.workspace)
    with transaction.atomic():
        # Every refusal below raises, which rolls the draft back with it.
        outgoing = outgoing_create(
            mailbox=conversation.mailbox,
            conversation=conversation,
            author=request.user,
            kind=payload.kind,
            to=payload.to,
            cc=payload.cc,
            bcc=payload.bcc,
            subject=payload.subject,
            body=payload.body,
            reply_to_message=message,
            signature=mailbox_signature(conversation.mailbox, keys),
        )
        if over := recipients_over_limit(outgoing, keys):
            raise ApiError(422, over, code="too_many_recipients")
        if payload.seen is not None:
            arrivals = drafting.arrived_since(keys, conversation, payload.seen)
            if arrivals:
                raise ApiError(
                    409,
                    _(
                        "Something arrived in this conversation since you read it: read it "
                        "again, then send with its new `seen`."
                    ),
                    code="conversation_changed",
                    extra={"seen": drafting.seen_marker(conversation)},
                )
        warnings = drafting.recipient_warnings(outgoing)
        if warnings and not payload.confirm_recipients:
            raise ApiError(
                409,
                _(
                    "Some recipients need a confirmation (new to the conversation, or the "
                    "requester copied on a message to someone else): check them, then send "
                    "again with confirm_recipients set to true."
                ),
                code="confirm_recipients",
                extra={
                    "recipients": [{"address": w.address, "reason": w.reason} for w in warnings]
                },
            )
        outgoing_queue(outgoing=outgoing)
    return Status(
        202, {"id": outgoing.pk, "state": outgoing.state, "conversation_id": conversation.pk}
    )


@router.get(
    "/replies/{id:reply_id}",
    response=schemas.ReplyOut,
    url_name="api_reply",
    summary="Where a reply is: queued, sending, sent or failed",
)
def reply_detail(request: HttpRequest, reply_id: int):
    # Drafts are their author's own, on the page as here: never listed.
    outgoing = get_in_workspace(
        request, Outgoing.objects.exclude(state=SendState.DRAFT), pk=reply_id
    )
    return {"id": outgoing.pk, "state": outgoing.state, "conversation_id": outgoing.conversation_id}
