"""Sending from a shared address: the outgoing state machine.

    draft   ─queue─▶ queued ─claim─▶ sending ─SMTP 250─▶ sent ─▶ copy in Sent, linked
    sending ─transient (down, timeout, dropped before DATA, 4xx; API 429)─▶ queued, backoff
            (1, 2, 5, 10, 30 min, then hourly; failed with the last reason 24 h after the first try)
    sending ─permanent (5xx, login refused, bad certificate, unknown host)─▶ failed, in words
    sending ─SMTP connection broken during DATA─▶ failed ("it may or may not have left")
    sending ─API 5xx / no answer after the request─▶ queued, backoff; the next try looks in
            Sent by Message-ID first (found → sent, never twice)
    sending, lease expired (the worker died) ─recovery─▶ sent if found in Sent, else failed
    failed  ─a person's Retry─▶ queued

* The MIME is composed once, when the outgoing is queued, and sealed to object storage: every
  attempt sends the same bytes under the same Message-ID.
* A worker claims an outgoing with one conditional UPDATE (queued → sending, a 5-minute lease,
  attempts + 1): two workers never both send it. A queued outgoing's `lease_until`, while set,
  is the time before which no worker may claim it (the next try of the backoff, shown to the
  author as "will try again at 14:32"). A retry is queued with a countdown, and the beat sweep
  (`outgoing_recover_stuck`) queues again any queued outgoing due for REQUEUE_AFTER with no
  worker on it, so a lost broker message never strands it.
* The outgoing is marked sent as soon as the server accepts the DATA, before anything else can
  fail; only then is the copy appended to Sent (its APPENDUID becomes the provider key, so the
  Sent-folder sync recognises it) and ingested into the conversation.
* An outgoing left in `sending` past its lease (the worker died mid-send) is never sent again
  blindly: the Sent folder is searched for its Message-ID; found, it is sent; otherwise it
  fails with a sentence asking the person to check with the recipient, and only a person's
  Retry sends it again.

Never logged: content, addresses, server replies (they may quote addresses) and passwords.

The package: `drafts` (drafts, their sealed content and files, the queue), `delivery` (the claim, the
SMTP attempt, the backoff), `filing` (the copy in Sent, linked into its conversation) and
`recovery` (what a dead worker left behind, and a person's Retry). Import from here.
"""

from inbox.mail.sending.delivery import (
    LEASE,
    MAX_REASON,
    RETRY_DELAYS,
    RETRY_EVERY,
    RETRY_WINDOW,
    interrupted_message,
    is_transient,
    outgoing_send,
    retry_delay,
)
from inbox.mail.sending.drafts import (
    MAX_ATTACHMENTS_BYTES,
    OutgoingStateError,
    attachment_too_large_message,
    outgoing_attach,
    outgoing_attachments,
    outgoing_content,
    outgoing_create,
    outgoing_detach,
    outgoing_discard,
    outgoing_queue,
    outgoing_update,
    recipients_over_limit,
    reply_defaults,
    too_many_recipients_message,
)
from inbox.mail.sending.filing import SEEN
from inbox.mail.sending.recovery import (
    REQUEUE_AFTER,
    RecoveryResult,
    outgoing_recover_stuck,
    outgoing_retry,
)
from inbox.mail.threads import message_id_token

# The public names, and `message_id_token`, which the tests use to compute the expected token.
__all__ = [
    "LEASE",
    "MAX_ATTACHMENTS_BYTES",
    "MAX_REASON",
    "REQUEUE_AFTER",
    "RETRY_DELAYS",
    "RETRY_EVERY",
    "RETRY_WINDOW",
    "SEEN",
    "OutgoingStateError",
    "RecoveryResult",
    "attachment_too_large_message",
    "interrupted_message",
    "is_transient",
    "message_id_token",
    "outgoing_attach",
    "outgoing_attachments",
    "outgoing_content",
    "outgoing_create",
    "outgoing_detach",
    "outgoing_discard",
    "outgoing_queue",
    "outgoing_recover_stuck",
    "outgoing_retry",
    "outgoing_send",
    "outgoing_update",
    "recipients_over_limit",
    "reply_defaults",
    "retry_delay",
    "too_many_recipients_message",
]
