"""The portal's cast: a school's mailbox shown in its portal, a parent with two conversations
(one with a private forward to a teacher and a note inside), another parent, a spam, and the
same parent's address in charlie's workspace."""

import re
from datetime import timedelta

import pytest
from django.core import mail as outbox
from django.test import Client, TestCase
from django.utils import timezone

from accounts.models import Workspace
from inbox.actions.triage import note_add
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation, FolderRole, Status
from portal.actions import portal_enable
from tests.parts.turnstile_fake import turnstile  # noqa: F401  (the fixture)
from tests.privacy_data.conftest import mail

BOX = "scolarite@lycee-verne.fr"
PARENT = "parent@example.fr"
OTHER = "autre.parent@example.fr"
TEACHER = "prof.maths@lycee-verne.fr"
PDF = b"%PDF-1.4 certificat"


def ingest(mailbox, raws: list[bytes], *, sent: bool = False, key: str = "k") -> None:
    folder = mailbox.folders.get(role=FolderRole.SENT if sent else FolderRole.INBOX)
    now = timezone.now()
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[
            RawMail(f"{key}:{n}", raw, received_at=now - timedelta(minutes=60 - n))
            for n, raw in enumerate(raws)
        ],
    )


@pytest.fixture(autouse=True)
def _eager(eager):
    """Tasks run where they are queued (the sign-in link's mail, the admins' notice)."""


@pytest.fixture
def box(workspace):
    mailbox = mailbox_create(workspace=workspace, address=BOX)
    portal_enable(workspace=workspace)
    return mailbox


@pytest.fixture
def school(box, alice):
    """The conversations of the school's mailbox, by name."""
    ingest(
        box,
        [
            mail(
                sender=f"Parent Dupont <{PARENT}>",
                to=BOX,
                subject="Absence de Lucas",
                message_id="a1@example.fr",
                attachment=PDF,
            ),
            mail(
                sender=f"Autre <{OTHER}>",
                to=BOX,
                subject="Inscription de Léa",
                message_id="b1@example.fr",
                body="Dossier de Léa.",
            ),
            mail(
                sender=f"Spammeur <{PARENT}>", to=BOX, subject="Gagnez", message_id="s1@example.fr"
            ),
        ],
    )
    ingest(
        box,
        [
            mail(
                sender=BOX,
                to=PARENT,
                subject="Re: Absence de Lucas",
                message_id="a2@lycee-verne.fr",
                in_reply_to="a1@example.fr",
                body="Bien noté, merci.",
            ),
            mail(
                sender=BOX,
                to=TEACHER,
                subject="Tr: Absence de Lucas",
                message_id="a3@lycee-verne.fr",
                in_reply_to="a1@example.fr",
                body="Secret interne: Lucas est souvent absent.",
            ),
        ],
        sent=True,
        key="sent",
    )
    absence, other, spam = Conversation.objects.filter(mailbox=box).order_by("id")
    assert absence.messages.count() == 3
    note_add(conversation=absence, author=alice, body="Note interne confidentielle")
    Conversation.objects.filter(pk=spam.pk).update(status=Status.SPAM)
    return {"absence": absence, "other": other, "spam": spam}


def link_from_outbox(address: str) -> str:
    found = [m for m in outbox.outbox if address in m.to]
    assert found, f"no mail to {address}"
    return re.search(r"https?://\S+/signin/\S+/", found[-1].body).group(0)


def sign_in(client: Client, workspace: Workspace, address: str, *, remember=False) -> Client:
    """The whole flow, as a requester does it: ask, open the mailed link, confirm."""
    with TestCase.captureOnCommitCallbacks(execute=True):  # the task mails the link
        response = client.post(f"/p/{workspace.slug}/signin/", {"email": address})
    assert response.status_code == 200
    path = "/" + link_from_outbox(address).split("/", 3)[3]
    assert client.get(path).status_code == 200
    response = client.post(path, {"remember": "on"} if remember else {})
    assert response.status_code == 302
    return client


@pytest.fixture
def parent_client(workspace, school):
    return sign_in(Client(), workspace, PARENT)
