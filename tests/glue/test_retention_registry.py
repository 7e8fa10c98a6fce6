"""The portal's sessions and sign-in links and the contacts of people who were never clients
reach the retention policy through `trupeo.retention`: the preview counts them and the run
deletes them, in this workspace only."""

from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import Workspace
from contacts.models import Contact, ContactConversation
from contacts.selectors import contact_for_address
from inbox.mail.mailboxes import mailbox_create
from portal.models import PortalSession, SignInLink
from portal.signin import session_start, signin_request
from privacy.gdpr.retention_policies import defaults, policy_confirm, policy_preview
from privacy.gdpr.retention_run import retention_run
from tests.privacy_data.conftest import ingest, mail
from trupeo import retention as registry

pytestmark = pytest.mark.django_db

BOX = "scolarite@lycee-verne.fr"


def test_the_portal_and_contacts_register_their_purgers():
    names = {p.name for p in registry.purgers(registry.AUTH_LOGS)}
    assert {"portal.sessions", "portal.signin_links"} <= names
    assert "contacts.never_clients" in {p.name for p in registry.purgers(registry.CONTACTS)}


def _portal_rows(workspace, address: str, *, ended_days_ago: int) -> None:
    then = timezone.now() - timedelta(days=ended_days_ago)
    link = signin_request(workspace=workspace, address=address, language="fr")
    SignInLink.objects.filter(pk=link.pk).update(expires_at=then)
    expired = session_start(
        workspace=workspace,
        address=address,
        remember=True,
        device="Firefox",
        response=HttpResponse(),
    )
    signed_out = session_start(
        workspace=workspace,
        address=address,
        remember=False,
        device="Safari",
        response=HttpResponse(),
    )
    PortalSession.objects.filter(pk=expired.pk).update(expires_at=then)
    PortalSession.objects.filter(pk=signed_out.pk).update(revoked_at=then)


def test_old_portal_sessions_and_links_are_previewed_then_deleted(workspace, alice, charlie):
    other = Workspace.objects.get(memberships__user=charlie)
    _portal_rows(workspace, "parent@example.fr", ended_days_ago=40)
    _portal_rows(workspace, "recent@example.fr", ended_days_ago=2)  # within the 30 days
    _portal_rows(other, "parent@example.fr", ended_days_ago=40)
    live = session_start(
        workspace=workspace,
        address="parent@example.fr",
        remember=True,
        device="Edge",
        response=HttpResponse(),
    )

    assert policy_preview(workspace_id=workspace.pk, days=defaults())["auth_logs"] == 3
    policy_confirm(workspace=workspace, days=defaults(), actor=alice)
    run = retention_run(workspace_id=workspace.pk)

    assert run.counts["auth_logs"] == 3 and run.complete
    assert PortalSession.objects.filter(workspace=workspace).count() == 3  # 2 recent + live
    assert PortalSession.objects.filter(pk=live.pk).exists()
    assert SignInLink.objects.filter(workspace=workspace).count() == 1
    assert PortalSession.objects.filter(workspace=other).count() == 2  # not this workspace's
    assert SignInLink.objects.filter(workspace=other).count() == 1
    assert policy_preview(workspace_id=workspace.pk, days=defaults())["auth_logs"] == 0


def test_contacts_who_never_became_clients_are_previewed_then_deleted(workspace, alice):
    mailbox = mailbox_create(workspace=workspace, address=BOX)
    ingest(
        mailbox,
        [
            mail(sender="Karim <karim@example.fr>", to=BOX, subject="Devis", message_id="k@x.fr"),
            mail(sender="Léa <lea@example.fr>", to=BOX, subject="Stage", message_id="l@x.fr"),
        ],
    )
    keys = keys_for(workspace)
    karim = contact_for_address(keys, workspace, "karim@example.fr")
    lea = contact_for_address(keys, workspace, "lea@example.fr")
    four_years_ago = timezone.now() - timedelta(days=4 * 365)
    # Karim's mail is gone (deleted by retention) and he was last seen four years ago;
    # Léa was last seen as long ago but still has her conversation: she stays.
    ContactConversation.objects.filter(contact=karim).delete()
    Contact.objects.filter(pk__in=[karim.pk, lea.pk]).update(last_seen_at=four_years_ago)

    days = defaults() | {"contacts": 3 * 365}
    assert policy_preview(workspace_id=workspace.pk, days=days)["contacts"] == 1
    policy_confirm(workspace=workspace, days=days, actor=alice)
    run = retention_run(workspace_id=workspace.pk)

    assert run.counts["contacts"] == 1
    assert not Contact.objects.filter(pk=karim.pk).exists()
    assert Contact.objects.filter(pk=lea.pk).exists()
