"""Satisfaction on the portal: a closed conversation of a mailbox that asks for satisfaction
can be rated there, once, by the requester (through `satisfaction_record`); not an open one,
not another requester's, not when the mailbox does not ask, not by a read-only delegate, not
by a team member signed in to Trupeo."""

import pytest
from django.test import Client

from accounts.keys import keys_for
from inbox.actions.triage import conversation_set_status
from inbox.models import Mailbox, SatisfactionRating, Status
from inbox.selectors.satisfaction import conversation_rating
from portal.actions import delegation_create
from tests.portal.conftest import PARENT, sign_in

pytestmark = pytest.mark.django_db


def _url(workspace, conversation, what: str = "") -> str:
    return f"/p/{workspace.slug}/c/{conversation.pk}/{what}"


@pytest.fixture
def closed(workspace, school, alice, box):
    Mailbox.objects.filter(pk=box.pk).update(satisfaction=True)
    absence = school["absence"]
    conversation_set_status(conversation=absence, status=Status.CLOSED, actor=alice)
    absence.refresh_from_db()
    return absence


def test_the_requester_rates_a_closed_conversation_once(workspace, closed, parent_client):
    page = parent_client.get(_url(workspace, closed))
    assert page.status_code == 200 and b'id="rating"' in page.content

    response = parent_client.post(
        _url(workspace, closed, "rating/"), {"rating": "good", "comment": "Merci beaucoup"}
    )
    assert response.status_code == 302
    rated = conversation_rating(keys_for(workspace), closed)
    assert rated.rating == "good" and rated.comment == "Merci beaucoup"
    page = parent_client.get(_url(workspace, closed))
    assert b'id="rating"' not in page.content and "Merci beaucoup" in page.content.decode()

    # Once only: a second rating changes nothing.
    again = parent_client.post(_url(workspace, closed, "rating/"), {"rating": "bad"})
    assert again.status_code == 302
    assert SatisfactionRating.objects.get(conversation=closed).rating == "good"


def test_open_unasked_or_foreign_conversations_cannot_be_rated(
    workspace, school, alice, box, parent_client
):
    absence, other = school["absence"], school["other"]
    Mailbox.objects.filter(pk=box.pk).update(satisfaction=True)
    assert b'id="rating"' not in parent_client.get(_url(workspace, absence)).content
    assert (
        parent_client.post(_url(workspace, absence, "rating/"), {"rating": "good"}).status_code
        == 403
    )

    # Another requester's conversation is not there at all.
    conversation_set_status(conversation=other, status=Status.CLOSED, actor=alice)
    assert (
        parent_client.post(_url(workspace, other, "rating/"), {"rating": "good"}).status_code == 404
    )

    # A mailbox that does not ask for satisfaction offers no rating.
    Mailbox.objects.filter(pk=box.pk).update(satisfaction=False)
    conversation_set_status(conversation=absence, status=Status.CLOSED, actor=alice)
    assert b'id="rating"' not in parent_client.get(_url(workspace, absence)).content
    assert (
        parent_client.post(_url(workspace, absence, "rating/"), {"rating": "good"}).status_code
        == 403
    )
    assert not SatisfactionRating.objects.exists()


def test_hostile_ratings_and_other_raters_are_refused(workspace, closed, alice, alice_client):
    parent = sign_in(Client(), workspace, PARENT)
    response = parent.post(_url(workspace, closed, "rating/"), {"rating": "excellent"})
    assert response.status_code == 400

    # A read-only delegate reads the conversation but may not rate it.
    delegation_create(
        workspace=workspace,
        delegate="papa@example.fr",
        target=PARENT,
        can_reply=False,
        created_by=alice,
    )
    papa = sign_in(Client(), workspace, "papa@example.fr")
    assert papa.get(_url(workspace, closed)).status_code == 200
    assert papa.post(_url(workspace, closed, "rating/"), {"rating": "good"}).status_code == 403

    # An agent signed in to Trupeo who also opens the portal cannot rate for the requester.
    agent = sign_in(alice_client, workspace, PARENT)
    assert agent.post(_url(workspace, closed, "rating/"), {"rating": "good"}).status_code == 403
    assert not SatisfactionRating.objects.exists()


def test_someone_who_joined_the_conversation_later_cannot_rate_it(workspace, closed, box):
    """A teacher in To of a later forward sees that message on the portal, but the
    conversation was opened by the parent: only the parent's side rates it."""
    from tests.portal.conftest import TEACHER

    teacher = sign_in(Client(), workspace, TEACHER)
    page = teacher.get(_url(workspace, closed))
    assert page.status_code == 200 and b'id="rating"' not in page.content
    assert teacher.post(_url(workspace, closed, "rating/"), {"rating": "bad"}).status_code == 403
    assert not SatisfactionRating.objects.exists()
