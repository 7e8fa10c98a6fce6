"""Gmail and Microsoft 365 mailboxes against the local fakes (tests/parts/*_fake.py)."""

import pytest

from inbox.mail.providers.connect import mailbox_connect_oauth
from inbox.models import Provider
from tests.parts.google_fake import google_fake  # noqa: F401
from tests.parts.microsoft_fake import microsoft_fake  # noqa: F401

GMAIL_ADDRESS = "scolarite@lycee-verne.fr"
MS_ADDRESS = "contact@lycee-verne.fr"


def connected(workspace, provider: str, address: str, refresh_token: str):
    """A mailbox connected as the operator command does: a refresh token, no access token."""
    mailbox, _created = mailbox_connect_oauth(
        workspace=workspace,
        provider=provider,
        address=address,
        credentials={"refresh_token": refresh_token, "access_token": "", "expires_at": 0},
    )
    return mailbox


@pytest.fixture
def gmail_box(workspace, google_fake):  # noqa: F811
    return connected(workspace, Provider.GOOGLE, GMAIL_ADDRESS, google_fake.grant(GMAIL_ADDRESS))


@pytest.fixture
def graph_box(workspace, microsoft_fake):  # noqa: F811
    return connected(workspace, Provider.MICROSOFT, MS_ADDRESS, microsoft_fake.grant(MS_ADDRESS))
