"""Members, tags and mailboxes kept per process (accounts.workspace_lists): pages
read them once, and every change shows on the very next page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Workspace
from accounts.services import member_remove
from inbox.actions.tags import conversation_tag_add, tag_create, tag_delete, tag_update
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation
from tests.test_inbox_views import _ingest


@pytest.fixture
def mailbox(workspace):
    return mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")


def _version(workspace) -> int:
    return Workspace.objects.values_list("directory_version", flat=True).get(pk=workspace.pk)


# Session, user, the user's memberships with their workspaces, the page of conversations
# (read state included), their tags.
LIST_QUERIES = 5
# Session, user, memberships, the conversation (stamp, follow and read mark included), its
# notifications marked read, messages, attachments, tags, notes, activity, the requester's
# rating; and the trusted senders when a message has remote images. Opened the first time (or
# with something new) one more: the read mark's upsert.
CONVERSATION_QUERIES = 11


def test_a_list_page_costs_five_queries_whatever_its_rows(
    alice_client, bob, mailbox, workspace, django_assert_num_queries
):
    _ingest(mailbox, 3)
    tag = tag_create(workspace=workspace, name="Urgent")
    for conversation in Conversation.objects.all():
        conversation_tag_add(conversation=conversation, tag=tag, actor=None)
    alice_client.get(reverse("inbox"))  # this process reads the directory once
    with django_assert_num_queries(LIST_QUERIES):
        alice_client.get(reverse("inbox"))
    _ingest(mailbox, 40, start=3)
    with django_assert_num_queries(LIST_QUERIES):
        page = alice_client.get(reverse("inbox") + f"?tag={tag.pk}&mailbox={mailbox.pk}")
    assert len(page.context["rows"]) == 3


def test_a_conversation_page_costs_a_fixed_number_of_queries(
    alice_client, bob, mailbox, django_assert_num_queries
):
    _ingest(mailbox, 1)
    conversation = Conversation.objects.get()
    url = reverse("conversation", args=[conversation.pk])
    alice_client.get(url)
    with django_assert_num_queries(CONVERSATION_QUERIES):
        assert alice_client.get(url).status_code == 200


def test_a_list_names_assignees_from_the_members_list_and_those_who_left(
    alice_client, bob, mailbox, workspace, django_assert_num_queries
):
    _ingest(mailbox, 3)
    Conversation.objects.update(assignee=bob)
    alice_client.get(reverse("inbox"))
    with django_assert_num_queries(LIST_QUERIES):
        rows = alice_client.get(reverse("inbox")).context["rows"]
    assert [row.assignee for row in rows] == ["Bob Durand"] * 3
    bob.name = "Robert Durand"
    bob.save(update_fields=["name"])
    rows = alice_client.get(reverse("inbox")).context["rows"]
    assert [row.assignee for row in rows] == ["Robert Durand"] * 3
    # Removed from the team, still the assignee: named with one query more.
    member_remove(membership=Membership.objects.get(user=bob, workspace=workspace))
    alice_client.get(reverse("inbox"))
    with django_assert_num_queries(LIST_QUERIES + 1):
        rows = alice_client.get(reverse("inbox")).context["rows"]
    assert [row.assignee for row in rows] == ["Robert Durand"] * 3


def test_a_renamed_or_deleted_tag_shows_on_the_next_page(alice_client, workspace, mailbox):
    tag = tag_create(workspace=workspace, name="Urgent")
    assert "Urgent" in alice_client.get(reverse("inbox")).content.decode()
    before = _version(workspace)
    tag_update(tag=tag, name="Très urgent", color="red")
    assert _version(workspace) > before
    page = alice_client.get(reverse("inbox")).content.decode()
    assert "Très urgent" in page and "tag-red" in page
    tag_delete(tag=tag)
    assert "Très urgent" not in alice_client.get(reverse("inbox")).content.decode()
    assert alice_client.get(reverse("inbox") + f"?tag={tag.pk}").status_code == 404


def test_a_new_mailbox_and_a_renamed_member_show_on_the_next_page(
    alice_client, bob, workspace, mailbox
):
    _ingest(mailbox, 1)
    conversation = Conversation.objects.get()
    url = reverse("conversation", args=[conversation.pk])
    assert "Bob Durand" in alice_client.get(url).content.decode()
    bob.name = "Robert Durand"
    bob.save(update_fields=["name"])
    membership = Membership.objects.get(user=bob, workspace=workspace)
    membership.is_away = True
    membership.save(update_fields=["is_away"])
    page = alice_client.get(url).content.decode()
    assert "Robert Durand" in page and "Bob Durand" not in page
    assert "Robert Durand (absent)" in page or "Robert Durand (away)" in page
    second = mailbox_create(workspace=workspace, address="direction@lycee-verne.fr")
    page = alice_client.get(reverse("inbox")).content.decode()
    assert "direction@lycee-verne.fr" in page
    assert alice_client.get(reverse("inbox") + f"?mailbox={second.pk}").status_code == 200


def test_a_login_does_not_throw_the_lists_away(alice, workspace):
    before = _version(workspace)
    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])
    assert _version(workspace) == before


def test_saving_a_workspace_loaded_earlier_keeps_the_newer_version(workspace):
    stale = Workspace.objects.get(pk=workspace.pk)
    tag_create(workspace=workspace, name="Urgent")
    newer = _version(workspace)
    assert newer > stale.directory_version
    stale.name = "Lycée Jules-Verne"
    stale.save()
    assert _version(workspace) == newer
    assert Workspace.objects.get(pk=workspace.pk).name == "Lycée Jules-Verne"


def test_another_workspaces_tag_or_mailbox_is_a_404(alice_client, charlie, mailbox):
    theirs = Workspace.objects.get(memberships__user=charlie)
    their_tag = tag_create(workspace=theirs, name="Leur tag")
    their_mailbox = mailbox_create(workspace=theirs, address="contact@agence-ouest.fr")
    assert alice_client.get(reverse("inbox") + f"?tag={their_tag.pk}").status_code == 404
    assert alice_client.get(reverse("inbox") + f"?mailbox={their_mailbox.pk}").status_code == 404
    assert alice_client.get(reverse("inbox") + "?mailbox=x").status_code == 404


# Real commits: the kept lists are forgotten when the change commits, before the answer.
@pytest.mark.django_db(transaction=True)
def test_a_tag_created_by_an_action_shows_in_that_actions_answer(alice_client, mailbox):
    _ingest(mailbox, 1)
    conversation = Conversation.objects.get()
    url = reverse("conversation", args=[conversation.pk])
    alice_client.get(url)  # the tags are kept, without the new one
    answer = alice_client.post(
        reverse("conversation_triage", args=[conversation.pk]),
        {"action": "tag", "tag_name": "Rentrée 2026"},
        headers={"HX-Request": "true", "HX-Target": "conv-live"},
    )
    assert answer.status_code == 200
    assert '<span class="tag tag-grey">Rentrée 2026</span>' in answer.content.decode()


def test_the_sidebar_counts_of_a_tag_or_mailbox(alice_client, workspace, mailbox):
    _ingest(mailbox, 2)
    tag = tag_create(workspace=workspace, name="Urgent")
    conversation_tag_add(conversation=Conversation.objects.first(), tag=tag, actor=None)
    counts = alice_client.get(reverse("inbox_counts") + f"?view=open&tag={tag.pk}")
    assert counts.status_code == 200
    assert counts.context["counts"]["open"] == 1
    counts = alice_client.get(reverse("inbox_counts") + f"?view=open&mailbox={mailbox.pk}")
    assert counts.context["counts"]["open"] == 2


def test_a_rolled_back_change_leaves_no_list_behind(alice_client, workspace, mailbox):
    from django.db import transaction

    from inbox.selectors.tags import tags_listed

    assert [t.name for t in tags_listed(workspace)] == []
    with pytest.raises(RuntimeError), transaction.atomic():
        tag_create(workspace=workspace, name="Brouillon")
        tags_listed(workspace)  # a page of the request that made it, at its first version
        raise RuntimeError("rolled back")
    assert [t.name for t in tags_listed(workspace)] == []
    assert [t.name for t in tags_listed(Workspace.objects.get(pk=workspace.pk))] == []
