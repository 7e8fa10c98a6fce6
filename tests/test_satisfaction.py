"""Satisfaction: the closing mail's one-click links, sent over a real SMTP server, and every way
to abuse them (a second use, another conversation, a forged token, an agent's session)."""

import email
import re
import secrets
from email import policy
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client

from inbox.actions.satisfaction import (
    SALT,
    SatisfactionRefused,
    satisfaction_record,
    satisfaction_request_create,
    token_hash,
)
from inbox.actions.triage import conversation_set_status
from inbox.models import Conversation, SatisfactionRating, SatisfactionRequest, Status
from inbox.selectors.satisfaction import satisfaction_counts
from tests.test_automatic import arrive, mail, send_all, settings_for, text_of
from tests.test_automatic import setup as setup  # the fixture, reused

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/satisfaction/\S+")


def _links(setup, alice) -> dict[str, str]:
    settings_for(setup["mailbox"], auto_ack=False, satisfaction=True)
    arrive(setup, mail(1))
    conversation = Conversation.objects.get()
    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    send_all()
    [raw] = setup["smtp"].messages
    closing = email.message_from_bytes(raw.raw, policy=policy.default)
    assert closing["Auto-Submitted"] == "auto-replied"
    links = {}
    for url in LINK.findall(text_of(closing)):
        parts = urlsplit(url)
        links[parts.query.split("=")[1]] = f"{parts.path}?{parts.query}"
    assert set(links) == {"good", "average", "bad"}
    # No pixel, no third party: the mail is plain text and links only to Trupeo.
    assert closing.get_body(("html",)) is None
    return links


def test_one_click_records_then_a_comment_then_nothing_more(setup, alice, alice_client):
    links = _links(setup, alice)
    requester = Client()
    # Opening the link records nothing (mail scanners open every link): the page, with the
    # choice made, sends itself (static JS) — here the POST it sends.
    for _scanner in range(2):
        page = requester.get(links["bad"])
        assert page.status_code == 200 and not SatisfactionRating.objects.exists()
    page = requester.get(links["good"]).content.decode()
    assert "data-autosubmit" in page and 'value="good" required checked' in page
    path = links["good"].split("?")[0]
    rated = requester.post(path, {"rating": "good"})
    assert rated.status_code == 200 and 'name="comment"' in rated.content.decode()
    rating = SatisfactionRating.objects.get()
    assert rating.rating == "good" and rating.conversation == Conversation.objects.get()
    # The optional comment, sealed at rest.
    assert requester.post(path, {"comment": "Très bien, merci beaucoup"}).status_code == 200
    rating.refresh_from_db()
    assert b"merci beaucoup" not in bytes(rating.comment_sealed)
    # Second use of any link of that mail: refused, nothing changes.
    assert requester.get(links["bad"]).status_code == 410
    assert requester.post(path, {"comment": "encore"}).status_code == 410
    assert SatisfactionRating.objects.get().rating == "good"
    # The team sees it on the conversation.
    shown = alice_client.get(f"/inbox/c/{rating.conversation_id}/").content.decode()
    assert "Très bien, merci beaucoup" in shown and "satisfaction-good" in shown
    # The database holds only the token's hash.
    token = path.split("/")[2]
    assert SatisfactionRequest.objects.get().token_hash == token_hash(token)
    assert not SatisfactionRequest.objects.filter(token_hash=token).exists()


def test_a_member_cannot_rate_for_the_requester(setup, alice, bob_client):
    links = _links(setup, alice)
    assert bob_client.get(links["bad"]).status_code == 403
    assert bob_client.post(links["bad"].split("?")[0], {"rating": "bad"}).status_code == 403
    assert not SatisfactionRating.objects.exists()
    assert Client().get(links["good"]).status_code == 200  # the requester still can


def test_a_forged_or_tampered_token_rates_nothing(setup, alice):
    links = _links(setup, alice)
    path = links["good"].split("?")[0]
    token = path.split("/")[2]
    client = Client()
    for bad in (
        "x",
        token[:-2] + ("aa" if not token.endswith("aa") else "bb"),  # signature broken
        signing.dumps({"c": 1, "n": "guess"}, salt="other.purpose"),  # another purpose
        signing.dumps({"c": Conversation.objects.get().pk, "n": "guess"}, salt=SALT),  # not issued
    ):
        assert client.get(f"/satisfaction/{bad}/?rating=good").status_code == 404
    assert not SatisfactionRating.objects.exists()


def test_a_token_of_conversation_a_cannot_rate_b(setup, alice):
    settings_for(setup["mailbox"], auto_ack=False)
    arrive(setup, mail(1, subject="A"), mail(2, subject="B", sender="paul@exemple.fr"))
    a, b = Conversation.objects.order_by("pk")
    satisfaction_request_create(conversation=a)
    # A token signed for B whose stored row belongs to A (a row moved, a token edited):
    # the conversation it names and the row it matches must agree.
    token = signing.dumps({"c": b.pk, "n": secrets.token_urlsafe(8)}, salt=SALT)
    SatisfactionRequest.objects.create(
        workspace=a.workspace, conversation=a, token_hash=token_hash(token)
    )
    with pytest.raises(SatisfactionRefused):
        satisfaction_record(token=token, rating="bad")
    assert Client().get(f"/satisfaction/{token}/?rating=bad").status_code == 404
    assert not SatisfactionRating.objects.exists()


def test_the_portal_rates_by_conversation_once_and_counts_survive_deletion(setup, alice):
    settings_for(setup["mailbox"], auto_ack=False)
    arrive(setup, mail(1))
    conversation = Conversation.objects.get()
    satisfaction_record(conversation=conversation, rating="average", comment="Bof")
    with pytest.raises(SatisfactionRefused):
        satisfaction_record(conversation=conversation, rating="good")
    with pytest.raises(SatisfactionRefused):
        satisfaction_record(conversation=conversation, rating="good", user=alice)
    rating = SatisfactionRating.objects.get()
    conversation.delete()  # retention
    rating.refresh_from_db()
    assert rating.conversation_id is None
    counts = satisfaction_counts(
        workspace=rating.workspace,
        since=rating.rated_at.replace(year=2000),
        until=rating.rated_at.replace(year=2100),
    )
    assert counts == {"good": 0, "average": 1, "bad": 0}


def test_the_page_without_a_rating_offers_the_choice(setup, alice):
    links = _links(setup, alice)
    path = links["good"].split("?")[0]
    client = Client()
    page = client.get(path)
    assert page.status_code == 200 and b'name="rating"' in page.content
    assert client.post(path, {"rating": "bad", "comment": ""}).status_code == 200
    assert SatisfactionRating.objects.get().rating == "bad"
    assert client.get(links["good"]).status_code == 410


def test_erasing_the_requester_keeps_the_rating_without_its_comment(setup, workspace):
    from inbox.erasure import person_mail_erase, person_mail_find, person_reference

    settings_for(setup["mailbox"], auto_ack=False)
    arrive(setup, mail(1))
    conversation = Conversation.objects.get()
    satisfaction_record(conversation=conversation, rating="bad", comment="Trop lent")
    person = person_reference(workspace=workspace, address="sophie.martin@exemple.fr")
    person_mail_erase(
        workspace=workspace, found=person_mail_find(workspace=workspace, person=person)
    )
    assert not Conversation.objects.exists()
    rating = SatisfactionRating.objects.get()
    assert rating.rating == "bad" and rating.comment_sealed is None
