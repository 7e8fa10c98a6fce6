"""Fixtures of the privacy data tests: staff with a second factor, a mailbox with mail."""

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import FolderRole
from tests.factories import UserFactory


@pytest.fixture
def staff(db):
    user = UserFactory(email="dpo@trupeo.fr", name="Délégué Protection", is_staff=True)
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    # Staff reach the admin only with a second factor (accounts.middleware).
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return user


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def mail(
    *,
    sender: str,
    to: str,
    subject: str,
    message_id: str,
    cc: str = "",
    bcc: str = "",
    in_reply_to: str = "",
    body: str = "Bonjour.",
    attachment: bytes | None = None,
) -> bytes:
    headers = [
        f"From: {sender}",
        f"To: {to}",
        *([f"Cc: {cc}"] if cc else []),
        *([f"Bcc: {bcc}"] if bcc else []),
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        *([f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"] if in_reply_to else []),
        "Date: Mon, 02 Mar 2026 09:00:00 +0100",
        "MIME-Version: 1.0",
    ]
    if attachment is None:
        headers.append("Content-Type: text/plain; charset=utf-8")
        return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()
    import base64

    headers.append('Content-Type: multipart/mixed; boundary="b1"')
    parts = (
        f"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        "--b1\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="certificat médical.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.b64encode(attachment).decode()}\r\n--b1--\r\n"
    )
    return ("\r\n".join(headers) + "\r\n\r\n" + parts).encode()


def ingest(mailbox, mails: list[bytes], *, sent: bool = False, start: int = 1) -> None:
    folder = mailbox.folders.get(role=FolderRole.SENT if sent else FolderRole.INBOX)
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[RawMail(f"{folder.pk}:1:{n}", raw) for n, raw in enumerate(mails, start=start)],
    )


@pytest.fixture
def mailbox(workspace):
    return mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
