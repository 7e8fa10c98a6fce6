"""Tags, snooze, follow, spam, bulk, notifications, rules, merge and split, live updates."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from inbox.actions.rules import rule_create
from inbox.actions.snooze import snoozed_wake_due
from inbox.actions.tags import tag_create, tag_get_or_create
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import (
    Activity,
    Conversation,
    ConversationTag,
    Follow,
    Message,
    Notification,
    NotificationPreference,
    Rule,
    Tag,
)
from tests.mail import french_message


@pytest.fixture
def mailbox(workspace):
    return mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")


def _ingest(mailbox, *raws, start=1):
    folder = mailbox.folders.get(role="inbox")
    return ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[
            RawMail(provider_key=f"x:1:{start + i}", raw=raw, received_at=timezone.now())
            for i, raw in enumerate(raws)
        ],
    )


@pytest.fixture
def conversation(mailbox):
    _ingest(mailbox, french_message(1, message_id="<first@famille.fr>"))
    return Conversation.objects.get()


def _triage(client, conversation, **data):
    return client.post(reverse("conversation_triage", args=[conversation.pk]), data)


def _list(client, **params):
    return client.get(reverse("inbox"), params).content.decode()


# Tags


def test_tags_are_sealed_unique_and_searchable(alice_client, workspace, conversation):
    _triage(alice_client, conversation, action="tag", tag_name="Absences")
    _triage(alice_client, conversation, action="tag", tag_name="absences ")  # same tag
    tag = Tag.objects.get()
    assert b"Absences" not in bytes(tag.name_sealed)
    assert ConversationTag.objects.filter(conversation=conversation).count() == 1
    assert "Absences" in _list(alice_client)
    assert "Absence n°1" in _list(alice_client, q="tag:absences")
    assert "Absence n°1" in _list(alice_client, tag=tag.pk)
    assert "Absence n°1" not in _list(alice_client, q="tag:inconnu")
    _triage(alice_client, conversation, action="untag", tag=tag.pk)
    assert "Absence n°1" not in _list(alice_client, q="tag:absences")
    kinds = list(Activity.objects.values_list("kind", flat=True).order_by("id"))
    assert kinds == ["tagged", "untagged"]
    page = alice_client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    assert "Alice Martin added the tag Absences" in page or "a ajouté l’étiquette" in page


def test_tag_names_are_checked(workspace):
    tag_create(workspace=workspace, name="Urgent")
    with pytest.raises(ValidationError, match="porte déjà ce nom"):
        tag_create(workspace=workspace, name="urgent")
    with pytest.raises(ValidationError, match="besoin d’un nom"):
        tag_create(workspace=workspace, name="   ")


def test_only_admins_rename_or_delete_tags(alice_client, bob_client, workspace):
    tag = tag_create(workspace=workspace, name="Urgent")
    bob_client.post(reverse("tag_edit", args=[tag.pk]), {"action": "delete"})
    assert Tag.objects.filter(pk=tag.pk).exists()
    alice_client.post(reverse("tag_edit", args=[tag.pk]), {"name": "Très urgent", "color": "red"})
    page = alice_client.get(reverse("tags_manage")).content.decode()
    assert "Très urgent" in page


# Snooze


def test_snooze_hides_until_the_time_then_wakes_and_notifies(
    alice_client, alice, workspace, conversation
):
    _triage(alice_client, conversation, action="snooze", preset="tomorrow")
    conversation.refresh_from_db()
    assert conversation.snoozed_until > timezone.now()
    assert "Absence n°1" not in _list(alice_client, view="open")
    assert "Absence n°1" in _list(alice_client, view="snoozed")
    assert "Absence n°1" in _list(alice_client, q="is:snoozed")
    # Nothing wakes before its time.
    assert snoozed_wake_due() == 0
    assert snoozed_wake_due(now=conversation.snoozed_until + timedelta(seconds=1)) == 1
    conversation.refresh_from_db()
    assert conversation.snoozed_until is None
    assert "Absence n°1" in _list(alice_client, view="open")
    # Whoever snoozed it hears it is back (not assigned to anyone).
    assert Notification.objects.get(recipient=alice).kind == "woke"


def test_a_reply_wakes_a_snoozed_conversation(alice_client, mailbox, conversation):
    _triage(alice_client, conversation, action="snooze", preset="week")
    _ingest(mailbox, french_message(2, in_reply_to="<first@famille.fr>"), start=2)
    conversation.refresh_from_db()
    assert conversation.snoozed_until is None and conversation.message_count == 2
    assert Activity.objects.filter(conversation=conversation, kind="woke").exists()


def test_snooze_in_the_past_is_refused(alice_client, conversation):
    response = _triage(alice_client, conversation, action="snooze", until="2020-01-01T09:00")
    conversation.refresh_from_db()
    assert conversation.snoozed_until is None
    page = alice_client.get(response.url).content.decode()
    assert "future" in page or "futur" in page


# Follow and notifications


def test_assignment_notifies_and_mails_without_content(
    alice_client, bob, conversation, eager, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _triage(alice_client, conversation, action="assign", assignee=str(bob.pk))
    notification = Notification.objects.get(recipient=bob)
    assert notification.kind == "assigned" and notification.emailed_at is not None
    assert Follow.objects.filter(user=bob, conversation=conversation).exists()
    (sent,) = mail.outbox
    assert sent.to == ["bob@lycee-verne.fr"]
    assert "Absence" not in sent.subject + sent.body  # no content leaves by email
    assert f"/inbox/c/{conversation.pk}/" in sent.body


def test_email_preferences_are_respected(
    bob_client, alice_client, bob, conversation, eager, django_capture_on_commit_callbacks
):
    bob_client.post(
        reverse("notification_settings"),
        {"email_mentioned": "on", "email_reply": "on", "email_woke": "on"},
    )
    assert not NotificationPreference.objects.get(user=bob).email_assigned
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _triage(alice_client, conversation, action="assign", assignee=str(bob.pk))
    assert Notification.objects.filter(recipient=bob).count() == 1  # in the app all the same
    assert mail.outbox == []


def test_mentions_in_notes_notify_the_teammate(alice_client, bob, conversation):
    _triage(alice_client, conversation, action="note", body="@bob peux-tu rappeler ?")
    assert Notification.objects.get(recipient=bob).kind == "mentioned"
    _triage(alice_client, conversation, action="note", body="Voir avec @Bob.Durand demain")
    assert Notification.objects.filter(recipient=bob).count() == 2
    _triage(alice_client, conversation, action="note", body="écrire à bob@example.fr")
    assert Notification.objects.filter(recipient=bob).count() == 2  # an address is no mention


def test_followers_hear_of_replies_and_opening_reads(bob_client, bob, mailbox, conversation):
    _triage(bob_client, conversation, action="follow")
    _ingest(mailbox, french_message(2, in_reply_to="<first@famille.fr>"), start=2)
    notification = Notification.objects.get(recipient=bob)
    assert notification.kind == "reply" and notification.read_at is None
    page = bob_client.get(reverse("notifications")).content.decode()
    assert "Absence n°1" in page
    bob_client.get(reverse("conversation", args=[conversation.pk]))
    notification.refresh_from_db()
    assert notification.read_at is not None
    _triage(bob_client, conversation, action="unfollow")
    assert not Follow.objects.filter(user=bob).exists()


def test_unread_for_me(alice_client, bob_client, mailbox, conversation):
    assert "conv-unread" in _list(alice_client)
    alice_client.get(reverse("conversation", args=[conversation.pk]))
    assert "conv-unread" not in _list(alice_client)
    assert "conv-unread" in _list(bob_client)  # bob has not read it
    _ingest(mailbox, french_message(2, in_reply_to="<first@famille.fr>"), start=2)
    assert "conv-unread" in _list(alice_client)  # new mail: unread again
    alice_client.get(reverse("conversation", args=[conversation.pk]))
    assert "conv-unread" not in _list(alice_client)  # read again


def test_opening_a_conversation_again_with_nothing_new_writes_nothing(
    alice_client, alice, mailbox, conversation
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inbox.models import ConversationRead

    url = reverse("conversation", args=[conversation.pk])
    alice_client.get(url)
    first = ConversationRead.objects.get(user=alice, conversation=conversation).read_at
    with CaptureQueriesContext(connection) as queries:
        alice_client.get(url)
    assert not [q for q in queries if q["sql"].startswith('INSERT INTO "inbox_conversationread"')]
    assert ConversationRead.objects.get(user=alice, conversation=conversation).read_at == first
    _ingest(mailbox, french_message(2, in_reply_to="<first@famille.fr>"), start=2)
    alice_client.get(url)  # something new: read now
    assert ConversationRead.objects.get(user=alice, conversation=conversation).read_at > first


# Spam, views and counts


def test_spam_leaves_the_open_views(alice_client, conversation):
    _triage(alice_client, conversation, action="status", status="spam")
    assert "Absence n°1" not in _list(alice_client, view="open")
    assert "Absence n°1" in _list(alice_client, view="spam")


def test_counts_per_view(alice_client, alice, mailbox):
    _ingest(mailbox, french_message(1), french_message(2), french_message(3))
    first, second, _third = Conversation.objects.order_by("id")
    _triage(alice_client, first, action="assign", assignee="me")
    _triage(alice_client, second, action="status", status="pending")
    html = alice_client.get(reverse("inbox_counts"), {"view": "open"}).content.decode()
    assert 'aria-label="2 conversations">2<' in html  # all open
    assert 'aria-label="1 conversation">1<' in html  # mine, unassigned, pending


def test_list_narrowed_to_a_mailbox(alice_client, workspace, mailbox):
    other = mailbox_create(workspace=workspace, address="compta@lycee-verne.fr")
    _ingest(mailbox, french_message(1, subject="Pour la scolarité"))
    _ingest(other, french_message(2, subject="Pour la compta"), start=10)
    page = _list(alice_client, mailbox=other.pk)
    assert "Pour la compta" in page and "Pour la scolarité" not in page


# Bulk


def test_bulk_actions_apply_to_every_ticked_conversation(alice_client, bob, mailbox):
    _ingest(mailbox, *(french_message(n) for n in range(1, 4)))
    ids = list(Conversation.objects.values_list("pk", flat=True))
    alice_client.post(
        reverse("conversations_bulk"),
        {"ids": ids[:2], "action": "assign", "assignee": str(bob.pk)},
    )
    assert Conversation.objects.filter(assignee=bob).count() == 2
    alice_client.post(
        reverse("conversations_bulk"), {"ids": ids, "action": "tag", "tag_name": "Rentrée"}
    )
    assert ConversationTag.objects.count() == 3
    alice_client.post(
        reverse("conversations_bulk"), {"ids": ids, "action": "status", "status": "closed"}
    )
    assert set(Conversation.objects.values_list("status", flat=True)) == {"closed"}


def test_bulk_is_all_or_nothing(alice_client, mailbox):
    _ingest(mailbox, french_message(1), french_message(2))
    first, second = Conversation.objects.order_by("id")
    _triage(alice_client, second, action="status", status="closed")
    # Snoozing a closed conversation is refused: the open one is not snoozed either.
    alice_client.post(
        reverse("conversations_bulk"),
        {"ids": [first.pk, second.pk], "action": "snooze", "preset": "week"},
    )
    assert not Conversation.objects.filter(snoozed_until__isnull=False).exists()


def test_charlie_cannot_reach_alice_through_bulk_or_filters(
    charlie_client, alice_client, workspace, conversation
):
    tag = tag_get_or_create(workspace=workspace, name="Absences")
    charlie_client.post(
        reverse("conversations_bulk"),
        {"ids": [conversation.pk], "action": "status", "status": "spam"},
    )
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert charlie_client.get(reverse("inbox"), {"tag": tag.pk}).status_code == 404
    assert (
        charlie_client.get(reverse("inbox"), {"mailbox": conversation.mailbox_id}).status_code
        == 404
    )
    assert charlie_client.get(reverse("inbox_counts"), {"tag": tag.pk}).status_code == 404


# Rules


def test_match_rules_tag_and_assign_new_conversations(workspace, bob, mailbox):
    urgent = tag_create(workspace=workspace, name="Urgent")
    rule_create(mailbox=mailbox, kind="match", field="subject", pattern="ABSENCE", tag=urgent)
    rule_create(mailbox=mailbox, kind="match", field="from", pattern="famille.fr", assignee=bob)
    _ingest(mailbox, french_message(1))
    conversation = Conversation.objects.get()
    assert conversation.assignee == bob
    assert ConversationTag.objects.get().tag == urgent
    assert Notification.objects.get(recipient=bob).kind == "assigned"
    assert b"famille" not in bytes(Rule.objects.get(field="from").pattern_sealed)


def test_round_robin_takes_turns_and_skips_away_agents(workspace, alice, bob, mailbox):
    rule_create(mailbox=mailbox, kind="round_robin", agents=[alice, bob])
    _ingest(mailbox, *(french_message(n) for n in range(1, 5)))
    assignees = list(Conversation.objects.order_by("id").values_list("assignee_id", flat=True))
    assert assignees == [alice.pk, bob.pk, alice.pk, bob.pk]
    Membership.objects.filter(user=bob).update(is_away=True)
    _ingest(mailbox, french_message(5), french_message(6), start=20)
    latest = list(Conversation.objects.order_by("-id").values_list("assignee_id", flat=True)[:2])
    assert latest == [alice.pk, alice.pk]


def test_rules_do_not_touch_replies_or_history(workspace, bob, mailbox, conversation):
    rule_create(mailbox=mailbox, kind="round_robin", agents=[bob])
    _ingest(mailbox, french_message(2, in_reply_to="<first@famille.fr>"), start=2)
    conversation.refresh_from_db()
    assert conversation.assignee is None  # the rule is for new conversations


def test_rules_page_for_admins_only(alice_client, bob_client, bob, mailbox):
    url = reverse("mailbox_rules", args=[mailbox.pk])
    assert bob_client.get(url).status_code in (403, 404)
    alice_client.post(
        url, {"kind": "match", "field": "to", "pattern": "scolarite", "tag_name": "Scolarité"}
    )
    alice_client.post(url, {"kind": "round_robin", "agents": [str(bob.pk)]})
    alice_client.post(url, {"kind": "match", "field": "to", "pattern": ""})  # refused
    assert Rule.objects.count() == 2
    page = alice_client.get(url).content.decode()
    assert "scolarite" in page and "Bob Durand" in page


# Merge and split


def test_merge_moves_everything_and_split_undoes_it(alice_client, mailbox):
    _ingest(mailbox, french_message(1, subject="Première"), french_message(2, subject="Seconde"))
    first, second = Conversation.objects.order_by("id")
    _triage(alice_client, second, action="note", body="Note sur la seconde")
    _triage(alice_client, second, action="merge", into=f"#{first.pk}")
    assert not Conversation.objects.filter(pk=second.pk).exists()
    first.refresh_from_db()
    assert first.message_count == 2 and first.notes.count() == 1
    assert Activity.objects.filter(conversation=first, kind="merged").exists()
    dates = list(Message.objects.filter(conversation=first).values_list("received_at", flat=True))
    assert (first.first_message_at, first.last_message_at) == (min(dates), max(dates))
    later = Message.objects.filter(conversation=first).order_by("received_at", "id").last()
    response = _triage(alice_client, first, action="split", message=later.pk)
    new = Conversation.objects.exclude(pk=first.pk).get()
    assert response.url == reverse("conversation", args=[new.pk])
    first.refresh_from_db()
    assert (first.message_count, new.message_count) == (1, 1)
    assert first.first_message_at == first.last_message_at == min(dates)
    assert new.first_message_at == new.last_message_at == later.received_at
    assert "Seconde" in alice_client.get(reverse("conversation", args=[new.pk])).content.decode()


def test_merge_across_workspaces_is_a_404(alice_client, charlie_client, conversation):
    other_ws = Membership.objects.get(user__email="charlie@agence-ouest.fr").workspace
    other_mailbox = mailbox_create(workspace=other_ws, address="contact@agence-ouest.fr")
    _ingest(other_mailbox, french_message(9), start=50)
    theirs = Conversation.objects.get(mailbox=other_mailbox)
    response = _triage(charlie_client, theirs, action="merge", into=str(conversation.pk))
    assert response.status_code == 404
    assert Conversation.objects.filter(pk=theirs.pk).exists()


# Live updates and images


def test_live_endpoint_answers_204_until_something_changes(alice_client, bob_client, conversation):
    url = reverse("conversation_live", args=[conversation.pk])
    page = alice_client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    stamp = page.split("?stamp=", 1)[1].split('"', 1)[0]
    assert alice_client.get(url, {"stamp": stamp}).status_code == 204
    _triage(bob_client, conversation, action="note", body="Je m’en occupe")
    fresh = alice_client.get(url, {"stamp": stamp})
    assert fresh.status_code == 200 and "Je m’en occupe" in fresh.content.decode()


def test_remote_images_blocked_until_asked(alice_client, mailbox):
    raw = (
        b"From: Lettre <news@exemple.fr>\r\nTo: scolarite@lycee-verne.fr\r\n"
        b"Subject: Lettre\r\nMessage-ID: <n1@exemple.fr>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p>Bonjour</p><img src="https://tracker.exemple.fr/p.gif">\r\n'
    )
    _ingest(mailbox, raw)
    conversation = Conversation.objects.get()
    message = conversation.messages.get()
    page = alice_client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    assert "?images=1" in page
    url = reverse("message_html", args=[message.pk])
    assert "https:" not in alice_client.get(url)["Content-Security-Policy"]
    assert "https:" in alice_client.get(url, {"images": "1"})["Content-Security-Policy"]
    _triage(alice_client, conversation, action="trust_sender", message=message.pk)
    assert "https:" in alice_client.get(url)["Content-Security-Policy"]
    _triage(alice_client, conversation, action="distrust_sender", message=message.pk)
    assert "https:" not in alice_client.get(url)["Content-Security-Policy"]


def test_the_page_says_a_trusted_senders_images_are_shown(alice_client, mailbox):
    # Addresses are stored lower-cased (parsing/addresses.py): a mixed-case From still matches.
    raw = (
        b"From: Lettre <News@Exemple.FR>\r\nTo: scolarite@lycee-verne.fr\r\n"
        b"Subject: Lettre\r\nMessage-ID: <n2@exemple.fr>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p>Bonjour</p><img src="https://tracker.exemple.fr/p.gif">\r\n'
    )
    _ingest(mailbox, raw)
    conversation = Conversation.objects.get()
    message = conversation.messages.get()
    page = reverse("conversation", args=[conversation.pk])
    blocked = alice_client.get(page).content.decode()
    assert 'value="trust_sender"' in blocked and "?images=1" in blocked
    _triage(alice_client, conversation, action="trust_sender", message=message.pk)
    shown = alice_client.get(page).content.decode()
    assert "Les images de cet expéditeur sont toujours affichées." in shown
    assert 'value="distrust_sender"' in shown and "?images=1" not in shown


def test_live_list_polls_cost_nothing_until_the_inbox_changes(
    alice_client, bob_client, conversation, django_capture_on_commit_callbacks
):
    page = alice_client.get(reverse("inbox")).content.decode()
    poll = page.split('id="conv-results" hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "v=" in poll
    assert alice_client.get(poll, headers={"HX-Request": "true"}).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        _triage(bob_client, conversation, action="assign", assignee="me")
    fresh = alice_client.get(poll, headers={"HX-Request": "true"})
    assert fresh.status_code == 200 and "Bob Durand" in fresh.content.decode()


def test_a_note_leaves_the_lists_polls_at_204(
    alice_client, bob_client, conversation, django_capture_on_commit_callbacks
):
    # A note changes nothing a list shows or counts: pollers are not sent the page again
    # (the conversation's own live part shows it, above).
    page = alice_client.get(reverse("inbox")).content.decode()
    poll = page.split('id="conv-results" hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    with django_capture_on_commit_callbacks(execute=True):
        _triage(bob_client, conversation, action="note", body="Je regarde")
    assert alice_client.get(poll, headers={"HX-Request": "true"}).status_code == 204


def test_a_read_only_workspace_can_be_read_but_not_changed(alice_client, workspace, conversation):
    type(workspace).objects.filter(pk=workspace.pk).update(read_only_since=timezone.now())
    response = _triage(alice_client, conversation, action="status", status="closed")
    _triage(alice_client, conversation, action="note", body="Une note")
    alice_client.post(
        reverse("conversations_bulk"),
        {"ids": [conversation.pk], "action": "tag", "tag_name": "Urgent"},
    )
    conversation.refresh_from_db()
    assert conversation.status == "open" and not conversation.notes.exists()
    assert not Tag.objects.exists()
    page = alice_client.get(response.url, follow=True).content.decode()
    assert "read-only" in page or "lecture seule" in page
    assert (
        "Absence n°1"
        in alice_client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    )
