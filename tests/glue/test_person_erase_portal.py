"""A person's erasure (`person_erase`) also removes the portal's rows for their address:
profile, sessions, sign-in links, delegations to them and of their address; another person's
rows and another workspace's stay."""

import pytest
from django.http import HttpResponse

from accounts.models import Workspace
from inbox.mail.mailboxes import mailbox_create
from portal.actions import delegation_create, profile_update
from portal.models import Delegation, PortalProfile, PortalSession, SignInLink
from portal.signin import session_start, signin_request
from privacy.gdpr.deletion import person_erase
from tests.privacy_data.conftest import ingest, mail

pytestmark = pytest.mark.django_db

BOX = "scolarite@lycee-verne.fr"
PARENT = "parent@example.fr"
OTHER = "autre.parent@example.fr"


def _portal_rows(workspace, address: str) -> None:
    profile_update(workspace=workspace, address=address, name="Parent Dupont")
    signin_request(workspace=workspace, address=address, language="fr")
    session_start(
        workspace=workspace,
        address=address,
        remember=True,
        device="Firefox",
        response=HttpResponse(),
    )


def _rows(workspace) -> dict[str, int]:
    return {
        model.__name__: model.objects.filter(workspace=workspace).count()
        for model in (PortalProfile, PortalSession, SignInLink, Delegation)
    }


def test_person_erase_removes_the_portal_rows_of_that_address(workspace, alice, charlie):
    ingest(
        mailbox_create(workspace=workspace, address=BOX),
        [mail(sender=f"Parent <{PARENT}>", to=BOX, subject="Absence", message_id="a@x.fr")],
    )
    other_workspace = Workspace.objects.get(memberships__user=charlie)
    for space in (workspace, other_workspace):
        _portal_rows(space, PARENT)
    _portal_rows(workspace, OTHER)
    delegation_create(
        workspace=workspace, delegate=PARENT, target=OTHER, can_reply=False, created_by=alice
    )
    delegation_create(
        workspace=workspace, delegate=OTHER, target=PARENT, can_reply=True, created_by=alice
    )
    delegation_create(
        workspace=workspace, delegate=OTHER, target="@example.fr", can_reply=False, created_by=alice
    )
    assert _rows(workspace) == {
        "PortalProfile": 2,
        "PortalSession": 2,
        "SignInLink": 2,
        "Delegation": 3,
    }

    person_erase(workspace=workspace, address=f"  {PARENT.upper()} ")

    # The other parent's rows and the domain delegation stay; the other workspace is untouched.
    assert _rows(workspace) == {
        "PortalProfile": 1,
        "PortalSession": 1,
        "SignInLink": 1,
        "Delegation": 1,
    }
    assert _rows(other_workspace) == {
        "PortalProfile": 1,
        "PortalSession": 1,
        "SignInLink": 1,
        "Delegation": 0,
    }
