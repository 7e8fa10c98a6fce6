"""Realistic test messages built on the fly."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

FIRST_NAMES = ["Sophie", "Karim", "Élodie", "Thomas", "Amélie", "Paul", "Inès", "Hugo"]


def french_message(
    n: int,
    *,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    subject: str | None = None,
    sender: str | None = None,
    body_words: int = 120,
) -> bytes:
    name = FIRST_NAMES[n % len(FIRST_NAMES)]
    msg = EmailMessage()
    msg["From"] = sender or f"{name} Parent{n} <parent{n}@famille.fr>"
    msg["To"] = "scolarite@lycee-verne.fr"
    msg["Subject"] = subject or f"Absence n°{n} — élève de 2nde"
    msg["Date"] = format_datetime(datetime(2026, 11, 1, 8, tzinfo=UTC) + timedelta(minutes=n))
    msg["Message-ID"] = message_id or f"<m{n}.{datetime.now().timestamp()}@famille.fr>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    words = " ".join(f"mot{(n * 7 + i) % 500}" for i in range(body_words))
    msg.set_content(
        f"Bonjour,\n\nMon enfant sera absent(e) demain. {words}\n\nCordialement,\n{name}"
    )
    return msg.as_bytes()


def loopback_mailbox(workspace, dovecot, smtp_server, *, user: str, password: str, **fields):
    """A shared mailbox on the test Dovecot (IMAP) and SMTP server, both on loopback."""
    from inbox.mail.mailboxes import mailbox_create

    return mailbox_create(
        workspace=workspace,
        address=fields.pop("address", "scolarite@lycee-verne.fr"),
        name=fields.pop("name", "Scolarité"),
        credentials={"imap_password": password, "smtp_password": smtp_server.password},
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_username=smtp_server.username,
        **fields,
    )


def one_message_conversation(workspace):
    """A mailbox of the workspace whose inbox received one message: its conversation, the only
    one in the database."""
    from django.utils import timezone

    from inbox.mail.ingest import RawMail, ingest_batch
    from inbox.mail.mailboxes import mailbox_create
    from inbox.models import Conversation

    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[RawMail(provider_key="x:1:1", raw=french_message(1), received_at=timezone.now())],
    )
    return Conversation.objects.get()


def received_message(mailbox, raw: bytes, uid: int = 1):
    """`raw` ingested into the mailbox's inbox as its message `uid`: the stored Message."""
    from inbox.mail.ingest import RawMail, ingest_batch
    from inbox.models import FolderRole, Message

    folder = mailbox.folders.get(role=FolderRole.INBOX)
    key = f"{folder.pk}:1:{uid}"
    ingest_batch(mailbox=mailbox, folder=folder, mails=[RawMail(provider_key=key, raw=raw)])
    return Message.objects.get(mailbox=mailbox, provider_key=key)
