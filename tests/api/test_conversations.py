"""Conversations through the API, against the real app: lists, search, pages, one
conversation decrypted, triage through the page's actions, contacts."""

import pytest
from django.utils import timezone

from contacts.models import Contact
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.models import Activity, ActivityKind, Conversation, Note, Notification
from tests.api.conftest import Api, make_token
from tests.mail import french_message, received_message

pytestmark = pytest.mark.django_db


def _many(mailbox, count: int, start: int = 100) -> None:
    folder = mailbox.folders.get(role="inbox")
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[
            RawMail(
                provider_key=f"{folder.pk}:1:{n}",
                raw=french_message(n, message_id=f"<many-{n}@famille.fr>"),
                received_at=timezone.now(),
            )
            for n in range(start, start + count)
        ],
    )
    Conversation.objects.filter(mailbox=mailbox).update(status="open")


def test_list_shows_the_conversation_decrypted(alice_api, conversation):
    response = alice_api.get("/conversations")
    assert response.status_code == 200
    [row] = response.json()["conversations"]
    assert row["id"] == conversation.pk
    assert row["subject"] == "Absence n°1 — élève de 2nde"
    assert row["contact"] == {"name": "Sophie Martin", "address": "sophie@famille.fr"}
    assert row["status"] == "open" and row["assignee"] is None and row["unread"] is True
    assert response.json()["next_cursor"] is None


def test_lists_and_filters_are_the_inboxs(alice_api, alice, conversation, mailbox):
    assert alice_api.get("/conversations", {"view": "mine"}).json()["conversations"] == []
    alice_api.post(f"/conversations/{conversation.pk}/assign", {"assignee": "me"})
    [mine] = alice_api.get("/conversations", {"view": "mine"}).json()["conversations"]
    assert mine["assignee"]["email"] == alice.email
    assert alice_api.get("/conversations", {"view": "unassigned"}).json()["conversations"] == []
    other = alice_api.get("/conversations", {"mailbox": mailbox.pk}).json()
    assert len(other["conversations"]) == 1
    assert alice_api.get("/conversations", {"view": "nope"}).status_code == 422
    assert alice_api.get("/conversations", {"mailbox": 999999}).status_code == 404
    assert alice_api.get("/conversations", {"tag": 999999}).status_code == 404
    assert alice_api.get("/conversations", {"mailbox": "x"}).status_code == 422


def test_search_uses_the_inboxs_operators(alice_api, conversation, mailbox):
    _many(mailbox, 3)
    found = alice_api.get("/conversations", {"q": "from:sophie@famille.fr"}).json()
    assert [c["id"] for c in found["conversations"]] == [conversation.pk]
    assert alice_api.get("/conversations", {"q": "tag:nothing"}).json()["conversations"] == []
    alice_api.post(f"/conversations/{conversation.pk}/tags", {"add": ["Urgent"]})
    found = alice_api.get("/conversations", {"q": "tag:urgent is:open"}).json()
    assert [c["id"] for c in found["conversations"]] == [conversation.pk]
    words = alice_api.get("/conversations", {"q": "absent"}).json()["conversations"]
    assert len(words) == 4


def test_pages_are_stable_while_mail_arrives(alice_api, mailbox):
    _many(mailbox, 120)
    seen: list[int] = []
    response = alice_api.get("/conversations").json()
    seen += [c["id"] for c in response["conversations"]]
    assert len(seen) == 50 and response["next_cursor"]
    # New mail arrives between two pages: it goes on top, the next page does not shift.
    _many(mailbox, 5, start=900)
    cursor = response["next_cursor"]
    while cursor:
        response = alice_api.get("/conversations", {"cursor": cursor}).json()
        seen += [c["id"] for c in response["conversations"]]
        cursor = response["next_cursor"]
    assert len(seen) == len(set(seen)) == 120


def test_a_cursor_we_did_not_give_is_a_400(alice_api, conversation):
    for cursor in ("nope", "!!!", "x" * 65, "MTIz", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5XzE", "é"):
        response = alice_api.get("/conversations", {"cursor": cursor})
        assert response.status_code in (400, 422), cursor
        assert response.json()["error"]["message"]


def test_one_conversation_with_messages_and_notes_decrypted(alice_api, alice, conversation):
    alice_api.post(f"/conversations/{conversation.pk}/notes", {"body": "Appeler la famille"})
    response = alice_api.get(f"/conversations/{conversation.pk}")
    assert response.status_code == 200
    body = response.json()
    [message] = body["messages"]
    assert message["direction"] == "in"
    assert message["sender"]["address"] == "sophie@famille.fr"
    assert "Mon enfant sera absent(e) demain." in message["text"]
    assert body["notes"] == [
        {
            "author": alice.display_name,
            "created_at": body["notes"][0]["created_at"],
            "body": "Appeler la famille",
        }
    ]
    assert body["seen"].startswith("m")


def test_assign_status_tags_notes_go_through_the_actions(alice_api, alice, bob, conversation):
    url = f"/conversations/{conversation.pk}"
    response = alice_api.post(url + "/assign", {"assignee": bob.pk})
    assert response.status_code == 200 and response.json()["assignee"]["id"] == bob.pk
    # The page's action ran: the trail, and bob's notification.
    assert Activity.objects.filter(conversation=conversation, kind=ActivityKind.ASSIGNED).exists()
    assert Notification.objects.filter(recipient=bob, conversation=conversation).exists()
    assert alice_api.post(url + "/assign", {"assignee": None}).json()["assignee"] is None

    assert alice_api.post(url + "/status", {"status": "pending"}).json()["status"] == "pending"
    assert alice_api.post(url + "/status", {"status": "deleted"}).status_code == 422

    tags = alice_api.post(url + "/tags", {"add": ["Urgent", "Famille"]}).json()
    assert sorted(t["name"] for t in tags) == ["Famille", "Urgent"]
    tags = alice_api.post(url + "/tags", {"remove": ["urgent", "inconnu"]}).json()
    assert [t["name"] for t in tags] == ["Famille"]
    assert [t["name"] for t in alice_api.get(url).json()["tags"]] == ["Famille"]
    assert alice_api.post(url + "/tags", {"add": ["x" * 41]}).status_code == 422

    response = alice_api.post(url + "/notes", {"body": "@bob peux-tu rappeler ?"})
    assert response.status_code == 201
    assert Note.objects.get(pk=response.json()["id"]).author == alice
    assert alice_api.post(url + "/notes", {"body": "   "}).status_code == 422
    kinds = set(Activity.objects.filter(conversation=conversation).values_list("kind", flat=True))
    assert {"assigned", "status", "tagged", "untagged", "note"} <= kinds


def test_assigning_someone_of_another_workspace_is_a_404(alice_api, charlie, conversation):
    response = alice_api.post(f"/conversations/{conversation.pk}/assign", {"assignee": charlie.pk})
    assert response.status_code == 404
    for value in (2**70, -1, 0, "moi", [1], 1.5):
        response = alice_api.post(f"/conversations/{conversation.pk}/assign", {"assignee": value})
        assert response.status_code in (404, 422), value
    conversation.refresh_from_db()
    assert conversation.assignee_id is None


def test_contacts_are_the_people_of_the_conversation(alice_api, conversation, mailbox):
    raw = (
        "From: Paul Martin <paul@famille.fr>\r\nTo: scolarite@lycee-verne.fr\r\n"
        "Cc: Sophie Martin <sophie@famille.fr>\r\nSubject: Re: Absence n°1 — élève de 2nde\r\n"
        f"Message-ID: <re-1@famille.fr>\r\nIn-Reply-To: {conversation.messages.get().pk}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nJe confirme.\r\n"
    ).encode()
    received_message(mailbox, raw, 2)
    conversation_ids = set(Conversation.objects.values_list("pk", flat=True))
    contacts = alice_api.get(f"/conversations/{conversation.pk}/contacts").json()
    by_address = {c["address"]: c for c in contacts}
    assert "scolarite@lycee-verne.fr" not in by_address
    assert by_address["sophie@famille.fr"]["name"] == "Sophie Martin"
    assert by_address["sophie@famille.fr"]["addresses"] == ["sophie@famille.fr"]
    # They are the contacts app's contacts (ids of the contacts page), not re-read envelopes.
    sophie = by_address["sophie@famille.fr"]
    assert sophie["organisation"]["domain"] == "famille.fr"
    assert Contact.objects.filter(pk=sophie["id"], workspace=conversation.workspace).exists()
    assert conversation_ids


def test_contacts_search_and_pages(alice_api, charlie_api, conversation, mailbox):
    raw = (
        b"From: Paul Martin <paul@famille.fr>\r\nTo: scolarite@lycee-verne.fr\r\n"
        b"Cc: Sophie Martin <sophie@famille.fr>\r\nSubject: Sortie\r\n"
        b"Message-ID: <sortie-1@famille.fr>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
    )
    received_message(mailbox, raw, 2)
    found = alice_api.get("/contacts?q=sophie").json()
    assert [c["address"] for c in found["contacts"]] == ["sophie@famille.fr"]
    assert found["next_cursor"] is None
    everyone = alice_api.get("/contacts").json()["contacts"]
    assert {"paul@famille.fr", "sophie@famille.fr"} <= {c["address"] for c in everyone}
    # Another workspace's token finds nobody of this one.
    assert charlie_api.get("/contacts?q=sophie").json()["contacts"] == []
    for cursor in ("bm9wZQ", "Y18xMjM0NTY3ODkwMTIzNDU2Nzg5MA", "x" * 65, "é"):
        assert alice_api.get(f"/contacts?cursor={cursor}").status_code in (400, 422), cursor


def test_members_tags_and_me(alice_api, alice, bob, workspace):
    members = alice_api.get("/members").json()
    assert {m["email"] for m in members} == {alice.email, bob.email}
    me = alice_api.get("/me").json()
    assert (me["workspace"], me["role"], me["scope"]) == (workspace.name, "admin", "write")
    assert alice_api.get("/tags").json() == []


def test_query_count_is_constant_per_page(
    alice_api, workspace, alice, mailbox, django_assert_max_num_queries
):
    _many(mailbox, 10)
    alice_api.get("/conversations")  # warms the per-process lists (tags, mailboxes)
    with django_assert_max_num_queries(12) as small:
        alice_api.get("/conversations")
    _many(mailbox, 60, start=500)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = alice_api.get("/conversations").json()
    assert len(page["conversations"]) == 50


def test_agents_tokens_act_as_agents(workspace, alice, conversation):
    api = Api(make_token(workspace, alice, role="agent").secret)
    assert api.get("/me").json()["role"] == "agent"
    assert (
        api.post(f"/conversations/{conversation.pk}/status", {"status": "closed"}).status_code
        == 200
    )
