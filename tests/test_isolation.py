"""Charlie, in another workspace, gets a 404 on every URL of alice's that takes an id.

The test walks the URL configuration: a new URL with an id that is not listed here fails it,
so no view can be added without its isolation check.
"""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Invitation, Membership, Role
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Attachment, Conversation, FolderRole, Mailbox, Note, Outgoing, SyncState
from tests.urlwalk import walk_urls

# URL names that take an id, and how to find alice's object for each.
OBJECTS = {
    "attachment_download": lambda ctx: ctx["attachment"].pk,
    "conversation": lambda ctx: ctx["conversation"].pk,
    "conversation_triage": lambda ctx: ctx["conversation"].pk,
    "conversation_live": lambda ctx: ctx["conversation"].pk,
    "tag_edit": lambda ctx: _alice_tag(ctx).pk,
    "mailbox_rules": lambda ctx: ctx["mailbox"].pk,
    "mailbox_automatic": lambda ctx: ctx["mailbox"].pk,
    "sla_mailbox": lambda ctx: ctx["mailbox"].pk,
    "rule_edit": lambda ctx: _alice_rule(ctx).pk,
    "message_html": lambda ctx: ctx["conversation"].messages.first().pk,
    "invitation_revoke": lambda ctx: ctx["invitation"].pk,
    "mailbox_delete": lambda ctx: ctx["mailbox"].pk,
    "mailbox_edit": lambda ctx: ctx["mailbox"].pk,
    "mailbox_pause": lambda ctx: ctx["mailbox"].pk,
    "oauth_disconnect": lambda ctx: ctx["mailbox"].pk,
    "oauth_reconnect": lambda ctx: ctx["mailbox"].pk,
    "member_remove": lambda ctx: ctx["bob_membership"].pk,
    "member_role": lambda ctx: ctx["bob_membership"].pk,
    "ownership_transfer": lambda ctx: ctx["bob_membership"].pk,
    "workspace_switch": lambda ctx: ctx["workspace"].pk,
    "composer_slot": lambda ctx: ctx["conversation"].pk,
    "composer_open": lambda ctx: ctx["conversation"].pk,
    "conversation_presence": lambda ctx: ctx["conversation"].pk,
    "draft": lambda ctx: _alice_draft(ctx).pk,
    "draft_save": lambda ctx: _alice_draft(ctx).pk,
    "draft_send": lambda ctx: _alice_draft(ctx).pk,
    "draft_attachments": lambda ctx: _alice_draft(ctx).pk,
    "draft_discard": lambda ctx: _alice_draft(ctx).pk,
    "outgoing_retry": lambda ctx: _alice_draft(ctx).pk,
    "outgoing_undo": lambda ctx: _alice_draft(ctx).pk,
    "saved_reply_insert": lambda ctx: _alice_saved_reply(ctx).pk,
    "saved_reply_edit": lambda ctx: _alice_saved_reply(ctx).pk,
    "saved_reply_delete": lambda ctx: _alice_saved_reply(ctx).pk,
    "mailbox_signature": lambda ctx: ctx["mailbox"].pk,
    "privacy_export_progress": lambda ctx: _alice_export(ctx).pk,
    "privacy_export_download": lambda ctx: _alice_export(ctx).pk,
    "privacy_retention_receipt": lambda ctx: _alice_receipt(ctx).pk,
    "webhook_edit": lambda ctx: _alice_webhook(ctx).pk,
    "webhook_delete": lambda ctx: _alice_webhook(ctx).pk,
    "webhook_deliveries": lambda ctx: _alice_webhook(ctx).pk,
    "webhook_enable": lambda ctx: _alice_webhook(ctx).pk,
    "webhook_ping": lambda ctx: _alice_webhook(ctx).pk,
    "webhook_secret": lambda ctx: _alice_webhook(ctx).pk,
    "api_token_revoke": lambda ctx: _alice_token(ctx).pk,
    # The requester portal's URLs name the workspace too: those give every parameter.
    "portal_conversation": lambda ctx: _portal_kwargs(ctx, conversation_id=ctx["conversation"].pk),
    "portal_reply": lambda ctx: _portal_kwargs(ctx, conversation_id=ctx["conversation"].pk),
    "portal_rate": lambda ctx: _portal_kwargs(ctx, conversation_id=ctx["conversation"].pk),
    "portal_attachment": lambda ctx: _portal_kwargs(ctx, attachment_id=ctx["attachment"].pk),
    "portal_session_revoke": lambda ctx: _portal_kwargs(
        ctx, session_id=_alice_portal_session(ctx).pk
    ),
    "portal_delegation_revoke": lambda ctx: _alice_delegation(ctx).pk,
    "portal_erasure_answer": lambda ctx: _alice_erasure(ctx).pk,
    "contact": lambda ctx: _alice_contact(ctx).pk,
    "contact_note": lambda ctx: _alice_contact(ctx).pk,
    "contact_panel": lambda ctx: ctx["conversation"].pk,
    "organisation": lambda ctx: _alice_contact(ctx).organisation_id,
}

# The REST API's URL names that take an id (namespace "api"): charlie's token asks for alice's.
API_OBJECTS = {
    "api_conversation": lambda ctx: ctx["conversation"].pk,
    "api_conversation_contacts": lambda ctx: ctx["conversation"].pk,
    "api_conversation_assign": lambda ctx: ctx["conversation"].pk,
    "api_conversation_status": lambda ctx: ctx["conversation"].pk,
    "api_conversation_tags": lambda ctx: ctx["conversation"].pk,
    "api_conversation_notes": lambda ctx: ctx["conversation"].pk,
    "api_conversation_replies": lambda ctx: ctx["conversation"].pk,
    "api_reply": lambda ctx: _alice_reply(ctx).pk,
}
# A body each write operation accepts, so the 404 comes from the object, not the input.
API_BODIES = {
    "api_conversation_assign": {"assignee": None},
    "api_conversation_status": {"status": "spam"},
    "api_conversation_tags": {"add": ["Charlie"]},
    "api_conversation_notes": {"body": "charlie was here"},
    "api_conversation_replies": {"body": "charlie was here", "confirm_recipients": True},
}


def _alice_token(ctx):
    from api.tokens import token_create

    return token_create(
        workspace=ctx["workspace"],
        created_by=ctx["workspace"].memberships.get(role="owner").user,
        name="CRM",
        role="agent",
        scope="read",
    ).token


def _alice_reply(ctx):
    from inbox.mail.sending import outgoing_queue, outgoing_update

    draft = _alice_draft(ctx)
    outgoing_update(outgoing=draft, to=["parent@example.fr"], body="Bien reçu.")
    return outgoing_queue(outgoing=draft)


def _alice_receipt(ctx):
    from privacy.models import DeletionReceipt

    return DeletionReceipt.objects.create(workspace=ctx["workspace"], counts={"exports": 1})


def url_for(name: str, ctx) -> str:
    """The URL of alice's object for `name` (an id, or every parameter by name)."""
    value = OBJECTS[name](ctx)
    if isinstance(value, dict):
        return reverse(name, kwargs=value)
    return reverse(name, args=[value])


def _portal_kwargs(ctx, **ids) -> dict:
    from portal.actions import portal_enable

    portal_enable(workspace=ctx["workspace"])
    return {"workspace_slug": ctx["workspace"].slug, **ids}


def _alice_portal_session(ctx):
    from django.http import HttpResponse

    from portal.signin import session_start

    return session_start(
        workspace=ctx["workspace"],
        address="parent@example.fr",
        remember=False,
        device="test",
        response=HttpResponse(),
    )


def _alice_erasure(ctx):
    from portal.erasure import erasure_request

    return erasure_request(workspace=ctx["workspace"], address="parent@example.fr", name="")


def _alice_delegation(ctx):
    from portal.actions import delegation_create

    return delegation_create(
        workspace=ctx["workspace"],
        delegate="papa@example.fr",
        target="parent@example.fr",
        can_reply=False,
        created_by=ctx["workspace"].memberships.get(role="owner").user,
    )


def _alice_contact(ctx):
    """The parent who wrote in (made by the pipeline's signal), with an organisation."""
    from contacts.models import Contact

    return Contact.objects.get(workspace=ctx["workspace"], organisation__isnull=False)


def _alice_export(ctx):
    from datetime import timedelta

    from django.utils import timezone

    from privacy.models import DataExport

    return DataExport.objects.create(
        workspace=ctx["workspace"],
        kind="workspace",
        state="ready",
        object_key=f"ws/{ctx['workspace'].pk}/export",
        expires_at=timezone.now() + timedelta(days=7),
    )


def _alice_tag(ctx):
    from inbox.actions.tags import tag_get_or_create

    return tag_get_or_create(workspace=ctx["workspace"], name="Absences")


def _alice_rule(ctx):
    from inbox.actions.rules import rule_create

    return rule_create(
        mailbox=ctx["mailbox"],
        kind="match",
        field="subject",
        pattern="absence",
        tag=_alice_tag(ctx),
    )


def _alice_draft(ctx):
    from inbox.actions.compose import draft_open

    conversation = ctx["conversation"]
    return draft_open(
        conversation=conversation,
        author=ctx["workspace"].memberships.get(role="owner").user,
        kind="reply",
        message=conversation.messages.first(),
    )


def _alice_saved_reply(ctx):
    from inbox.actions.saved_replies import saved_reply_create

    return saved_reply_create(
        workspace=ctx["workspace"],
        mailbox=None,
        title="Absence",
        body="Bonjour {{ customer.first_name }}",
        created_by=None,
    )


def _alice_webhook(ctx):
    from webhooks.endpoints import endpoint_create

    endpoint, _secret = endpoint_create(
        workspace=ctx["workspace"],
        actor=ctx["workspace"].memberships.first().user,
        name="CRM",
        url="https://crm.example.fr/hooks/trupeo",
        preset="generic",
        events=["note.added"],
        include_content=False,
    )
    return endpoint


# Modules whose URLs are not ours to scope (Django admin, allauth) or take no object id.
EXEMPT_NAMESPACES = ("admin",)
EXEMPT_PREFIXES = ("allauth.", "django.")


def _our_patterns_with_ids(*, api: bool = False):
    for route in walk_urls():
        if ("api" in route.namespaces) != api:
            continue
        if set(route.namespaces) & set(EXEMPT_NAMESPACES):
            continue
        if any(module.startswith(EXEMPT_PREFIXES) for module in route.modules):
            continue
        if any(name.endswith("_id") for name in route.params):
            yield route.name


def test_every_url_with_an_id_is_covered():
    names = set(_our_patterns_with_ids())
    assert names, "no URL with an id found: the walk is broken"
    assert names <= set(OBJECTS), f"add these to OBJECTS: {sorted(names - set(OBJECTS))}"
    api = set(_our_patterns_with_ids(api=True))
    assert api, "no API URL with an id found: the walk is broken"
    assert api <= set(API_OBJECTS), f"add these to API_OBJECTS: {sorted(api - set(API_OBJECTS))}"


PARENT_MAIL = (
    b"From: Parent Dupont <parent@example.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Subject: Absence de Lucas\r\n"
    b"Message-ID: <absence-1@example.fr>\r\n"
    b"Date: Mon, 02 Mar 2026 09:00:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLucas sera absent demain.\r\n"
    b"--b1\r\nContent-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="certificat.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSBjZXJ0aWZpY2F0Cg==\r\n"
    b"--b1--\r\n"
)


@pytest.fixture
def ctx(workspace, alice, bob):
    invitation = services.invitation_create(
        workspace=workspace, email="dana@example.fr", role=Role.AGENT, invited_by=alice
    )
    mailbox = mailbox_create(
        workspace=workspace,
        address="scolarite@lycee-verne.fr",
        credentials={"imap_password": "alice-secret", "smtp_password": "alice-secret"},
        imap_host="imap.lycee-verne.fr",
        smtp_host="smtp.lycee-verne.fr",
    )
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="INBOX:1:1", raw=PARENT_MAIL)],
    )
    return {
        "workspace": workspace,
        "invitation": invitation,
        "bob_membership": Membership.objects.get(user=bob),
        "mailbox": mailbox,
        "conversation": Conversation.objects.get(mailbox=mailbox),
        "attachment": Attachment.objects.get(message__mailbox=mailbox),
    }


@pytest.mark.parametrize("name", sorted(OBJECTS))
@pytest.mark.parametrize("method", ["get", "post"])
def test_charlie_gets_404(name, method, ctx, charlie_client):
    url = url_for(name, ctx)
    response = getattr(charlie_client, method)(url)
    if method == "get" and response.status_code == 405:
        return  # POST-only view: the POST case is the one that matters
    assert response.status_code == 404, f"{method.upper()} {url} gave {response.status_code}"
    # And nothing changed.
    assert Invitation.objects.get(pk=ctx["invitation"].pk).revoked_at is None
    assert Membership.objects.get(pk=ctx["bob_membership"].pk).role == Role.AGENT
    mailbox = Mailbox.objects.get(pk=ctx["mailbox"].pk)
    assert (mailbox.sync_state, mailbox.imap_host) == (SyncState.ACTIVE, "imap.lycee-verne.fr")
    conversation = Conversation.objects.get(pk=ctx["conversation"].pk)
    assert (conversation.status, conversation.assignee_id) == (
        ctx["conversation"].status,
        ctx["conversation"].assignee_id,
    )


def _token_client(user, *, scope="write"):
    from django.test import Client

    from api.tokens import token_create

    created = token_create(
        workspace=user.memberships.get().workspace,
        created_by=user,
        name="isolation",
        role="admin",
        scope=scope,
    )
    return Client(headers={"authorization": f"Bearer {created.secret}"})


def _unchanged(ctx) -> None:

    conversation = Conversation.objects.get(pk=ctx["conversation"].pk)
    assert (conversation.status, conversation.assignee_id) == (
        ctx["conversation"].status,
        ctx["conversation"].assignee_id,
    )
    assert not conversation.tags.exists() and not Note.objects.exists()
    assert not Outgoing.objects.exclude(author=ctx["workspace"].memberships.get(role="owner").user)


@pytest.mark.parametrize("name", sorted(API_OBJECTS))
def test_charlies_token_gets_404_on_alices_objects(name, ctx, charlie):
    import json

    client = _token_client(charlie)
    url = reverse(f"api:{name}", args=[API_OBJECTS[name](ctx)])
    sent_before = set(Outgoing.objects.values_list("pk", "state"))
    response = client.get(url)
    if name in API_BODIES:
        assert response.status_code == 405, f"GET {url} gave {response.status_code}"
        response = client.post(url, json.dumps(API_BODIES[name]), content_type="application/json")
    assert response.status_code == 404, f"{url} gave {response.status_code}"
    assert response.json()["error"]["code"] == "not_found"
    _unchanged(ctx)
    assert set(Outgoing.objects.values_list("pk", "state")) == sent_before


@pytest.mark.parametrize("name", sorted(API_BODIES))
def test_alices_read_token_gets_403_on_her_own_objects(name, ctx, alice):
    import json

    client = _token_client(alice, scope="read")
    url = reverse(f"api:{name}", args=[API_OBJECTS[name](ctx)])
    response = client.post(url, json.dumps(API_BODIES[name]), content_type="application/json")
    assert response.status_code == 403
    _unchanged(ctx)
