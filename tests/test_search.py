"""Search over the blind index: operators, accents, confirmation, and no leak across workspaces."""

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
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
        monkeypatch.setattr("inbox.selectors.search_query.RARE", 0)
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


def test_a_date_range_finds_conversations_that_span_it(alice_client, workspace):
    """`before:`/`after:` select messages; a conversation is found by any message inside the
    range, even when it started before or went on after it (its span bounds the walk)."""
    from datetime import UTC, datetime

    mailbox = mailbox_create(workspace=workspace, address="accueil@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")

    def day(d: int) -> datetime:
        return datetime(2026, 3, d, 9, tzinfo=UTC)

    def mail(n: int, received: datetime, **headers) -> RawMail:
        raw = french_message(n, **headers)
        return RawMail(provider_key=f"{folder.pk}:1:{n}", raw=raw, received_at=received)

    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[
            # Spans the range: starts before it, has a message in it, goes on after it.
            mail(1, day(2), subject="Voyage scolaire", message_id="<v1@x.fr>"),
            mail(2, day(12), subject="Re: Voyage scolaire", in_reply_to="<v1@x.fr>"),
            mail(3, day(25), subject="Re: Voyage scolaire", in_reply_to="<v1@x.fr>"),
            # Entirely inside the range.
            mail(4, day(11), subject="Bourse"),
            # Around the range, but no message in it.
            mail(5, day(1), subject="Cantine", message_id="<c1@x.fr>"),
            mail(6, day(28), subject="Re: Cantine", in_reply_to="<c1@x.fr>"),
            # Started after the range.
            mail(7, day(21), subject="Sortie"),
        ],
    )
    voyage = Conversation.objects.get(mailbox=mailbox, message_count=3)
    assert (voyage.first_message_at, voyage.last_message_at) == (day(2), day(25))
    for plan in ("few matches", "many matches"):
        with pytest.MonkeyPatch.context() as patch:
            if plan == "many matches":
                patch.setattr("inbox.selectors.search_query.RARE", 0)
            found = _subjects(alice_client, "after:2026-03-10 before:2026-03-20 mailbox:accueil")
            assert sorted(found) == ["Bourse", "Voyage scolaire"], plan
            found = _subjects(alice_client, "after:2026-03-10 before:2026-03-20 bonjour")
            assert sorted(found) == ["Bourse", "Voyage scolaire"], plan


def test_words_read_chunk_by_chunk_are_the_words_of_the_whole_text():
    """The index is built chunk by chunk, with a cache; queries and the stored index must
    agree with reading the whole lower-cased text at once, whatever the characters."""
    import random

    from inbox.mail.search import read_chunk, words

    rng = random.Random(7)
    alphabet = [*"aéèÉ½ﬁ①-_.+@ \t\n,;:!?'\"«»09ßİıZzΣσΟΔ·", "\u0301", "\xa0", "\u2009"]
    texts = ["ΟΔΟΣ ΟΔΟΣ.", "Élève jean-pierre@Lycée.fr", "ﬁchier ½ ①"]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(1, 80))) for _ in range(5000)]
    for text in texts:
        assert words(text) == set(read_chunk(text)), text
        assert words(text) == words(text)  # and again, from the cache


def test_missing_words_stops_early_but_answers_as_words_does():
    """Confirming a candidate reads its text only until every word is found: the answer is
    still exactly the wanted words that `words` does not give."""
    import random

    from inbox.mail.search import missing_words, words

    rng = random.Random(11)
    alphabet = [*"aéèÉﬁ-_.+@ \t\n,;:'«»09ßİΣσΟΔ", "\u0301", "\xa0"]
    texts = ["".join(rng.choices(alphabet, k=rng.randint(1, 80))) for _ in range(3000)]
    vocabulary = sorted(set().union(*(words(t) for t in texts)))
    for text in texts:
        wanted = set(rng.sample(vocabulary, k=rng.randint(1, 3)))
        wanted |= set(rng.sample(sorted(words(text)), k=min(2, len(words(text)))))
        assert missing_words(text, wanted) == wanted - words(text), text
