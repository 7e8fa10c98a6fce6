"""Search over the blind index: operators, accents, confirmation, and no leak across workspaces."""

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.ingest import RawMail, ingest_batch
from inbox.mailboxes import mailbox_create
from inbox.models import Conversation
from tests.mail import french_message

EML = Path(__file__).parent / "fixtures" / "eml"


@pytest.fixture
def mailbox(workspace):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")
    raws = [
        french_message(
            1, subject="Absence de Léa jeudi", sender="Sophie Lefèvre <sophie@orange.fr>"
        ),
        french_message(
            2, subject="Cantine : carte perdue", sender="Thomas Girard <tg@laposte.net>"
        ),
        (EML / "en_supplier_invoice_with_pdf.eml").read_bytes(),
    ]
    mails = [
        RawMail(provider_key=f"{folder.pk}:1:{n}", raw=raw, received_at=timezone.now())
        for n, raw in enumerate(raws)
    ]
    ingest_batch(mailbox=mailbox, folder=folder, mails=mails)
    return mailbox


def _subjects(client, q: str) -> list[str]:
    response = client.get(reverse("inbox"), {"q": q})
    assert response.status_code == 200
    return [row.subject for row in response.context["rows"]]


@pytest.mark.parametrize(
    "q,expected",
    [
        ("absence", ["Absence de Léa jeudi"]),
        ("ABSENCE lea", ["Absence de Léa jeudi"]),  # case and accents folded
        ('"carte perdue"', ["Cantine : carte perdue"]),
        ("from:sophie", ["Absence de Léa jeudi"]),
        ("from:laposte.net", ["Cantine : carte perdue"]),
        ("subject:cantine", ["Cantine : carte perdue"]),
        ("to:scolarite", ["Absence de Léa jeudi", "Cantine : carte perdue"]),
        ("subject:absent", []),  # only in the body, not the subject
        ("dinosaure", []),
        ("tag:urgent", []),
        ("before:2000-01-01", []),
        ("is:closed", []),
    ],
)
@pytest.mark.parametrize("plan", ["few matches", "many matches"])
def test_operators(alice_client, mailbox, q, expected, plan, monkeypatch):
    # Both plans of search_conversations give the same answers (0: every search is "many").
    if plan == "many matches":
        monkeypatch.setattr("inbox.search_query.RARE", 0)
    assert sorted(_subjects(alice_client, q)) == sorted(expected)


def test_has_attachment(alice_client, mailbox):
    found = _subjects(alice_client, "has:attachment")
    assert len(found) == 1 and "Absence" not in found[0]


def test_assignee_and_status(alice_client, alice, mailbox):
    conversation = Conversation.objects.filter(mailbox=mailbox).order_by("pk").first()
    Conversation.objects.filter(pk=conversation.pk).update(assignee=alice)
    assert len(_subjects(alice_client, "assignee:me")) == 1
    assert len(_subjects(alice_client, "assignee:alice is:open")) == 1
    assert _subjects(alice_client, "assignee:zorglub") == []


def test_another_workspace_finds_nothing(charlie_client, mailbox):
    assert _subjects(charlie_client, "absence") == []
    assert _subjects(charlie_client, "from:sophie") == []


def test_search_box_keeps_the_query_in_the_url(alice_client, mailbox):
    page = alice_client.get(reverse("inbox"), {"q": "from:sophie"}).content.decode()
    assert 'name="q" value="from:sophie"' in page
