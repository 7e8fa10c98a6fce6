"""Saved replies: admins manage them, everyone inserts them, variables are filled in by a small
explicit substitution (never a template engine), and their text is sealed at rest."""

import pytest
from django.urls import reverse

from accounts.keys import keys_for
from inbox.actions.compose import draft_new, draft_open
from inbox.actions.saved_replies import saved_reply_create
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sending import outgoing_update
from inbox.models import Conversation, FolderRole, SavedReply
from inbox.selectors.saved_replies import (
    render_variables,
    saved_replies_for,
    saved_reply_open,
    unknown_variables,
    variable_values,
)

MAIL = (
    b"From: =?utf-8?q?Sophie_Martin-L=C3=A9vy?= <sophie@exemple.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Subject: Inscription en seconde\r\n"
    b"Message-ID: <inscription-1@exemple.fr>\r\n"
    b"Date: Mon, 02 Mar 2026 09:00:00 +0100\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
)


@pytest.fixture
def mailbox(workspace):
    return mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")


@pytest.fixture
def conversation(mailbox):
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="1:1:1", raw=MAIL)],
    )
    return Conversation.objects.get(mailbox=mailbox)


# --- variables ------------------------------------------------------------------------------------

VALUES = {
    "customer.first_name": "Sophie",
    "customer.name": "Sophie Martin",
    "customer.email": "sophie@exemple.fr",
    "agent.first_name": "Alice",
    "agent.name": "Alice Martin",
    "mailbox.address": "scolarite@lycee-verne.fr",
    "conversation.subject": "Inscription",
}


def test_known_variables_are_replaced_with_or_without_spaces():
    rendered = render_variables(
        "Bonjour {{ customer.first_name }},\n{{agent.name}} ({{  mailbox.address }})", VALUES
    )
    assert rendered.text == "Bonjour Sophie,\nAlice Martin (scolarite@lycee-verne.fr)"
    assert rendered.unknown == [] and rendered.empty == []


def test_unknown_variables_stay_visible_and_are_named():
    rendered = render_variables(
        "{{ customer.age }} {{ user.password }} {{ customer.age }} {{ agent.first_name }}", VALUES
    )
    assert rendered.text == "{{ customer.age }} {{ user.password }} {{ customer.age }} Alice"
    assert rendered.unknown == ["customer.age", "user.password"]


def test_template_syntax_in_a_saved_reply_runs_nothing():
    text = "{% load log %}{% debug %}{{ settings.SECRET_KEY }}{{ customer.name|upper }}"
    rendered = render_variables(text, VALUES)
    assert rendered.text == text
    assert rendered.unknown == ["settings.SECRET_KEY", "customer.name|upper"]


def test_values_are_not_substituted_again():
    # A customer who calls themself "{{ agent.name }}" gets exactly that, not the agent's name.
    rendered = render_variables(
        "Bonjour {{ customer.name }}", {**VALUES, "customer.name": "{{ agent.name }}"}
    )
    assert rendered.text == "Bonjour {{ agent.name }}"


def test_a_variable_without_a_value_is_left_and_flagged():
    rendered = render_variables(
        "Bonjour {{ customer.first_name }},", {**VALUES, "customer.first_name": ""}
    )
    assert rendered.text == "Bonjour {{ customer.first_name }},"
    assert rendered.empty == ["customer.first_name"]


def test_values_come_from_the_customer_agent_and_mailbox(alice, mailbox):
    values = variable_values(
        customer={"name": "  Sophie   Martin-Lévy ", "address": "sophie@exemple.fr"},
        agent=alice,
        mailbox=mailbox,
        subject="Inscription",
    )
    assert values["customer.first_name"] == "Sophie"
    assert values["customer.name"] == "Sophie Martin-Lévy"
    assert values["agent.first_name"] == "Alice"
    assert values["mailbox.address"] == "scolarite@lycee-verne.fr"


def test_unknown_variables_listed_once():
    assert unknown_variables("{{ a }} {{ a }} {{ customer.name }} {{ b.c }}") == ["a", "b.c"]


# --- the saved replies ---------------------------------------------------------------------------


def test_sealed_at_rest(workspace, alice):
    saved = saved_reply_create(
        workspace=workspace,
        mailbox=None,
        title="Certificat de scolarité",
        body="Vous trouverez le certificat ci-joint.",
        created_by=alice,
    )
    row = SavedReply.objects.get(pk=saved.pk)
    assert b"Certificat" not in bytes(row.title_sealed)
    assert b"ci-joint" not in bytes(row.body_sealed)
    opened = saved_reply_open(keys_for(workspace), row)
    assert (opened.title, opened.body) == (
        "Certificat de scolarité",
        "Vous trouverez le certificat ci-joint.",
    )


def test_per_mailbox_saved_replies_are_offered_only_there(workspace, alice, mailbox):
    other = mailbox_create(workspace=workspace, address="compta@lycee-verne.fr")
    for title, box in (("Partout", None), ("Scolarité", mailbox), ("Compta", other)):
        saved_reply_create(
            workspace=workspace, mailbox=box, title=title, body="x", created_by=alice
        )
    titles = [s.title for s in saved_replies_for(workspace=workspace, mailbox=mailbox)]
    assert titles == ["Partout", "Scolarité"]
    assert len(saved_replies_for(workspace=workspace)) == 3


def test_admins_manage_them_agents_only_read(alice_client, bob_client, workspace, mailbox, alice):
    response = alice_client.post(
        reverse("saved_reply_add"),
        {
            "title": "Absence",
            "body": "Bonjour {{ customer.first_name }}, {{ oops }}",
            "mailbox": mailbox.pk,
        },
    )
    assert response.status_code == 302
    saved = SavedReply.objects.get()
    assert saved.mailbox_id == mailbox.pk and saved.created_by_id == alice.pk
    page = alice_client.get(reverse("saved_replies")).content.decode()
    assert "Absence" in page and "{{ oops }}" in page

    assert "Absence" in bob_client.get(reverse("saved_replies")).content.decode()
    assert (
        bob_client.post(reverse("saved_reply_add"), {"title": "x", "body": "y"}).status_code == 403
    )
    edit = reverse("saved_reply_edit", args=[saved.pk])
    assert bob_client.post(edit, {"title": "x", "body": "y"}).status_code == 403
    delete = reverse("saved_reply_delete", args=[saved.pk])
    assert bob_client.post(delete).status_code == 403

    assert "Bonjour {{ customer.first_name }}" in alice_client.get(edit).content.decode()
    response = alice_client.post(edit, {"title": "Absence (2)", "body": "Merci", "mailbox": ""})
    assert response.status_code == 302
    opened = saved_reply_open(keys_for(workspace), SavedReply.objects.get())
    assert (opened.title, opened.body, opened.mailbox_id) == ("Absence (2)", "Merci", None)

    assert alice_client.post(delete).status_code == 302
    assert not SavedReply.objects.exists()


def test_an_empty_saved_reply_is_refused_in_words(alice_client, alice, english_alice):
    response = alice_client.post(reverse("saved_reply_add"), {"title": "  ", "body": " "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not SavedReply.objects.exists()


def test_a_mailbox_of_another_workspace_is_refused(alice_client, charlie):
    other = mailbox_create(
        workspace=charlie.memberships.get().workspace, address="contact@agence-ouest.fr"
    )
    response = alice_client.post(
        reverse("saved_reply_add"), {"title": "x", "body": "y", "mailbox": other.pk}
    )
    assert response.status_code == 200
    assert not SavedReply.objects.exists()


@pytest.fixture
def english_alice(alice):
    alice.language = "en"
    alice.save(update_fields=["language"])


# --- insertion into the composer ----------------------------------------------------------------


def test_insert_fills_in_the_conversation_and_flags_the_rest(
    alice_client, alice, workspace, conversation, english_alice
):
    saved = saved_reply_create(
        workspace=workspace,
        mailbox=None,
        title="Accusé",
        body="Bonjour {{ customer.first_name }},\nÀ propos de « {{ conversation.subject }} »… "
        "{{ customer.age }}\n{{ agent.first_name }}",
        created_by=alice,
    )
    draft = draft_open(
        conversation=conversation, author=alice, kind="reply", message=conversation.messages.get()
    )
    response = alice_client.get(reverse("saved_reply_insert", args=[saved.pk]), {"draft": draft.pk})
    data = response.json()
    assert data["text"] == (
        "Bonjour Sophie,\nÀ propos de « Inscription en seconde »… {{ customer.age }}\nAlice"
    )
    assert data["unknown"] == ["customer.age"]
    assert "Not a variable, left as it is: {{ customer.age }}." in data["warnings"]


def test_insert_in_a_new_message_uses_its_first_recipient(alice_client, alice, workspace, mailbox):
    saved = saved_reply_create(
        workspace=workspace,
        mailbox=None,
        title="t",
        body="Bonjour {{ customer.first_name }}",
        created_by=alice,
    )
    draft = draft_new(mailbox=mailbox, author=alice)
    data = alice_client.get(
        reverse("saved_reply_insert", args=[saved.pk]), {"draft": draft.pk}
    ).json()
    assert data["text"] == "Bonjour {{ customer.first_name }}" and data["empty"] == [
        "customer.first_name"
    ]
    outgoing_update(outgoing=draft, to="Paul Durand <paul@exemple.fr>")
    data = alice_client.get(
        reverse("saved_reply_insert", args=[saved.pk]), {"draft": draft.pk}
    ).json()
    assert data["text"] == "Bonjour Paul"


def test_insert_needs_my_own_draft(alice_client, bob_client, alice, workspace, conversation):
    saved = saved_reply_create(
        workspace=workspace, mailbox=None, title="t", body="x", created_by=alice
    )
    draft = draft_open(
        conversation=conversation, author=alice, kind="reply", message=conversation.messages.get()
    )
    url = reverse("saved_reply_insert", args=[saved.pk])
    assert bob_client.get(url, {"draft": draft.pk}).status_code == 404
    assert alice_client.get(url, {"draft": "abc"}).status_code == 404


def test_the_composer_lists_saved_replies(alice_client, alice, workspace, conversation):
    saved_reply_create(
        workspace=workspace, mailbox=None, title="Relance", body="x", created_by=alice
    )
    html = alice_client.post(
        reverse("composer_open", args=[conversation.pk]), {"kind": "reply"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Relance" in html and "data-insert=" in html
