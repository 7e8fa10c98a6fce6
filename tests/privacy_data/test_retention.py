"""Retention per category: closed_at kept by the status, a policy previewed by counts and
confirmed by the owner only, applied by the nightly task on moto S3 (objects first, then rows),
in batches that resume, consistent after a crash between objects and rows, another workspace
untouched, receipts downloadable, invoices never deleted, reports' tables never cascaded."""

import csv
import io
import uuid
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from billing.models import Invoice
from inbox.actions.triage import conversation_set_status
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Attachment, Conversation, Message, Status
from privacy.gdpr import retention_run as run_module
from privacy.gdpr.retention import security_log_purge
from privacy.gdpr.retention_policies import defaults, policy_confirm, policy_preview
from privacy.gdpr.retention_run import retention_run
from privacy.models import (
    DataExport,
    DeletionReceipt,
    RetentionPolicy,
    SecurityEvent,
    SecurityEventKind,
)
from tests.factories import UserFactory, add_member
from tests.privacy_data.conftest import ingest
from tests.privacy_data.conftest import mail as make_mail
from tests.privacy_data.test_workspace_export import invoice
from tests.sync_worker import s3_bucket_use
from trupeo import retention as registry
from trupeo.celery import app
from trupeo.storage import object_store, object_stores_forget, workspace_prefix

YEAR = 365
PDF = b"%PDF-1.4 certificat"


@pytest.fixture
def s3(s3_server, settings):
    s3_bucket_use(settings, s3_server, f"trupeo-retention-{uuid.uuid4().hex[:12]}")
    yield object_store()
    object_stores_forget()


def _fill(workspace, address: str, count: int, tag: str) -> list[Conversation]:
    mailbox = mailbox_create(workspace=workspace, address=address)
    ingest(
        mailbox,
        [
            make_mail(
                sender=f"parent{n}@example.fr",
                to=address,
                subject=f"Absence {tag} {n}",
                message_id=f"{tag}-{n}@example.fr",
                attachment=PDF,
            )
            for n in range(count)
        ],
    )
    return list(Conversation.objects.filter(mailbox=mailbox).order_by("id"))


def _close(conversations, *, days_ago: int) -> None:
    Conversation.objects.filter(pk__in=[c.pk for c in conversations]).update(
        status=Status.CLOSED, closed_at=timezone.now() - timedelta(days=days_ago)
    )


def _keys(conversations) -> set[str]:
    ids = [c.pk for c in conversations]
    keys = set(Message.objects.filter(conversation_id__in=ids).values_list("raw_object", flat=True))
    keys |= set(
        Attachment.objects.filter(message__conversation_id__in=ids).values_list(
            "object_key", flat=True
        )
    )
    return {k for k in keys if k}


def _policy(workspace, user, **days):
    return policy_confirm(workspace=workspace, days=defaults() | days, actor=user)


def _form(**days) -> dict:
    values = {k: ("never" if v is None else v) for k, v in (defaults() | days).items()}
    return {k: str(v) for k, v in values.items()}


# ------------------------------------------------------------------------------ closed_at


def test_closed_at_follows_the_status(workspace, alice):
    conversation = _fill(workspace, "scolarite@lycee-verne.fr", 1, "s")[0]
    # Mail from months ago arrives as history: closed at its date.
    assert (conversation.status, conversation.closed_at) == (
        Status.CLOSED,
        conversation.last_message_at,
    )
    conversation_set_status(conversation=conversation, status=Status.OPEN, actor=alice)
    conversation.refresh_from_db()
    assert conversation.closed_at is None
    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    conversation.refresh_from_db()
    assert timezone.now() - conversation.closed_at < timedelta(minutes=1)
    conversation_set_status(conversation=conversation, status=Status.OPEN, actor=alice)
    conversation.refresh_from_db()
    assert conversation.closed_at is None


def _today(raw: bytes) -> bytes:
    """The conftest's mail is dated months ago (history); these must be live mail."""
    return raw.replace(
        b"Date: Mon, 02 Mar 2026 09:00:00 +0100",
        f"Date: {format_datetime(timezone.now())}".encode(),
    )


def test_a_customer_writing_again_clears_closed_at(workspace, alice):
    mailbox = mailbox_create(workspace=workspace, address="vie@lycee-verne.fr")
    first = make_mail(
        sender="p@example.fr", to="vie@lycee-verne.fr", subject="Sortie", message_id="a@x.fr"
    )
    ingest(mailbox, [_today(first)])
    conversation = Conversation.objects.get(mailbox=mailbox)
    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    again = make_mail(
        sender="p@example.fr",
        to="vie@lycee-verne.fr",
        subject="Re: Sortie",
        message_id="b@x.fr",
        in_reply_to="a@x.fr",
    )
    ingest(mailbox, [_today(again)], start=2)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.closed_at) == (Status.OPEN, None)


# ------------------------------------------------------------------------ screen and roles


def test_the_owner_previews_by_counts_then_confirms(workspace, alice, alice_client):
    conversations = _fill(workspace, "scolarite@lycee-verne.fr", 5, "p")
    _close(conversations[:3], days_ago=4 * YEAR)
    _close(conversations[3:4], days_ago=YEAR)  # closed, but not long enough
    old = SecurityEvent.objects.create(kind=SecurityEventKind.LOGIN, user=alice)
    SecurityEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=500))
    DataExport.objects.create(workspace=workspace, kind="workspace", state="ready")
    DataExport.objects.filter(workspace=workspace).update(
        created_at=timezone.now() - timedelta(days=3)
    )

    page = alice_client.get(reverse("privacy_retention"))
    assert page.status_code == 200
    assert "10" in page.content.decode()  # invoices, shown and not editable

    days = {"closed_conversations": 3 * YEAR, "exports": 2}
    response = alice_client.post(reverse("privacy_retention_preview"), _form(**days))
    assert response.status_code == 200
    counts = {row[0].key: row[2] for row in response.context["rows"]}
    assert counts == {
        "closed_conversations": 3,
        "auth_logs": 0,
        "security_logs": 1,
        "contacts": 0,
        "exports": 1,
    }
    assert not RetentionPolicy.objects.exists()  # a preview changes nothing

    response = alice_client.post(reverse("privacy_retention_confirm"), _form(**days))
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get(workspace=workspace)
    assert (policy.closed_conversations_days, policy.confirmed_by) == (3 * YEAR, alice)
    # It applies from the next run: nothing is gone yet.
    assert Conversation.objects.filter(workspace=workspace).count() == 5


def test_the_preview_never_decrypts(workspace, alice, monkeypatch):
    from trupeo import crypto

    _close(_fill(workspace, "scolarite@lycee-verne.fr", 2, "d"), days_ago=4 * YEAR)

    def refuse(*args, **kwargs):
        raise AssertionError("the preview decrypted something")

    monkeypatch.setattr(crypto.WorkspaceKeys, "open", refuse, raising=False)
    monkeypatch.setattr(crypto.WorkspaceKeys, "open_text", refuse, raising=False)
    counts = policy_preview(
        workspace_id=workspace.pk, days=defaults() | {"closed_conversations": YEAR}
    )
    assert counts["closed_conversations"] == 2


def test_bounds_are_enforced(workspace, alice_client):
    below = _form(security_logs=30)  # under the legal year
    response = alice_client.post(reverse("privacy_retention_preview"), below)
    assert response.status_code == 400
    never = _form(exports="never")
    assert alice_client.post(reverse("privacy_retention_confirm"), never).status_code == 400
    assert not RetentionPolicy.objects.exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AGENT])
def test_only_the_owner(workspace, alice, client, role):
    other = UserFactory(email=f"{role}@lycee-verne.fr")
    add_member(workspace, other, role=role)
    receipt = DeletionReceipt.objects.create(workspace=workspace, counts={})
    client.force_login(other)
    for name in ("privacy_retention", "privacy_retention_preview", "privacy_retention_confirm"):
        assert client.get(reverse(name)).status_code == 403
        assert client.post(reverse(name), _form(closed_conversations=YEAR)).status_code == 403
    url = reverse("privacy_retention_receipt", args=[receipt.pk])
    assert client.get(url).status_code == 403
    assert not RetentionPolicy.objects.exists()


# ------------------------------------------------------------------------------ the run


def test_the_nightly_task_deletes_objects_then_rows_in_this_workspace_only(
    s3, eager, workspace, alice, charlie, alice_client, django_capture_on_commit_callbacks
):
    ours = _fill(workspace, "scolarite@lycee-verne.fr", 4, "a")
    theirs_ws = charlie.memberships.get().workspace
    theirs = _fill(theirs_ws, "contact@agence-ouest.fr", 4, "c")
    _close(ours[:3], days_ago=4 * YEAR)
    _close(theirs[:3], days_ago=4 * YEAR)
    invoice(workspace, "F-2020-0001")
    Invoice.objects.update(issued_at=timezone.now() - timedelta(days=9 * YEAR))
    gone, kept = _keys(ours[:3]), _keys(ours[3:])
    assert gone and all(s3.exists(k) for k in gone)
    # The same policy in both workspaces: each run touches only its own.
    _policy(workspace, alice, closed_conversations=3 * YEAR)
    _policy(theirs_ws, charlie, closed_conversations=3 * YEAR)
    theirs_keys = _keys(theirs)

    with django_capture_on_commit_callbacks(execute=True):
        app.tasks["privacy.tasks.queue_retention_runs"].run()

    assert list(Conversation.objects.filter(workspace=workspace)) == ours[3:]
    assert not any(s3.exists(k) for k in gone)
    assert all(s3.exists(k) for k in kept)
    assert Invoice.objects.count() == 1  # ten years, whatever the settings
    # Charlie's workspace ran its own policy, on its own rows.
    assert Conversation.objects.filter(workspace=theirs_ws).count() == 1
    assert not any(s3.exists(k) for k in _keys(theirs[:3]) & theirs_keys)

    receipt = DeletionReceipt.objects.get(workspace=workspace)
    assert receipt.complete
    assert receipt.counts["closed_conversations"] == 3
    assert receipt.counts["messages"] == 3
    assert receipt.counts["attachments"] == 3
    assert receipt.counts["stored_objects"] == len(gone)
    assert receipt.policy_days["closed_conversations"] == 3 * YEAR

    # Downloadable by the owner, without content or addresses.
    response = alice_client.get(reverse("privacy_retention_receipt", args=[receipt.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert any(row and row[-1] == "3" for row in rows)
    assert "@" not in body and "Absence" not in body
    # Charlie's receipt is a 404 for Alice.
    other = DeletionReceipt.objects.get(workspace=theirs_ws)
    assert (
        alice_client.get(reverse("privacy_retention_receipt", args=[other.pk])).status_code == 404
    )
    # The page lists it.
    assert reverse("privacy_retention_receipt", args=[receipt.pk]) in (
        alice_client.get(reverse("privacy_retention")).content.decode()
    )


def test_without_a_confirmed_policy_nothing_is_deleted(workspace, alice):
    _close(_fill(workspace, "scolarite@lycee-verne.fr", 2, "n"), days_ago=20 * YEAR)
    assert retention_run(workspace_id=workspace.pk) is None
    assert Conversation.objects.filter(workspace=workspace).count() == 2


def test_a_limited_run_does_its_share_and_the_next_resumes(s3, workspace, alice):
    conversations = _fill(workspace, "scolarite@lycee-verne.fr", 7, "b")
    _close(conversations, days_ago=2 * YEAR)
    _policy(workspace, alice, closed_conversations=YEAR)

    first = retention_run(workspace_id=workspace.pk, limit=3, batch=2)
    assert first.counts["closed_conversations"] == 3 and not first.complete
    assert Conversation.objects.filter(workspace=workspace).count() == 4
    second = retention_run(workspace_id=workspace.pk, limit=3, batch=2)
    assert second.counts["closed_conversations"] == 3 and not second.complete
    third = retention_run(workspace_id=workspace.pk, limit=3, batch=2)
    assert third.counts["closed_conversations"] == 1 and third.complete
    assert not Conversation.objects.filter(workspace=workspace).exists()
    assert not set(s3.iter_keys(workspace_prefix(workspace.pk))) & _keys(conversations)


def test_a_crash_between_objects_and_rows_is_finished_by_the_next_run(
    s3, workspace, alice, monkeypatch
):
    conversations = _fill(workspace, "scolarite@lycee-verne.fr", 3, "k")
    _close(conversations, days_ago=2 * YEAR)
    keys = _keys(conversations)
    _policy(workspace, alice, closed_conversations=YEAR)

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(run_module, "conversations_rows_delete", crash)
    with pytest.raises(RuntimeError):
        retention_run(workspace_id=workspace.pk)
    # Objects gone first; rows still there; the receipt counts nothing it did not delete.
    assert not any(s3.exists(k) for k in keys)
    assert Conversation.objects.filter(workspace=workspace).count() == 3
    assert DeletionReceipt.objects.get().total == 0
    # No object is left that no row names.
    referenced = _keys(Conversation.objects.filter(workspace=workspace))
    assert set(s3.iter_keys(workspace_prefix(workspace.pk))) <= referenced

    monkeypatch.undo()
    receipt = retention_run(workspace_id=workspace.pk)
    assert receipt.complete and receipt.counts["closed_conversations"] == 3
    assert not Conversation.objects.filter(workspace=workspace).exists()


def test_a_reopened_conversation_is_kept(s3, workspace, alice):
    conversations = _fill(workspace, "scolarite@lycee-verne.fr", 2, "r")
    _close(conversations, days_ago=2 * YEAR)
    _policy(workspace, alice, closed_conversations=YEAR)
    conversation_set_status(conversation=conversations[0], status=Status.OPEN, actor=alice)
    receipt = retention_run(workspace_id=workspace.pk)
    assert receipt.counts["closed_conversations"] == 1
    assert list(Conversation.objects.filter(workspace=workspace)) == [conversations[0]]


def test_exports_go_objects_first(s3, workspace, alice):
    from privacy.gdpr.export_archive import export_build

    export = DataExport.objects.create(workspace=workspace, kind="workspace")
    export_build(export_id=export.pk)
    export.refresh_from_db()
    key = export.object_key
    assert s3.exists(key)
    DataExport.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(days=3))
    _policy(workspace, alice, exports=2)
    receipt = retention_run(workspace_id=workspace.pk)
    assert receipt.counts["exports"] == 1
    assert not s3.exists(key)
    export.refresh_from_db()
    assert (export.state, export.object_key) == ("expired", "")


# ----------------------------------------------------------------------------- security log


def test_the_security_log_goes_only_when_every_workspace_allows_it(workspace, alice, charlie):
    # Alice is also in Charlie's workspace, which keeps the log two years.
    theirs = charlie.memberships.get().workspace
    add_member(theirs, alice)
    old = SecurityEvent.objects.create(kind=SecurityEventKind.LOGIN, user=alice)
    SecurityEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=400))
    _policy(workspace, alice, security_logs=YEAR)
    _policy(theirs, charlie, security_logs=2 * YEAR)
    assert retention_run(workspace_id=workspace.pk).counts["security_logs"] == 0
    assert security_log_purge() == 0  # the platform purge keeps it too
    assert SecurityEvent.objects.filter(pk=old.pk).exists()
    SecurityEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=800))
    assert retention_run(workspace_id=theirs.pk).counts["security_logs"] == 1


# ----------------------------------------------------------------- other apps' categories


def test_registered_purgers_run_in_batches(workspace, alice):
    rows = {"left": 5}
    calls = []

    def count(workspace_id, before):
        return rows["left"] if workspace_id == workspace.pk else 0

    def purge(workspace_id, before, limit):
        calls.append(limit)
        taken = min(limit, rows["left"]) if workspace_id == workspace.pk else 0
        rows["left"] -= taken
        return taken

    purger = registry.Purger(name="tests.sessions", count=count, purge=purge)
    registry.purger_register(registry.AUTH_LOGS, purger)
    try:
        assert policy_preview(workspace_id=workspace.pk, days=defaults())["auth_logs"] == 5
        _policy(workspace, alice)
        first = retention_run(workspace_id=workspace.pk, limit=3, batch=2)
        assert first.counts["auth_logs"] == 3 and not first.complete
        assert calls == [2, 1]
        second = retention_run(workspace_id=workspace.pk)
        assert second.counts["auth_logs"] == 2 and second.complete
    finally:
        registry.purger_unregister(registry.AUTH_LOGS, "tests.sessions")
    with pytest.raises(ValueError):
        registry.purger_register("invoices", purger)


# ------------------------------------------------------------------------------- reports


def test_no_reports_table_cascades_from_a_conversation():
    """Reports keep their anonymous counts and durations when conversations are deleted:
    their tables hold no foreign key that would cascade from a conversation or a message."""
    for model in apps.get_models():
        if model._meta.app_label != "reports":
            continue
        for field in model._meta.get_fields():
            if getattr(field, "related_model", None) in (Conversation, Message):
                on_delete = getattr(field.remote_field, "on_delete", None)
                assert on_delete is not models.CASCADE, f"{model._meta.label}.{field.name}"


def test_the_dpo_downloads_a_receipt_from_the_admin(workspace, staff_client):
    receipt = DeletionReceipt.objects.create(
        workspace=workspace,
        counts={"closed_conversations": 4},
        policy_days={"closed_conversations": 3 * YEAR},
    )
    response = staff_client.post(
        reverse("admin:privacy_deletionreceipt_changelist"),
        {"action": "download_csv", "_selected_action": [receipt.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "1095,4" in response.content.decode()


def test_the_preview_costs_the_same_queries_whatever_the_size(workspace, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    days = defaults() | {"closed_conversations": YEAR, "contacts": YEAR}
    _close(_fill(workspace, "a@lycee-verne.fr", 2, "q1"), days_ago=2 * YEAR)
    with CaptureQueriesContext(connection) as small:
        policy_preview(workspace_id=workspace.pk, days=days)
    _close(_fill(workspace, "b@lycee-verne.fr", 8, "q2"), days_ago=2 * YEAR)
    with CaptureQueriesContext(connection) as large:
        counts = policy_preview(workspace_id=workspace.pk, days=days)
    assert counts["closed_conversations"] == 10
    assert len(large.captured_queries) == len(small.captured_queries)
    assert all("COUNT" in q["sql"].upper() for q in large.captured_queries if "inbox_" in q["sql"])
