"""Mailboxes reached through their provider's API over OAuth: Gmail and Microsoft Graph.

They feed the same pipeline as IMAP (`inbox.mail.ingest.ingest_batch`) with the same guarantees:
the provider's message id is the identity, a batch is committed before the cursor moves, a
cursor the provider invalidates triggers a full resync that adds nothing twice.

Modules: `oauth` (tokens: sealed, refreshed ahead of expiry under a per-mailbox lock, and
"reconnection needed"), `connect` (the admin's connect flows, disconnecting), `quota` (pacing
inside the providers' published quotas), `api` (HTTP with backoff and errors in words),
`base` (the sealed cursor and the fetch-while-storing pipeline), `gmail` and `graph` (sync),
`sending` (messages.send / sendMail), `sync` (the entry point `inbox.mail.sync` dispatches to).
"""

from django.utils.translation import gettext as _

from inbox.mail.imap import MailServerError


class ProviderError(MailServerError):
    """A provider API problem, in words (`str(error)`); never a token or content."""


class ReconnectNeeded(ProviderError):
    """The provider refused the refresh token (revoked, expired, password changed): only a
    person reconnecting the mailbox can fix it, so it is never retried on its own."""

    def __init__(self, provider_label: str) -> None:
        super().__init__(
            _(
                "%(provider)s no longer accepts Trupeo's access to this mailbox (it was revoked "
                "or has expired). An admin must reconnect it."
            )
            % {"provider": provider_label}
        )
