"""The entry point `inbox.mail.sync.mailbox_sync` dispatches OAuth mailboxes to (under its lease)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils.translation import gettext as _

from inbox.mail.imap import MailServerError
from inbox.mail.providers import ProviderError, ReconnectNeeded
from inbox.mail.providers.api import Api
from inbox.mail.providers.base import ApiSync
from inbox.mail.providers.gmail import gmail_sync
from inbox.mail.providers.graph import graph_sync
from inbox.mail.providers.oauth import provider_label
from inbox.mail.sync_summary import FolderSummary
from inbox.models import FolderRole, Mailbox, Provider, SyncState

logger = logging.getLogger(__name__)


def provider_sync(
    mailbox: Mailbox, *, renew: Callable[[], None], batch_size: int, api: Api | None = None
) -> list:
    """One pass; the folder summaries `inbox.mail.sync` prints. Raises ProviderError in words."""
    if mailbox.sync_state == SyncState.RECONNECT:
        raise ReconnectNeeded(provider_label(mailbox.provider))
    run = gmail_sync if mailbox.provider == Provider.GOOGLE else graph_sync
    try:
        sync: ApiSync = run(mailbox, renew=renew, batch_size=batch_size, api=api)
    except MailServerError:
        raise  # already in words (and a lost lease is not a bug)
    except Exception as error:
        # A bug or an answer we cannot read: the traceback for us, words for the panel.
        logger.exception("mailbox %s: %s sync failed", mailbox.pk, mailbox.provider)
        raise ProviderError(
            _("The %(provider)s sync stopped on an unexpected problem (%(reason)s); it is retried.")
            % {"provider": provider_label(mailbox.provider), "reason": type(error).__name__}
        ) from error
    resynced = getattr(sync, "resynced", False)
    summaries = []
    for role in (FolderRole.INBOX, FolderRole.SENT):
        summary = FolderSummary(
            role=role,
            new=sync.counts.new.get(role, 0),
            resynced=role in resynced if isinstance(resynced, set) else bool(resynced),
        )
        summaries.append(summary)
    # Removals and read / starred changes come mailbox-wide from Gmail: counted once.
    summaries[0].expunged = sync.counts.expunged
    summaries[0].flags_updated = sync.counts.flags_updated
    if sync.counts.skipped_sent_copies:
        summaries[1].note = _("%(count)s sent from Trupeo, already here") % {
            "count": sync.counts.skipped_sent_copies
        }
    return summaries
