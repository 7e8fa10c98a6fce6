"""What becomes an event: the pipeline's arrivals and sends, and the team's trail and notes.

Connected in `WebhooksConfig.ready`; inbox never imports webhooks.
"""

from django.db.models.signals import post_save

from accounts.keys import keys_for
from inbox.mail.ingest import is_history
from inbox.mail.sealing import note_row
from inbox.mail.signals import Arrivals, mail_stored, outgoing_sent
from inbox.models import Activity, ActivityKind, Direction, Mailbox, Note, Outgoing
from webhooks import payloads
from webhooks.emit import event_emit, subscribed, subscriptions
from webhooks.models import Event


def on_mail_stored(sender, *, mailbox: Mailbox, arrivals: Arrivals, **kwargs) -> None:
    workspace = mailbox.workspace
    endpoints = subscriptions(workspace.pk)
    # History imported with a new mailbox is no news: a channel is not flooded with years of mail.
    created = endpoints.get(Event.CONVERSATION_CREATED, [])
    started = [c for c in arrivals.started if not is_history(mailbox, c.last_message_at)]
    for conversation in started if created else []:
        event_emit(
            workspace=workspace,
            event=Event.CONVERSATION_CREATED,
            endpoints=created,
            data=lambda _content, c=conversation: {"conversation": payloads.conversation_data(c)},
        )
    received = endpoints.get(Event.MESSAGE_RECEIVED)
    inbound = [
        s
        for s in arrivals.stored
        if s.message.direction == Direction.INBOUND
        and not is_history(mailbox, s.message.received_at)
    ]
    if not inbound or not received:
        return
    for stored in inbound:
        event_emit(
            workspace=workspace,
            event=Event.MESSAGE_RECEIVED,
            endpoints=received,
            data=lambda content, s=stored: {
                "conversation": payloads.conversation_data(s.message.conversation),
                "message": payloads.message_data(s.message, s.headers, content=content),
            },
        )


_TRAIL_EVENTS = {
    ActivityKind.ASSIGNED: Event.CONVERSATION_ASSIGNED,
    ActivityKind.STATUS: Event.STATUS_CHANGED,
}


def on_activity(sender, *, instance: Activity, created: bool, **kwargs) -> None:
    if not created:
        return
    if instance.kind == ActivityKind.NOTE:
        _note_added(instance)
        return
    event = _TRAIL_EVENTS.get(instance.kind)
    if event is None:
        return
    activity = instance
    event_emit(
        workspace=activity.conversation.workspace,
        event=event,
        data=lambda _content: {
            "conversation": payloads.conversation_data(activity.conversation),
            "actor_id": activity.actor_id,
            "assignee_id": activity.assignee_id,
            "status": activity.status or None,
        },
    )


def _note_added(activity: Activity) -> None:
    """The trail line comes right after the note is sealed (`note_add`): that note is the
    newest of its author in the conversation."""
    conversation = activity.conversation
    if not subscribed(conversation.workspace_id, Event.NOTE_ADDED):
        return
    note = (
        Note.objects.filter(conversation=conversation, author_id=activity.actor_id)
        .order_by("id")
        .last()
    )
    if note is None:
        return

    def data(content: bool) -> dict:
        body = None
        if content:
            keys = keys_for(conversation.workspace)
            body = keys.open_text(note.body_sealed, field="note.body", row=note_row(note.pk))
        return {
            "conversation": payloads.conversation_data(conversation),
            "note": payloads.note_data(note, body),
        }

    event_emit(workspace=conversation.workspace, event=Event.NOTE_ADDED, data=data)


def on_outgoing_sent(sender, *, outgoing: Outgoing, **kwargs) -> None:
    conversation = outgoing.conversation
    event_emit(
        workspace=outgoing.mailbox.workspace,
        event=Event.REPLY_SENT,
        data=lambda _content: {
            "conversation": payloads.conversation_data(conversation) if conversation else None,
            "reply": payloads.outgoing_data(outgoing),
        },
    )


def connect() -> None:
    mail_stored.connect(on_mail_stored, dispatch_uid="webhooks.mail_stored")
    outgoing_sent.connect(on_outgoing_sent, dispatch_uid="webhooks.outgoing_sent")
    post_save.connect(on_activity, sender=Activity, dispatch_uid="webhooks.activity")
