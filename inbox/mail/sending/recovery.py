"""Recovery: what a dead worker or a lost task left behind, settled without ever sending
blindly, and a person's Retry of a message that was not sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from inbox.mail.sealing import outgoing_row
from inbox.mail.sending.delivery import LEASE, interrupted_message, mark_failed, mark_sent
from inbox.mail.sending.drafts import OutgoingStateError, author_language, outgoing_content
from inbox.mail.sending.filing import file_in_sent, find_in_sent, link_outgoing, sent_searchable
from inbox.models import FolderRole, MailboxFolder, Outgoing, SendState
from inbox.tasks import send_outgoing
from trupeo.queueing import enqueue, enqueue_on_commit
from trupeo.storage import read_sealed

# One logger for the package, under the name it has always had.
logger = logging.getLogger("inbox.mail.sending")

# A queued outgoing whose task has not claimed it this long after it was due is queued again
# by `outgoing_recover_stuck` (a lost broker message must not lose a reply).
REQUEUE_AFTER = timedelta(minutes=2)


# --- recovery ------------------------------------------------------------------------------


@dataclass
class RecoveryResult:
    confirmed_sent: int = 0
    marked_failed: int = 0
    filed: int = 0
    requeued: int = 0


def outgoing_recover_stuck(*, now: datetime | None = None) -> RecoveryResult:
    """Run periodically (beat). Settles what a dead worker left behind; never sends.

    * sending, lease expired: found in Sent by Message-ID → sent (and linked); not found, or
      no way to look → failed, asking the person to check before sending again;
    * sent, not yet filed, lease expired → the copy is filed (searched first, never twice);
    * queued and due for a while with no worker on it → its task is queued again.
    """
    now = now or timezone.now()
    result = RecoveryResult()
    stuck = Outgoing.objects.filter(state=SendState.SENDING, lease_until__lt=now)
    for outgoing in stuck.select_related("mailbox__workspace", "author").order_by("pk"):
        if not _take(outgoing, SendState.SENDING, now):
            continue
        with translation.override(author_language(outgoing.author)):
            if _recover_sending(outgoing):
                result.confirmed_sent += 1
            else:
                result.marked_failed += 1
    unfiled = Outgoing.objects.filter(
        state=SendState.SENT, message__isnull=True, lease_until__lt=now
    )
    for outgoing in unfiled.select_related("mailbox__workspace", "author").order_by("pk"):
        if not _take(outgoing, SendState.SENT, now):
            continue
        with translation.override(author_language(outgoing.author)):
            keys = keys_for(outgoing.mailbox.workspace)
            raw = read_sealed(
                outgoing.raw_object, keys, field="outgoing.raw", row=outgoing_row(outgoing.pk)
            )
            message_id = outgoing_content(outgoing, keys).get("message_id", "")
            file_in_sent(outgoing, raw, message_id, search_first=True)
        result.filed += 1
    due = Outgoing.objects.filter(
        state=SendState.QUEUED, updated_at__lt=now - REQUEUE_AFTER
    ).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now - REQUEUE_AFTER))
    for pk in due.values_list("pk", flat=True):
        # A duplicate task is harmless: only one can claim it.
        if enqueue(send_outgoing, pk):
            result.requeued += 1
    return result


def _take(outgoing: Outgoing, state: str, now: datetime) -> bool:
    """Extend the expired lease, so that a concurrent recovery leaves this one alone."""
    taken = Outgoing.objects.filter(
        pk=outgoing.pk, state=state, lease_until=outgoing.lease_until
    ).update(lease_until=now + LEASE, updated_at=now)
    outgoing.lease_until = now + LEASE
    return bool(taken)


def _recover_sending(outgoing: Outgoing) -> bool:
    """True when the message is found in Sent (then marked sent and linked)."""
    mailbox = outgoing.mailbox
    keys = keys_for(mailbox.workspace)
    message_id = outgoing_content(outgoing, keys).get("message_id", "")
    folder = MailboxFolder.objects.filter(mailbox=mailbox, role=FolderRole.SENT).first()
    found = None
    if message_id and sent_searchable(mailbox, folder):
        try:
            found = find_in_sent(mailbox, folder, message_id, token=outgoing.message_id_token)
        except Exception as error:
            logger.warning(
                "outgoing %s: Sent folder not searchable (%s)", outgoing.pk, type(error).__name__
            )
    if found is None:
        mark_failed(outgoing, interrupted_message())
        return False
    mark_sent(outgoing, sent_at=found.internal_date)
    raw = found.raw or read_sealed(
        outgoing.raw_object, keys, field="outgoing.raw", row=outgoing_row(outgoing.pk)
    )
    link_outgoing(outgoing, folder, found.provider_key, raw, outgoing.sent_at or timezone.now())
    return True


# --- a person's Retry -------------------------------------------------------------------------


def outgoing_retry(*, outgoing: Outgoing) -> Outgoing:
    """A person pressing Retry on a message that was not sent (or is waiting to be)."""
    with transaction.atomic():
        now = timezone.now()
        updated = Outgoing.objects.filter(
            pk=outgoing.pk, state__in=[SendState.FAILED, SendState.QUEUED]
        ).update(
            # A new day of automatic retries from the next attempt.
            state=SendState.QUEUED,
            lease_until=None,
            attempts=0,
            first_attempt_at=None,
            updated_at=now,
        )
        if not updated:
            raise OutgoingStateError(_("Only a message that was not sent can be sent again."))
        pk = outgoing.pk
        enqueue_on_commit(send_outgoing, pk)
    outgoing.refresh_from_db()
    return outgoing
