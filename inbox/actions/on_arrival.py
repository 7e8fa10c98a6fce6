"""What the team sees when the pipeline stores mail (inbox.mail.signals.mail_stored): the lists
refresh, the trails gain their lines, assignees follow and hear, followers hear of replies."""

from collections import defaultdict

from inbox.actions import notifications
from inbox.actions.triage import record
from inbox.inbox_version import workspace_touched
from inbox.mail.signals import Arrivals
from inbox.models import Follow, Mailbox, NotificationKind


def mail_stored_received(sender, *, mailbox: Mailbox, arrivals: Arrivals, **kwargs) -> None:
    # Only new conversations, a customer writing again (reopened, woken) and rules move the
    # team's counts: the sent copy of a reply, filed in its conversation, changes none.
    moved = bool(arrivals.started or arrivals.replied or arrivals.trail or arrivals.assigned)
    workspace_touched(mailbox.workspace_id, counts=moved)
    for line in arrivals.trail:
        record(line.conversation, None, line.kind, **line.fields)
    for conversation, user in arrivals.assigned:
        notifications.follow(conversation=conversation, user=user)
        notifications.notify(
            conversation=conversation, recipients=[user], kind=NotificationKind.ASSIGNED
        )
    if not arrivals.replied:
        return
    by_conversation = defaultdict(list)
    follows = Follow.objects.filter(
        conversation_id__in=[c.pk for c in arrivals.replied]
    ).select_related("user")
    for follow in follows:
        by_conversation[follow.conversation_id].append(follow.user)
    for conversation in arrivals.replied:
        if by_conversation[conversation.pk]:
            notifications.notify(
                conversation=conversation,
                recipients=by_conversation[conversation.pk],
                kind=NotificationKind.REPLY,
            )
