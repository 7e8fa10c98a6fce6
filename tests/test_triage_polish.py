"""Triage as a person reads it: buttons that say what they do, views named as lists, counts
that follow a triage at once, and the Django admin's sections in French."""

import re

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone, translation

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation
from tests.mail import french_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversations(workspace):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")
    for n in (1, 2, 3):
        ingest_batch(
            mailbox=mailbox,
            folder=folder,
            mails=[
                RawMail(provider_key=f"k:1:{n}", raw=french_message(n), received_at=timezone.now())
            ],
        )
    return list(Conversation.objects.filter(workspace=workspace).order_by("pk"))


def _buttons(page: str) -> str:
    return page.split('class="triage-bar"', 1)[1].split("</header>", 1)[0]


def test_triage_buttons_are_verbs_not_states(alice_client, conversations):
    url = reverse("conversation", args=[conversations[0].pk])
    bar = _buttons(alice_client.get(url).content.decode())
    for verb in ("Mettre en attente", "Fermer", "Suivre", "Marquer comme indésirable"):
        assert f">{verb}</button>" in bar
    for state in (">Fermée<", ">En attente<", ">Suivie<", ">Indésirable<"):
        assert state not in bar
    alice_client.post(
        reverse("conversation_triage", args=[conversations[0].pk]), {"action": "follow"}
    )
    bar = _buttons(alice_client.get(url).content.decode())
    assert ">Ne plus suivre</button>" in bar


def test_every_view_name_is_plural_in_french(alice_client, conversations):
    page = alice_client.get(reverse("inbox_counts") + "?view=open").content.decode()
    assert "<span>Fermées</span>" in page and "<span>Indésirables</span>" in page
    assert "<span>Fermée</span>" not in page


def _count(page: str, view: str) -> int:
    match = re.search(
        rf'\?view={view}"[^>]*>\s*<span>[^<]*</span>(?: <span class="count"[^>]*>(\d+)</span>)?',
        page,
    )
    assert match, f"no link to the view {view}"
    return int(match.group(1) or 0)


def test_counts_follow_a_triage_at_once(
    alice_client, conversations, django_capture_on_commit_callbacks
):
    counts_url = reverse("inbox_counts") + "?view=open"
    assert _count(alice_client.get(counts_url).content.decode(), "open") == 3
    with django_capture_on_commit_callbacks(execute=True):  # as when the request commits
        response = alice_client.post(
            reverse("conversation_triage", args=[conversations[0].pk]),
            {"action": "status", "status": "pending"},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    assert "inbox-changed" in response["HX-Trigger"]  # the page's sidebar refreshes now
    page = alice_client.get(counts_url).content.decode()  # within the old 10 s cache
    assert _count(page, "open") == 2 and _count(page, "pending") == 1


def test_the_lists_live_refresh_tells_the_sidebar(alice_client, conversations):
    first = alice_client.get(reverse("inbox"), HTTP_HX_REQUEST="true")
    assert "inbox-counts-stale" in first["HX-Trigger"]


def test_favicon_ico_points_at_the_svg(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("img/favicon.svg")


def test_admin_sections_are_named_in_french():
    with translation.override("fr"):
        names = {apps.get_app_config(a).verbose_name for a in ("accounts", "inbox", "privacy")}
    assert names == {"Comptes et espaces de travail", "Messagerie", "Confidentialité et RGPD"}


SAME_IN_FRENCH = {"type", "version"}


def test_every_admin_field_has_a_french_name():
    """No field of ours appears in the Django admin under its raw English name."""
    from django.contrib import admin

    raw = []
    with translation.override("fr"):
        for model in admin.site._registry:
            if model._meta.app_label not in ("accounts", "inbox", "billing", "privacy"):
                continue
            for field in model._meta.get_fields():
                if field.auto_created or not hasattr(field, "verbose_name"):
                    continue
                name = field.name.replace("_", " ")
                if name not in SAME_IN_FRENCH and str(field.verbose_name).lower() == name:
                    raw.append(f"{model._meta.label}.{field.name}")
    assert not raw


def test_the_team_counts_are_shared_and_mine_is_each_members_own(
    alice_client, bob_client, bob, workspace, conversations
):
    from accounts.models import Membership
    from inbox.models import Conversation

    Membership.objects.get_or_create(user=bob, workspace=workspace)
    Conversation.objects.filter(pk=conversations[0].pk).update(assignee=bob)
    counts_url = reverse("inbox_counts") + "?view=open"
    # Alice's read fills the cache of the team's counts; Bob reads the same, and his own.
    alice = alice_client.get(counts_url).content.decode()
    bob_page = bob_client.get(counts_url).content.decode()
    assert _count(alice, "open") == _count(bob_page, "open") == 3
    assert _count(alice, "unassigned") == _count(bob_page, "unassigned") == 2
    assert _count(alice, "mine") == 0 and _count(bob_page, "mine") == 1


def _team_recounts(client, url) -> tuple[str, int]:
    """The counts page, and how many times it counted the team (the FILTER aggregate)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    return page, sum('AS "unassigned"' in q["sql"] for q in queries.captured_queries)


def test_a_reassignment_between_two_people_recounts_mine_but_not_the_team(
    alice_client, alice, bob, workspace, conversations, django_capture_on_commit_callbacks
):
    from accounts.models import Membership
    from inbox.actions.triage import conversation_assign

    Membership.objects.get_or_create(user=bob, workspace=workspace)
    with django_capture_on_commit_callbacks(execute=True):
        conversation_assign(conversation=conversations[0], assignee=bob, actor=alice)
    counts_url = reverse("inbox_counts") + "?view=open"
    page, recounts = _team_recounts(alice_client, counts_url)
    assert (_count(page, "unassigned"), _count(page, "mine"), recounts) == (2, 0, 1)
    with django_capture_on_commit_callbacks(execute=True):
        conversation_assign(conversation=conversations[0], assignee=alice, actor=alice)
    page, recounts = _team_recounts(alice_client, counts_url)
    assert (_count(page, "unassigned"), _count(page, "mine"), recounts) == (2, 1, 0)
    # Back to nobody: "Unassigned" moves, so the team is counted again.
    with django_capture_on_commit_callbacks(execute=True):
        conversation_assign(conversation=conversations[0], assignee=None, actor=alice)
    page, recounts = _team_recounts(alice_client, counts_url)
    assert (_count(page, "unassigned"), _count(page, "mine"), recounts) == (3, 0, 1)


def test_a_stale_assignee_in_memory_cannot_keep_the_unassigned_count_stale(
    alice_client, alice, bob, workspace, conversations, django_capture_on_commit_callbacks
):
    from accounts.models import Membership
    from inbox.actions.triage import conversation_assign

    Membership.objects.get_or_create(user=bob, workspace=workspace)
    counts_url = reverse("inbox_counts") + "?view=open"
    assert _count(alice_client.get(counts_url).content.decode(), "unassigned") == 3
    # The page was read while Bob held it; someone unassigned it since.
    stale = Conversation.objects.get(pk=conversations[0].pk)
    stale.assignee_id = bob.pk
    with django_capture_on_commit_callbacks(execute=True):
        conversation_assign(conversation=stale, assignee=alice, actor=alice)
    page, recounts = _team_recounts(alice_client, counts_url)
    assert (_count(page, "unassigned"), recounts) == (2, 1)


def test_the_sent_copy_of_a_reply_moves_no_team_count_but_a_customer_writing_again_does(
    alice_client, alice, workspace, django_capture_on_commit_callbacks
):
    from inbox.actions.triage import conversation_set_status

    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")

    def arrive(key: str, raw: bytes) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            ingest_batch(
                mailbox=mailbox,
                folder=folder,
                mails=[RawMail(provider_key=key, raw=raw, received_at=timezone.now())],
            )

    arrive("k:1", french_message(1, message_id="<absence-1@famille.fr>"))
    conversation = Conversation.objects.get(workspace=workspace)
    with django_capture_on_commit_callbacks(execute=True):
        conversation_set_status(conversation=conversation, status="closed", actor=alice)
    counts_url = reverse("inbox_counts") + "?view=open"
    page, recounts = _team_recounts(alice_client, counts_url)
    assert (_count(page, "open"), recounts) == (0, 1)
    list_poll = alice_client.get(reverse("inbox"), HTTP_HX_REQUEST="true")
    version = list_poll.content.decode().split("v=", 1)[1].split('"', 1)[0]

    # The team's own answer, filed in the conversation: lists refresh, no recount.
    arrive(
        "k:2",
        french_message(
            2, sender="Scolarité <scolarite@lycee-verne.fr>", in_reply_to="<absence-1@famille.fr>"
        ),
    )
    assert Conversation.objects.get(pk=conversation.pk).message_count == 2
    poll = alice_client.get(reverse("inbox") + f"?v={version}", HTTP_HX_REQUEST="true")
    assert poll.status_code == 200  # the list changed
    page, recounts = _team_recounts(alice_client, counts_url)
    assert (_count(page, "open"), recounts) == (0, 0)

    # The parent writes again: the conversation reopens, and the team is counted again.
    arrive("k:3", french_message(3, in_reply_to="<absence-1@famille.fr>"))
    page, recounts = _team_recounts(alice_client, counts_url)
    assert (_count(page, "open"), recounts) == (1, 1)
