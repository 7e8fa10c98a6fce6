"""API clients: the Django test client with a bearer token, against the real app."""

import pytest
from django.test import Client

from api.models import TokenScope
from api.tokens import token_create
from inbox.mail.mailboxes import mailbox_create
from tests.mail import french_message, received_message

SHARED = "scolarite@lycee-verne.fr"


class Api:
    """GET/POST JSON to /api/v1/ with a token (None: no Authorization header)."""

    def __init__(self, secret: str | None, client: Client | None = None):
        self.secret = secret
        self.client = client or Client()

    def headers(self, extra: dict | None = None) -> dict:
        found = {"authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**found, **(extra or {})}

    def get(self, path: str, params: dict | None = None, **extra):
        return self.client.get("/api/v1" + path, params or {}, headers=self.headers(extra))

    def post(self, path: str, body=None, raw: str | bytes | None = None, **extra):
        import json

        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            "/api/v1" + path, data, content_type="application/json", headers=self.headers(extra)
        )


def make_token(workspace, user, *, scope=TokenScope.WRITE, role="admin", days=90):
    return token_create(
        workspace=workspace,
        created_by=user,
        name="Intégration CRM",
        role=role,
        scope=scope,
        lifetime_days=days,
    )


@pytest.fixture
def alice_api(workspace, alice):
    return Api(make_token(workspace, alice).secret)


@pytest.fixture
def alice_reader(workspace, alice):
    return Api(make_token(workspace, alice, scope=TokenScope.READ).secret)


@pytest.fixture
def charlie_api(charlie):
    workspace = charlie.memberships.get().workspace
    return Api(make_token(workspace, charlie).secret)


@pytest.fixture
def mailbox(workspace):
    return mailbox_create(workspace=workspace, address=SHARED)


@pytest.fixture
def conversation(mailbox):
    conversation = received_message(
        mailbox, french_message(1, sender="Sophie Martin <sophie@famille.fr>"), 1
    ).conversation
    # Mail dated before the mailbox was connected arrives closed (history): this one is new.
    conversation.status = "open"
    conversation.save(update_fields=["status"])
    return conversation
