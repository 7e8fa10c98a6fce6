"""The requester portal, attacked: links, sessions, ids, delegations, injection."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core import mail as outbox
from django.test import Client, TestCase
from django.utils import timezone

from inbox.models import Attachment, Conversation, Direction, Message, Status
from portal.actions import delegation_create, portal_enable
from portal.erasure import erasures_follow
from portal.models import ErasureRequest, PortalSession, PortalSettings, SignInLink
from portal.signin import digest
from privacy.models import GdprRequest, RequestStatus
from tests.portal.conftest import (
    BOX,
    OTHER,
    PARENT,
    PDF,
    TEACHER,
    ingest,
    link_from_outbox,
    sign_in,
)
from tests.privacy_data.conftest import mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(callable_, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return callable_(*args, **kwargs)

    return run


def _home(client, workspace) -> str:
    response = client.get(f"/p/{workspace.slug}/")
    assert response.status_code == 200
    return response.content.decode()


# --- What a requester sees ------------------------------------------------------------------


def test_the_parent_sees_exactly_their_conversations(parent_client, workspace, school):
    page = _home(parent_client, workspace)
    assert "Absence de Lucas" in page
    assert f"{school['absence'].pk:06d}" in page  # the reference number
    assert "Reçue" in page  # open, in plain words
    assert "Inscription de Léa" not in page  # another requester's
    assert "Gagnez" not in page  # spam is never shown


def test_the_conversation_shows_only_messages_exchanged_with_them(parent_client, workspace, school):
    response = parent_client.get(f"/p/{workspace.slug}/c/{school['absence'].pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Bonjour." in page and "Bien noté, merci." in page
    assert "Secret interne" not in page  # the forward to a teacher is not theirs
    assert TEACHER not in page
    assert "Note interne confidentielle" not in page  # notes never
    assert "certificat" in page  # their attachment


def test_attachment_downloads_and_another_conversations_is_a_404(
    parent_client, workspace, school, box
):
    attachment = Attachment.objects.get(message__conversation=school["absence"])
    response = parent_client.get(f"/p/{workspace.slug}/files/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/octet-stream"
    # An attachment of the other parent's conversation: a 404, like an id that does not exist.
    ingest(
        box,
        [
            mail(
                sender=OTHER,
                to=BOX,
                subject="PJ",
                message_id="b2@example.fr",
                in_reply_to="b1@example.fr",
                attachment=b"autre",
            )
        ],
        key="later",
    )
    theirs = Attachment.objects.get(message__conversation=school["other"])
    assert parent_client.get(f"/p/{workspace.slug}/files/{theirs.pk}/").status_code == 404


def test_another_requesters_conversation_id_is_a_404(parent_client, workspace, school):
    for conversation in (school["other"], school["spam"]):
        assert parent_client.get(f"/p/{workspace.slug}/c/{conversation.pk}/").status_code == 404
        response = parent_client.post(
            f"/p/{workspace.slug}/c/{conversation.pk}/reply/", {"body": "intrusion"}
        )
        assert response.status_code == 404
    assert not Message.objects.filter(provider_key__startswith="portal:").exists()


def test_nothing_without_a_session(client, workspace, school):
    absence = school["absence"]
    assert client.get(f"/p/{workspace.slug}/c/{absence.pk}/").status_code == 404
    assert client.get(f"/p/{workspace.slug}/profile/").status_code == 302
    assert client.get(f"/p/{workspace.slug}/data/").status_code == 302
    page = _home(client, workspace)
    assert "Absence" not in page and 'name="email"' in page


def test_an_agent_login_is_not_a_requester_and_a_requester_not_an_agent(
    alice_client, parent_client, workspace, school
):
    assert alice_client.get(f"/p/{workspace.slug}/c/{school['absence'].pk}/").status_code == 404
    assert "Absence" not in _home(alice_client, workspace)
    assert parent_client.get("/inbox/").status_code == 302  # to the agents' login
    assert parent_client.get(f"/inbox/conversations/{school['absence'].pk}/").status_code in (
        302,
        404,
    )


# --- Signing in -----------------------------------------------------------------------------


def test_a_link_works_once(client, workspace, school, run_on_commit):
    run_on_commit(client.post, f"/p/{workspace.slug}/signin/", {"email": PARENT})
    path = "/" + link_from_outbox(PARENT).split("/", 3)[3]
    assert client.post(path).status_code == 302
    replay = Client()
    assert replay.get(path).status_code == 410
    assert replay.post(path).status_code == 410
    assert "Absence" not in _home(replay, workspace)


def test_an_expired_link_fails(client, workspace, school, run_on_commit):
    run_on_commit(client.post, f"/p/{workspace.slug}/signin/", {"email": PARENT})
    path = "/" + link_from_outbox(PARENT).split("/", 3)[3]
    SignInLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    assert not PortalSession.objects.exists()


def test_a_link_of_workspace_a_fails_on_b(client, workspace, school, charlie, run_on_commit):
    other = charlie.memberships.get().workspace
    from inbox.mail.mailboxes import mailbox_create

    mailbox_create(workspace=other, address="contact@agence-ouest.fr")
    portal_enable(workspace=other)
    run_on_commit(client.post, f"/p/{workspace.slug}/signin/", {"email": PARENT})
    secret = link_from_outbox(PARENT).rstrip("/").rsplit("/", 1)[1]
    assert client.post(f"/p/{other.slug}/signin/{secret}/").status_code == 410
    assert not PortalSession.objects.exists()
    # And a session cookie of A means nothing on B.
    assert client.post(f"/p/{workspace.slug}/signin/{secret}/").status_code == 302
    cookie = client.cookies[f"trupeo_portal_{workspace.pk}"].value
    intruder = Client()
    intruder.cookies[f"trupeo_portal_{other.pk}"] = cookie
    assert 'name="email"' in _home(intruder, other)


def test_a_forged_session_cookie_is_nobody(client, workspace, school):
    client.cookies[f"trupeo_portal_{workspace.pk}"] = "forged-" + "x" * 40
    assert 'name="email"' in _home(client, workspace)
    assert client.get(f"/p/{workspace.slug}/c/{school['absence'].pk}/").status_code == 404


def test_no_enumeration_known_and_unknown_get_the_same_answer(
    client, workspace, school, run_on_commit
):
    known = run_on_commit(client.post, f"/p/{workspace.slug}/signin/", {"email": PARENT})
    unknown = run_on_commit(
        client.post, f"/p/{workspace.slug}/signin/", {"email": "inconnu@example.fr"}
    )
    assert known.status_code == unknown.status_code == 200

    def strip(response) -> str:  # the per-response CSRF token and CSP nonce aside
        page = response.content.decode().replace(str(response.context["csrf_token"]), "")
        return page.replace(str(response.context["csp_nonce"]), "")

    assert strip(known) == strip(unknown)
    # Only the known address gets mail, and nothing is kept of the unknown one.
    assert [m.to for m in outbox.outbox] == [[PARENT]]
    assert SignInLink.objects.count() == 1
    message = outbox.outbox[0]
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    # The secret is stored as its digest only.
    secret = link_from_outbox(PARENT).rstrip("/").rsplit("/", 1)[1]
    assert SignInLink.objects.get().token_hash == digest(secret)
    assert secret.encode() not in bytes(SignInLink.objects.get().address_sealed)


def test_rate_limits_per_address_and_per_ip(client, workspace, school, run_on_commit):
    for _ in range(5):
        assert (
            run_on_commit(
                client.post, f"/p/{workspace.slug}/signin/", {"email": PARENT}
            ).status_code
            == 200
        )
    assert client.post(f"/p/{workspace.slug}/signin/", {"email": PARENT}).status_code == 429
    # From another connection, the same address is still limited.
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    assert elsewhere.post(f"/p/{workspace.slug}/signin/", {"email": PARENT}).status_code == 429
    # Per IP: many addresses from one connection.
    codes = [
        elsewhere.post(f"/p/{workspace.slug}/signin/", {"email": f"x{n}@example.fr"}).status_code
        for n in range(25)
    ]
    assert codes[-1] == 429 and 200 in codes


def test_remember_me_and_revocation(workspace, school, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        laptop = sign_in(Client(), workspace, PARENT, remember=True)
        phone = sign_in(Client(), workspace, PARENT)
    cookie = laptop.cookies[f"trupeo_portal_{workspace.pk}"]
    assert int(cookie["max-age"]) == 30 * 24 * 3600
    assert cookie["path"] == f"/p/{workspace.slug}/"
    assert cookie["httponly"]
    assert not phone.cookies[f"trupeo_portal_{workspace.pk}"]["max-age"]
    page = phone.get(f"/p/{workspace.slug}/profile/").content.decode()
    remembered = PortalSession.objects.get(remember=True)
    assert f"/sessions/{remembered.pk}/revoke/" in page
    assert phone.post(f"/p/{workspace.slug}/sessions/{remembered.pk}/revoke/").status_code == 302
    assert 'name="email"' in _home(laptop, workspace)  # signed out there


def test_another_requesters_session_cannot_be_revoked(
    parent_client, workspace, school, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(Client(), workspace, OTHER)
    theirs = PortalSession.objects.get(
        revoked_at=None, pk__gt=PortalSession.objects.order_by("pk").first().pk
    )
    response = parent_client.post(f"/p/{workspace.slug}/sessions/{theirs.pk}/revoke/")
    assert response.status_code == 404
    assert PortalSession.objects.get(pk=theirs.pk).revoked_at is None


# --- Replying and opening requests ----------------------------------------------------------


def test_a_reply_enters_the_conversation_reopens_it_and_tells_the_assignee(
    parent_client, workspace, school, bob
):
    absence = school["absence"]
    from inbox.models import Follow, Notification

    Conversation.objects.filter(pk=absence.pk).update(status=Status.CLOSED, assignee=bob)
    Follow.objects.create(conversation=absence, user=bob)  # as assigning does
    response = parent_client.post(
        f"/p/{workspace.slug}/c/{absence.pk}/reply/", {"body": "Il revient lundi."}
    )
    assert response.status_code == 302
    reply = Message.objects.get(provider_key__startswith="portal:")
    assert reply.conversation_id == absence.pk and reply.direction == Direction.INBOUND
    assert reply.thread_reason in ("in_reply_to", "references")
    absence.refresh_from_db()
    assert absence.status == Status.OPEN
    assert Notification.objects.filter(conversation=absence, recipient=bob, kind="reply").exists()
    # Sealed and indexed like any mail: nothing in clear in the row.
    assert b"revient" not in bytes(reply.text_sealed)
    page = parent_client.get(f"/p/{workspace.slug}/c/{absence.pk}/").content.decode()
    assert "Il revient lundi." in page


def test_a_new_request_lands_in_the_chosen_mailbox(parent_client, workspace, school, box):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = parent_client.post(
        f"/p/{workspace.slug}/new/",
        {
            "subject": "Demande de certificat",
            "body": "Pouvez-vous m'envoyer un certificat ?",
            "files": SimpleUploadedFile("piece.pdf", b"%PDF-1.4 x", "application/pdf"),
        },
    )
    assert response.status_code == 302
    message = Message.objects.get(provider_key__startswith="portal:")
    assert message.mailbox_id == box.pk and message.conversation.message_count == 1
    assert message.attachments.count() == 1
    assert "Demande de certificat" in _home(parent_client, workspace)


def test_oversized_attachments_are_refused(parent_client, workspace, school):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("gros.bin", b"0" * (10 * 1024 * 1024 + 1))
    response = parent_client.post(
        f"/p/{workspace.slug}/new/", {"subject": "Gros", "body": "x", "files": big}
    )
    assert response.status_code == 400
    assert not Message.objects.filter(provider_key__startswith="portal:").exists()


def test_profile_name_is_sealed_and_used(parent_client, workspace, school):
    from portal.models import PortalProfile

    parent_client.post(f"/p/{workspace.slug}/profile/", {"name": "Claire Dupont"})
    assert b"Claire" not in bytes(PortalProfile.objects.get().name_sealed)
    assert "Claire Dupont" in parent_client.get(f"/p/{workspace.slug}/profile/").content.decode()


# --- Delegations ----------------------------------------------------------------------------


def test_a_read_only_delegate_sees_only_what_was_delegated_and_cannot_reply(
    workspace, school, alice, django_capture_on_commit_callbacks
):
    delegation_create(
        workspace=workspace,
        delegate="papa@famille.fr",
        target=PARENT,
        can_reply=False,
        created_by=alice,
    )
    with django_capture_on_commit_callbacks(execute=True):
        dad = sign_in(Client(), workspace, "papa@famille.fr")
    page = _home(dad, workspace)
    assert "Absence de Lucas" in page and "Inscription" not in page
    absence = school["absence"]
    page = dad.get(f"/p/{workspace.slug}/c/{absence.pk}/").content.decode()
    assert "Bien noté" in page and "Secret interne" not in page and 'name="body"' not in page
    response = dad.post(f"/p/{workspace.slug}/c/{absence.pk}/reply/", {"body": "Je réponds"})
    assert response.status_code == 403
    assert dad.get(f"/p/{workspace.slug}/c/{school['other'].pk}/").status_code == 404


def test_a_domain_delegate_may_reply_when_allowed(
    workspace, school, alice, django_capture_on_commit_callbacks
):
    delegation_create(
        workspace=workspace,
        delegate="direction@example.fr",
        target="@example.fr",
        can_reply=True,
        created_by=alice,
    )
    with django_capture_on_commit_callbacks(execute=True):
        manager = sign_in(Client(), workspace, "direction@example.fr")
    page = _home(manager, workspace)
    assert "Absence de Lucas" in page and "Inscription de Léa" in page and "Gagnez" not in page
    response = manager.post(
        f"/p/{workspace.slug}/c/{school['other'].pk}/reply/", {"body": "Je m'en occupe."}
    )
    assert response.status_code == 302


def test_a_revoked_delegation_shows_nothing(
    workspace, school, alice, alice_client, django_capture_on_commit_callbacks
):
    response = alice_client.post(
        "/settings/portal/delegations/",
        {"delegate": "papa@famille.fr", "target": PARENT},
    )
    assert response.status_code == 302
    from portal.models import Delegation

    delegation = Delegation.objects.get()
    assert b"papa" not in bytes(delegation.content_sealed)
    alice_client.post(f"/settings/portal/delegations/{delegation.pk}/revoke/")
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(f"/p/{workspace.slug}/signin/", {"email": "papa@famille.fr"})
    assert outbox.outbox == []  # nothing to see: no link is mailed


def test_only_admins_manage_the_portal(bob_client, charlie_client, workspace, school, alice):
    assert bob_client.get("/settings/portal/").status_code == 403
    assert (
        bob_client.post(
            "/settings/portal/delegations/", {"delegate": "x@example.fr", "target": PARENT}
        ).status_code
        == 403
    )
    delegation = delegation_create(
        workspace=workspace,
        delegate="papa@famille.fr",
        target=PARENT,
        can_reply=False,
        created_by=alice,
    )
    assert (
        charlie_client.post(f"/settings/portal/delegations/{delegation.pk}/revoke/").status_code
        == 404
    )


# --- Look: logo and colours -----------------------------------------------------------------


def test_colour_and_logo_injection_is_refused(alice_client, workspace, school, box):
    from django.core.files.uploadedfile import SimpleUploadedFile

    base = {"mailboxes": [box.pk], "intake_mailbox": box.pk, "remember_days": 30}
    for colour in ("red;}</style><script>alert(1)</script>", "#fff; background:url(x)", "#12345g"):
        response = alice_client.post("/settings/portal/", {**base, "accent_color": colour})
        assert response.status_code == 400
    svg = SimpleUploadedFile("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml")
    response = alice_client.post(
        "/settings/portal/", {**base, "accent_color": "#112233", "logo": svg}
    )
    assert response.status_code == 400
    png = SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png")
    response = alice_client.post(
        "/settings/portal/", {**base, "accent_color": "#112233", "logo": png}
    )
    assert response.status_code == 302
    page = Client().get(f"/p/{workspace.slug}/").content.decode()
    assert f"/p/{workspace.slug}/theme.css?v=112233" in page and "<style" not in page
    theme = Client().get(f"/p/{workspace.slug}/theme.css")
    assert theme["Content-Type"].startswith("text/css")
    assert "--portal-accent: #112233;" in theme.content.decode()
    logo = Client().get(f"/p/{workspace.slug}/logo/")
    assert logo["Content-Type"] == "image/png" and "sandbox" in logo["Content-Security-Policy"]
    # A value that got past the form some other way never reaches the page.
    PortalSettings.objects.update(accent_color="red;}</")  # 7 characters, as the column holds
    page = Client().get(f"/p/{workspace.slug}/").content.decode()
    theme = Client().get(f"/p/{workspace.slug}/theme.css").content.decode()
    assert "red;" not in page and "red;" not in theme and "--portal-accent: #2f5bd3;" in theme


def test_portal_pages_carry_no_audience_tag_and_are_not_cached(
    parent_client, workspace, school, settings
):
    settings.GTM_ID = "GTM-TEST123"
    settings.CLARITY_ID = "clarity123"
    for path in ("", "profile/", f"c/{school['absence'].pk}/", "new/"):
        response = parent_client.get(f"/p/{workspace.slug}/{path}")
        page = response.content.decode()
        assert "GTM-TEST123" not in page and "clarity" not in page.lower()
        assert "consent" not in page
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "same-origin"
        assert "googletagmanager" not in response.get("Content-Security-Policy", "")


def test_a_portal_not_enabled_is_a_404(client, workspace):
    assert client.get(f"/p/{workspace.slug}/").status_code == 404
    assert client.get("/p/nothing-here/").status_code == 404


# --- Their rights ---------------------------------------------------------------------------


def test_the_data_download_holds_their_messages_only(parent_client, workspace, school):
    response = parent_client.get(f"/p/{workspace.slug}/data/")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    emls = [archive.read(n) for n in archive.namelist() if n.endswith(".eml")]
    assert len(emls) == 2
    assert any(b"Bien not" in e for e in emls)
    assert not any(b"Secret interne" in e for e in emls)
    summary = json.loads(archive.read("summary.json"))
    assert summary["address"] == PARENT
    assert list(summary["conversations"]) == [f"{school['absence'].pk:06d}"]


def test_erasure_request_reaches_admins_and_the_requester_is_told(
    parent_client,
    workspace,
    school,
    django_capture_on_commit_callbacks,
    alice_client,
    bob_client,
    charlie_client,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = parent_client.post(f"/p/{workspace.slug}/erasure/")
    assert response.status_code == 302
    request = GdprRequest.objects.get()
    assert request.workspace_id == workspace.pk and request.right == "erasure"
    assert ErasureRequest.objects.get().gdpr_request_id == request.pk
    assert any("alice@lycee-verne.fr" in m.to for m in outbox.outbox)
    # Twice is once.
    parent_client.post(f"/p/{workspace.slug}/erasure/")
    assert GdprRequest.objects.count() == 1
    outbox.outbox.clear()
    # The workspace's admins answer it (bob, an agent, may not; charlie's workspace gets a 404).
    erasure = ErasureRequest.objects.get()
    url = f"/settings/portal/erasures/{erasure.pk}/answer/"
    assert bob_client.post(url, {"answer": "non"}).status_code == 403
    assert charlie_client.post(url, {"answer": "non"}).status_code == 404
    assert PARENT in alice_client.get("/settings/portal/").content.decode()
    response = alice_client.post(url, {"answer": "Vos données sont effacées."})
    assert response.status_code == 302
    assert GdprRequest.objects.get().status == RequestStatus.ANSWERED
    assert erasures_follow() == 1
    (told,) = outbox.outbox
    assert told.to == [PARENT] and "effacées" in told.body
    assert told.extra_headers["Auto-Submitted"] == "auto-generated"
    assert erasures_follow() == 0  # told once


def test_portal_enable_command(workspace, box):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from inbox.mail.mailboxes import mailbox_create

    second = mailbox_create(workspace=workspace, address="direction@lycee-verne.fr")
    out = StringIO()
    call_command("portal_enable", workspace.slug, "--mailbox", second.address, stdout=out)
    assert f"/p/{workspace.slug}/" in out.getvalue()
    row = PortalSettings.objects.get(workspace=workspace)
    assert set(row.mailboxes.all()) == {box, second}
    with pytest.raises(CommandError):
        call_command("portal_enable", "nope")
    with pytest.raises(CommandError):
        call_command("portal_enable", workspace.slug, "--mailbox", "x@nowhere.fr")


def test_the_list_costs_the_same_queries_for_few_or_many_conversations(
    parent_client, workspace, school, box
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            _home(parent_client, workspace)
        return len(queries)

    few = count()
    ingest(
        box,
        [
            mail(sender=PARENT, to=BOX, subject=f"Demande {n}", message_id=f"m{n}@example.fr")
            for n in range(8)
        ],
        key="more",
    )
    assert "Demande 7" in _home(parent_client, workspace)
    assert count() == few


def test_turnstile_guards_the_sign_in_when_configured(client, workspace, school, turnstile):
    page = client.get(f"/p/{workspace.slug}/")
    assert "challenges.cloudflare.com" in page["Content-Security-Policy"]
    assert 'class="cf-turnstile"' in page.content.decode()
    refused = client.post(f"/p/{workspace.slug}/signin/", {"email": PARENT})
    assert refused.status_code == 400 and not SignInLink.objects.exists()
    token = turnstile.issue_token()
    with TestCase.captureOnCommitCallbacks(execute=True):
        passed = client.post(
            f"/p/{workspace.slug}/signin/", {"email": PARENT, "cf-turnstile-response": token}
        )
    assert passed.status_code == 200 and [m.to for m in outbox.outbox] == [[PARENT]]
    # A solved challenge is spent once.
    again = client.post(
        f"/p/{workspace.slug}/signin/", {"email": PARENT, "cf-turnstile-response": token}
    )
    assert again.status_code == 400


def test_nothing_of_the_requester_is_in_clear_in_the_database(
    parent_client, workspace, school, alice, django_capture_on_commit_callbacks
):
    from django.db import connection

    parent_client.post(f"/p/{workspace.slug}/profile/", {"name": "Claire Dupont"})
    parent_client.post(
        f"/p/{workspace.slug}/c/{school['absence'].pk}/reply/", {"body": "Il revient lundi."}
    )
    delegation_create(
        workspace=workspace,
        delegate="papa@famille.fr",
        target=PARENT,
        can_reply=False,
        created_by=alice,
    )
    with django_capture_on_commit_callbacks(execute=True):
        parent_client.post(f"/p/{workspace.slug}/erasure/")
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                chunks += [
                    bytes(v) if isinstance(v, memoryview | bytes) else str(v).encode()
                    for v in row
                    if v is not None
                ]
    everything = b"\n".join(chunks)
    for needle in (PARENT, "Claire Dupont", "papa@famille.fr", "Il revient lundi"):
        assert needle.encode() not in everything, needle


def test_the_workspaces_own_address_never_signs_in_nor_widens_a_delegation(
    workspace, school, alice_client
):
    """The shared address is in every conversation (To of what arrives, From of each answer):
    whoever reads its mail must not get every customer's conversations through the portal."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = Client().post(f"/p/{workspace.slug}/signin/", {"email": BOX.upper()})
    assert response.status_code == 200  # the same answer as for anyone
    assert not [m for m in outbox.outbox if BOX in m.to]  # but no link is mailed
    assert not SignInLink.objects.exists()
    # A delegation to the shared address, or of it, is refused; a domain delegation that
    # covers it shows only what the domain's own people wrote or received.
    for data in ({"delegate": BOX, "target": PARENT}, {"delegate": PARENT, "target": BOX}):
        response = alice_client.post("/settings/portal/delegations/", data)
        assert response.status_code == 400
        assert "adresses de l’espace" in response.content.decode()
    delegation_create(
        workspace=workspace,
        delegate=OTHER,
        target="@lycee-verne.fr",
        can_reply=False,
        created_by=None,
    )
    page = sign_in(Client(), workspace, OTHER).get(f"/p/{workspace.slug}/").content.decode()
    assert "Inscription de Léa" in page  # their own
    assert "Absence de Lucas" in page  # through the teacher (@lycee-verne.fr) in To
    conversation = school["absence"]
    messages = (
        sign_in(Client(), workspace, OTHER)
        .get(f"/p/{workspace.slug}/c/{conversation.pk}/")
        .content.decode()
    )
    assert "Lucas est souvent absent" in messages  # the message to the teacher
    assert "Bien noté, merci." not in messages  # to the parent, only From the shared address


def test_replies_and_new_requests_are_limited_per_requester(
    parent_client, workspace, school, monkeypatch
):
    from portal import limits

    monkeypatch.setattr(limits, "WRITES", (2, 3600))
    absence = school["absence"]
    path = f"/p/{workspace.slug}/c/{absence.pk}/reply/"
    for n in range(2):
        assert parent_client.post(path, {"body": f"Précision {n}"}).status_code == 302
    refused = parent_client.post(path, {"body": "Encore une"})
    assert refused.status_code == 429 and "Réessayez plus tard" in refused.content.decode()
    assert Message.objects.filter(provider_key__startswith="portal:").count() == 2
