"""Staff hear of GDPR requests when they arrive and of breach deadlines as they approach; an
alert counts as sent only when the mail went out to someone (else the next beat retries)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from privacy import tasks
from privacy.gdpr.breaches import breach_alerts_send
from privacy.gdpr.request_alerts import (
    gdpr_reminders_send,
    gdpr_request_tell_staff,
    gdpr_requests_tell_staff,
)
from privacy.gdpr.requests import gdpr_request_create
from privacy.models import Breach, EventKind, GdprRequest, Right
from privacy.site.submissions import contact_submit
from tests.parts import free_loopback_port


@pytest.fixture
def queued(monkeypatch):
    """What a request's arrival queues for Celery on commit (the task itself runs in the test)."""
    ids: list[int] = []

    def enqueue_on_commit(task, pk):
        assert task is tasks.tell_staff_of_gdpr_request
        ids.append(pk)

    monkeypatch.setattr("privacy.gdpr.requests.enqueue_on_commit", enqueue_on_commit)
    return ids


@pytest.fixture
def mail_server_down(settings):
    """A real SMTP connection to a loopback port where nothing listens."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_loopback_port(), "timeout": 2},
        }
    }


def test_staff_are_emailed_when_a_request_arrives_through_the_contact_form(
    db, staff, queued, settings
):
    settings.TRUPEO_STAFF_EMAILS = ["dpo-partage@trupeo.fr"]
    contact_submit(
        name="Jean Dupont",
        email="jean.dupont@example.fr",
        subject="gdpr",
        gdpr_right=Right.ERASURE,
        message="Effacez mes données.",
        language="fr",
    )
    request = GdprRequest.objects.get()
    assert queued == [request.pk]  # queued on commit, not left for the D-7 reminder

    assert gdpr_request_tell_staff(request_id=request.pk) is True
    [sent] = [m for m in mail.outbox if "dpo@trupeo.fr" in m.to]
    assert sorted(sent.to) == ["dpo-partage@trupeo.fr", "dpo@trupeo.fr"]
    assert f"n° {request.pk}" in sent.subject  # staff mail is in French, the default
    assert f"/admin/privacy/gdprrequest/{request.pk}/change/" in sent.body
    assert "dupont" not in (sent.subject + sent.body).lower()  # no personal data by mail
    request.refresh_from_db()
    assert request.staff_told_at is not None
    assert request.events.filter(kind=EventKind.STAFF_TOLD).count() == 1

    assert gdpr_request_tell_staff(request_id=request.pk) is False  # never twice
    assert gdpr_requests_tell_staff() == 0
    assert len([m for m in mail.outbox if "dpo@trupeo.fr" in m.to]) == 1


def test_a_request_typed_into_the_admin_is_announced_too(staff_client, staff, workspace, queued):
    staff_client.post(
        reverse("admin:privacy_gdprrequest_add"),
        {
            "right": Right.ACCESS,
            "requester_name": "Paul Tard",
            "requester_email": "tard@example.fr",
            "workspace": workspace.pk,
            "received_at_0": timezone.localtime().strftime("%d/%m/%Y"),
            "received_at_1": "09:00:00",
            "status": "received",
            "identity": "pending",
        },
    )
    assert queued == [GdprRequest.objects.get().pk]


def test_with_no_staff_address_the_arrival_is_not_marked_and_is_retried(db, queued, caplog):
    request = gdpr_request_create(right=Right.ACCESS, email="a@example.fr")
    assert gdpr_request_tell_staff(request_id=request.pk) is False
    request.refresh_from_db()
    assert request.staff_told_at is None and mail.outbox == []
    assert "no staff address" in caplog.text

    from tests.factories import UserFactory

    UserFactory(email="dpo@trupeo.fr", is_staff=True)
    assert gdpr_requests_tell_staff() == 1  # the next beat run
    assert len(mail.outbox) == 1
    request.refresh_from_db()
    assert request.staff_told_at is not None


def test_a_failing_mail_server_leaves_the_arrival_to_retry(db, staff, queued, mail_server_down):
    request = gdpr_request_create(right=Right.ACCESS, email="a@example.fr")
    assert gdpr_request_tell_staff(request_id=request.pk) is False
    request.refresh_from_db()
    assert request.staff_told_at is None
    assert not request.events.filter(kind=EventKind.STAFF_TOLD).exists()


def _due_in(request: GdprRequest, delta: timedelta) -> None:
    GdprRequest.objects.filter(pk=request.pk).update(due_at=timezone.now() + delta)


def test_a_reminder_with_nobody_to_receive_it_is_not_marked_sent(db, queued, caplog):
    request = gdpr_request_create(right=Right.ERASURE, email="a@example.fr")
    _due_in(request, timedelta(days=6))
    assert gdpr_reminders_send() == 0
    request.refresh_from_db()
    assert request.reminded_d7_at is None  # it used to be marked sent to nobody
    assert not request.events.filter(kind=EventKind.REMINDER).exists()

    from tests.factories import UserFactory

    UserFactory(email="dpo@trupeo.fr", is_staff=True)
    assert gdpr_reminders_send() == 1
    assert gdpr_reminders_send() == 0  # marked once it went out, never sent twice
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dpo@trupeo.fr"]
    request.refresh_from_db()
    assert request.reminded_d7_at is not None


def test_a_reminder_the_mail_server_refused_is_retried(db, staff, queued, mail_server_down):
    request = gdpr_request_create(right=Right.ERASURE, email="a@example.fr")
    _due_in(request, timedelta(days=1))
    assert gdpr_reminders_send() == 0
    request.refresh_from_db()
    assert request.reminded_d2_at is None
    assert not request.events.filter(kind=EventKind.REMINDER).exists()


def test_inactive_staff_and_empty_addresses_are_nobody(db, queued):
    from tests.factories import UserFactory

    UserFactory(email="ancien@trupeo.fr", is_staff=True, is_active=False)
    UserFactory(email="agent@client.fr")  # not staff
    request = gdpr_request_create(right=Right.ACCESS, email="a@example.fr")
    assert gdpr_request_tell_staff(request_id=request.pk) is False
    assert mail.outbox == []


# --- the breach register's 72-hour clock -----------------------------------------------------


def _breach(detected_hours_ago: float, **fields) -> Breach:
    return Breach.objects.create(
        detected_at=timezone.now() - timedelta(hours=detected_hours_ago),
        nature="Ordinateur portable volé",
        data_concerned="Adresses électroniques",
        people_concerned="40 élèves",
        consequences="Hameçonnage",
        measures="Mots de passe changés",
        **fields,
    )


def test_breach_alerts_at_48_24_and_6_hours_then_late_each_once(db, staff):
    breach = _breach(20)  # 52 h left: nothing yet
    assert breach_alerts_send() == 0

    for hours_ago, field, words in [
        (24.5, "alerted_48h_at", "47 h"),
        (48.5, "alerted_24h_at", "23 h"),
        (66.5, "alerted_6h_at", "5 h"),
        (73, "alerted_late_at", "dépassé"),
    ]:
        Breach.objects.filter(pk=breach.pk).update(
            detected_at=timezone.now() - timedelta(hours=hours_ago)
        )
        assert breach_alerts_send() == 1, field
        assert breach_alerts_send() == 0, field  # each alert once
        breach.refresh_from_db()
        assert getattr(breach, field) is not None
        assert words in mail.outbox[-1].subject
        assert mail.outbox[-1].to == [staff.email]
        assert f"/admin/privacy/breach/{breach.pk}/change/" in mail.outbox[-1].body
    assert len(mail.outbox) == 4


def test_a_breach_registered_late_gets_only_the_alert_that_applies(db, staff):
    breach = _breach(69.5)  # 2.5 h left: the 48 h and 24 h alerts are passed over
    assert breach_alerts_send() == 1
    assert len(mail.outbox) == 1 and "2 h" in mail.outbox[0].subject
    breach.refresh_from_db()
    assert breach.alerted_48h_at and breach.alerted_24h_at and breach.alerted_6h_at
    assert breach.alerted_late_at is None


def test_decided_breaches_raise_no_alert(db, staff):
    _breach(70, cnil_notified_at=timezone.now())
    _breach(70, no_notification_reason="Données chiffrées, clé non compromise.")
    assert breach_alerts_send() == 0 and mail.outbox == []


def test_a_breach_alert_nobody_received_is_retried(db, mail_server_down):
    from tests.factories import UserFactory

    breach = _breach(50)
    assert breach_alerts_send() == 0  # no staff at all
    UserFactory(email="dpo@trupeo.fr", is_staff=True)
    assert breach_alerts_send() == 0  # the mail server is down
    breach.refresh_from_db()
    assert breach.alerted_24h_at is None and breach.alerted_48h_at is None  # nothing marked


@pytest.mark.django_db(transaction=True)
def test_a_reminder_being_sent_by_another_worker_is_not_sent_again(staff, queued):
    """Another worker holds the row while its mail goes out: this beat run passes it over."""
    import threading

    from django.db import connection, connections, transaction

    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("row locks need PostgreSQL (CI runs this on it)")
    request = gdpr_request_create(right=Right.ERASURE, email="a@example.fr")
    _due_in(request, timedelta(days=1))
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        with transaction.atomic():
            GdprRequest.objects.select_for_update().get(pk=request.pk)
            locked.set()
            release.wait(10)
        connections.close_all()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert locked.wait(10)
        assert gdpr_reminders_send() == 0  # skipped, not waited for, not sent
        assert mail.outbox == []
    finally:
        release.set()
        worker.join()
    assert gdpr_reminders_send() == 1
    assert gdpr_reminders_send() == 0
    assert len(mail.outbox) == 1


def test_the_register_shows_which_alerts_went_out(staff_client, staff):
    breach = _breach(50)
    assert breach_alerts_send() == 1
    page = staff_client.get(reverse("admin:privacy_breach_change", args=[breach.pk]))
    assert page.status_code == 200
    assert "24 h · " in page.content.decode()
