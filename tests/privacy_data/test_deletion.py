"""Deleting a workspace or an account: re-authentication and typed confirmation, the key
destroyed first, then nothing left in any table or in storage; invoices kept, detached."""

import re

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts.models import Membership, User, Workspace
from inbox.models import Conversation, Message, Note
from privacy.gdpr.ledger import ledger_entries
from privacy.gdpr.processor_terms import terms_accept
from privacy.gdpr.requests import gdpr_request_create
from privacy.models import DataExport, GdprRequest, Right, TermsAcceptance
from tests.factories import PASSWORD
from tests.privacy_data.conftest import ingest
from tests.privacy_data.conftest import mail as make_mail
from tests.privacy_data.test_workspace_export import invoice
from tests.test_export import _ingest_corpus, _note
from trupeo.storage import object_store, workspace_prefix

MARKER = "Lycée Jules Verne"
# Billing records keep a snapshot of the workspace's name for 10 years, by law (policy §4);
# the acceptance of the data-processing terms keeps one too: it is the contract.
KEPT_APART = {"billing_invoice", "billing_subscription", "privacy_termsacceptance"}


@pytest.fixture
def full_workspace(workspace, alice, bob, mailbox):
    """Alice's workspace with mail, a note, a tag, an export, terms, a request, an invoice."""
    from inbox.actions.tags import conversation_tag_add, tag_create
    from privacy.gdpr.export_archive import export_build

    _ingest_corpus(mailbox)
    conversation = Conversation.objects.filter(workspace=workspace).first()
    _note(conversation, bob, "Note interne")
    conversation_tag_add(
        conversation=conversation, tag=tag_create(workspace=workspace, name="Urgent"), actor=bob
    )
    terms_accept(workspace=workspace, user=alice, version="2026-04-25", ip="203.0.113.9")
    export = DataExport.objects.create(workspace=workspace, kind="workspace")
    export_build(export_id=export.pk)
    gdpr_request_create(right=Right.ACCESS, email="x@example.fr", workspace=workspace)
    invoice(workspace, "F-2026-0042")
    assert any(object_store().iter_keys(workspace_prefix(workspace.pk)))
    return workspace


@pytest.fixture
def charlie_ws(charlie):
    workspace = Membership.objects.get(user=charlie).workspace
    from inbox.mail.mailboxes import mailbox_create

    box = mailbox_create(workspace=workspace, address="contact@agence-ouest.fr")
    ingest(
        box, [make_mail(sender="c@example.fr", to=box.address, subject="Charlie", message_id="c@x")]
    )
    return workspace


def _reauthenticate(client) -> None:
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def assert_nothing_left(workspace_id: int, *markers: str) -> None:
    """Scan every table: no row points at the workspace, no text column holds its markers;
    and no stored object remains under its prefix."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            points_here = field.many_to_one or field.one_to_one
            if points_here and field.concrete and field.related_model is Workspace:
                left = model._base_manager.filter(**{field.attname: workspace_id}).count()
                assert left == 0, f"{model.__name__}.{field.name}: {left} row(s) left"
    assert not Workspace.objects.filter(pk=workspace_id).exists()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table in KEPT_APART:
                continue
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 — names from introspection
            for row in cursor.fetchall():
                text = " ".join(str(v) for v in row if isinstance(v, str))
                for marker in markers:
                    assert marker not in text, f"{marker!r} left in {table}: {row!r}"[:300]
    assert list(object_store().iter_keys(workspace_prefix(workspace_id))) == []


def test_owner_deletes_the_workspace_after_reauthenticating(
    alice_client, alice, full_workspace, charlie_ws, django_capture_on_commit_callbacks
):
    workspace = full_workspace
    url = reverse("privacy_workspace_delete")
    # Fresh re-authentication first.
    response = alice_client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    _reauthenticate(alice_client)

    page = alice_client.get(url)
    assert page.status_code == 200
    wrong = alice_client.post(url, {"confirm_name": "Lycée Jules"})
    assert wrong.status_code == 200
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert Message.objects.filter(workspace=workspace).exists()

    workspace_id = workspace.pk
    charlie_messages = Message.objects.filter(workspace=charlie_ws).count()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url, {"confirm_name": MARKER})
    assert response.status_code == 302

    assert_nothing_left(workspace_id, MARKER, "Note interne")
    # Invoices stay, detached, with their own snapshot.
    from billing.models import Invoice

    kept = Invoice.objects.get(number="F-2026-0042")
    assert kept.workspace_id is None and kept.workspace_name == MARKER
    # The request stays with staff, without its link to the workspace.
    assert GdprRequest.objects.get().workspace_id is None
    # The acceptance of the data-processing terms is the contract: it stays, detached, with
    # who the client was and who accepted which version, when and from where.
    contract = TermsAcceptance.objects.get()
    assert contract.workspace_id is None
    assert (contract.workspace_ref, contract.workspace_name, contract.workspace_slug) == (
        workspace_id,
        MARKER,
        "lycee-jules-verne",
    )
    assert (contract.user, contract.user_email, contract.user_name) == (
        alice,
        alice.email,
        "Alice Martin",
    )
    assert (contract.version, contract.ip) == ("2026-04-25", "203.0.113.9")
    # Charlie's workspace is untouched.
    assert Message.objects.filter(workspace=charlie_ws).count() == charlie_messages
    assert list(object_store().iter_keys(workspace_prefix(charlie_ws.pk)))
    # Recorded in the ledger, and a receipt went to the owner.
    entry = ledger_entries()[-1]
    assert (entry.kind, entry.id) == ("workspace", workspace_id)
    receipts = [m for m in mail.outbox if alice.email in m.to]
    assert len(receipts) == 1 and MARKER in receipts[0].subject
    # Alice and Bob still exist, with no membership left in it.
    assert User.objects.filter(email__in=[alice.email, "bob@lycee-verne.fr"]).count() == 2


def test_the_key_is_destroyed_before_anything_else(full_workspace, monkeypatch):
    from privacy.gdpr import deletion

    seen = {}
    original = deletion.workspace_mail_delete

    def spy(*, workspace, store):
        seen["key"] = Workspace.objects.get(pk=workspace.pk).wrapped_key
        seen["messages"] = Message.objects.filter(workspace=workspace).count()
        return original(workspace=workspace, store=store)

    monkeypatch.setattr(deletion, "workspace_mail_delete", spy)
    deletion.workspace_delete(workspace=full_workspace, actor=None)
    assert seen["key"] is None and seen["messages"] > 0


def test_only_the_owner_may_delete(bob_client, full_workspace):
    response = bob_client.get(reverse("privacy_workspace_delete"))
    assert response.status_code == 403
    assert Workspace.objects.filter(pk=full_workspace.pk).exists()


def test_operator_command_needs_yes(full_workspace, django_capture_on_commit_callbacks):
    with pytest.raises(CommandError, match="--yes"):
        call_command("workspace_delete", full_workspace.slug)
    assert Workspace.objects.filter(pk=full_workspace.pk).exists()
    with pytest.raises(CommandError, match="slug"):
        call_command("workspace_delete", "nope", "--yes")
    workspace_id = full_workspace.pk
    with django_capture_on_commit_callbacks(execute=True):
        call_command("workspace_delete", full_workspace.slug, "--yes")
    assert_nothing_left(workspace_id, MARKER)
    assert TermsAcceptance.objects.get().workspace_ref == workspace_id  # the contract stays
    assert len(mail.outbox) == 1  # the receipt, to the owner


def test_a_sole_owner_must_transfer_or_delete_first(alice_client, alice, workspace):
    response = alice_client.get(reverse("privacy_account_delete"))
    assert response.status_code == 302
    _reauthenticate(alice_client)
    page = alice_client.get(reverse("privacy_account_delete")).content.decode()
    assert MARKER in page and reverse("members") in page
    alice_client.post(reverse("privacy_account_delete"), {"confirm_email": alice.email})
    assert User.objects.filter(pk=alice.pk).exists()


def test_a_member_deletes_their_account(
    bob_client, bob, workspace, mailbox, django_capture_on_commit_callbacks
):
    ingest(
        mailbox,
        [make_mail(sender="p@example.fr", to=mailbox.address, subject="s", message_id="s@e")],
    )
    note = _note(Conversation.objects.get(workspace=workspace), bob, "Note de Bob")
    _reauthenticate(bob_client)
    url = reverse("privacy_account_delete")
    bob_client.post(url, {"confirm_email": "autre@example.fr"})
    assert User.objects.filter(pk=bob.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.post(url, {"confirm_email": "BOB@lycee-verne.fr"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=bob.pk).exists()
    assert not Membership.objects.filter(user_id=bob.pk).exists()
    assert Note.objects.get(pk=note.pk).author_id is None  # the workspace keeps its notes
    assert bob_client.get(reverse("privacy_data")).status_code == 302  # logged out
    assert mail.outbox[-1].to == ["bob@lycee-verne.fr"]
    assert (ledger_entries()[-1].kind, ledger_entries()[-1].id) == ("user", bob.pk)


def test_the_data_page_links_everything(alice_client, bob_client):
    page = alice_client.get(reverse("privacy_data")).content.decode()
    for name in ("privacy_export_start", "privacy_account_export", "privacy_workspace_delete"):
        assert reverse(name) in page
    assert re.search(r"transf", page)  # the sole owner is told to transfer first
    bob_page = bob_client.get(reverse("privacy_data")).content.decode()
    assert reverse("privacy_workspace_delete") not in bob_page
    assert reverse("privacy_export_start") not in bob_page
    assert reverse("privacy_account_delete") in bob_page
