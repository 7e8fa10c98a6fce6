"""Every change that takes conversations or tags off the lists moves the inbox's version, so
an open list refreshes (its poll answers 204 only while the version stays put): an erased
person's conversation must not stay on a teammate's screen until something else happens."""

import pytest

from inbox.actions.mailboxes import mailbox_destroy
from inbox.actions.tags import conversation_tag_add, tag_create, tag_delete
from inbox.erasure import conversations_rows_delete
from inbox.inbox_version import workspace_versions
from privacy.gdpr.deletion import person_erase
from tests.mail import one_message_conversation


@pytest.fixture
def conversation(workspace):
    return one_message_conversation(workspace)


def _moves(workspace, change, capture) -> bool:
    before = workspace_versions(workspace.pk)
    with capture(execute=True):
        change()
    after = workspace_versions(workspace.pk)
    return after[0] != before[0] and after[1] != before[1]


def test_erasing_a_person_refreshes_the_lists(
    workspace, conversation, django_capture_on_commit_callbacks
):
    # french_message(1)'s sender, the only person in the conversation.
    erase = lambda: person_erase(workspace=workspace, address="parent1@famille.fr")  # noqa: E731
    assert _moves(workspace, erase, django_capture_on_commit_callbacks)


def test_deleting_a_tag_refreshes_the_lists(
    workspace, alice, conversation, django_capture_on_commit_callbacks
):
    tag = tag_create(workspace=workspace, name="Urgent")
    conversation_tag_add(conversation=conversation, tag=tag, actor=alice)
    assert _moves(workspace, lambda: tag_delete(tag=tag), django_capture_on_commit_callbacks)


def test_retention_and_a_mailbox_deleted_refresh_the_lists(
    workspace, conversation, django_capture_on_commit_callbacks
):
    delete = lambda: conversations_rows_delete(  # noqa: E731
        workspace=workspace, conversation_ids=[conversation.pk]
    )
    assert _moves(workspace, delete, django_capture_on_commit_callbacks)
    destroy = lambda: mailbox_destroy(mailbox=conversation.mailbox)  # noqa: E731
    assert _moves(workspace, destroy, django_capture_on_commit_callbacks)
