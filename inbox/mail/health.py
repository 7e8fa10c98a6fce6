"""A mailbox's sync health, as the mailbox list and settings page show it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from inbox.mail.imap import default_port
from inbox.models import Mailbox, SyncState

# A mailbox whose last successful sync is older than this is shown as behind.
LAG_WARNING = timedelta(minutes=15)


@dataclass(frozen=True)
class MailboxHealth:
    mailbox: Mailbox
    level: str  # ok, waiting, behind, failing, paused: a CSS modifier and a summary
    summary: str
    is_behind: bool
    error_is_current: bool

    @property
    def imap_summary(self) -> str:
        m = self.mailbox
        port = m.imap_port or default_port("imap", m.imap_security)
        return f"{m.imap_host}:{port} · {m.get_imap_security_display()}"

    @property
    def smtp_summary(self) -> str:
        m = self.mailbox
        port = m.smtp_port or default_port("smtp", m.smtp_security)
        return f"{m.smtp_host}:{port} · {m.get_smtp_security_display()}"


def mailbox_health(mailbox: Mailbox, now: datetime) -> MailboxHealth:
    success = mailbox.last_success_at
    error_is_current = bool(mailbox.last_error) and (
        success is None or (mailbox.last_error_at is not None and mailbox.last_error_at > success)
    )
    is_behind = success is not None and now - success > LAG_WARNING
    if mailbox.sync_state == SyncState.PAUSED:
        level, summary = "paused", _("Paused: no new mail is fetched until it is resumed.")
    elif mailbox.sync_state == SyncState.RECONNECT:
        level, summary = (
            "failing",
            _("Sync is stopped until this mailbox is reconnected: the last error says why."),
        )
    elif mailbox.sync_state == SyncState.ERROR or (
        error_is_current and mailbox.consecutive_failures
    ):
        level, summary = "failing", _("Sync is failing; it is retried automatically.")
    elif success is None:
        level, summary = "waiting", _("Waiting for the first sync.")
    elif is_behind:
        level, summary = "behind", _("Behind: the last successful sync is not recent.")
    else:
        level, summary = "ok", _("Up to date.")
    return MailboxHealth(
        mailbox=mailbox,
        level=level,
        summary=summary,
        is_behind=is_behind,
        error_is_current=error_is_current,
    )
