"""GDPR requests: sealed requester, the contact form's signal, the append-only history and the
reminders to staff (each sent once)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from privacy.gdpr.request_alerts import gdpr_reminders_send
from privacy.gdpr.requesters import requester, requests_of
from privacy.gdpr.requests import gdpr_request_answer, gdpr_request_create
from privacy.models import (
    AppendOnly,
    EventKind,
    GdprRequest,
    RequestEvent,
    RequestStatus,
    Right,
)
from privacy.site.signals import contact_gdpr_request


@pytest.fixture
def gdpr(db):
    return gdpr_request_create(
        right=Right.ERASURE, email="Jean.Dupont@Example.fr", name="Jean Dupont"
    )


def test_the_requester_is_sealed_at_rest(gdpr):
    assert requester(gdpr) == ("Jean Dupont", "jean.dupont@example.fr")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM privacy_gdprrequest WHERE id = %s", [gdpr.pk])
        row = cursor.fetchone()
    dump = repr(row).lower()
    assert "dupont" not in dump and "example.fr" not in dump
    assert list(requests_of("JEAN.DUPONT@example.fr")) == [gdpr]
    assert not requests_of("someone@example.fr").exists()


def test_a_gdpr_request_from_the_contact_form_opens_a_request(db):
    received = timezone.now() - timedelta(days=1)
    contact_gdpr_request.send(
        sender=None,
        right=Right.PORTABILITY,
        name="Marie Curie",
        email="marie@example.fr",
        message="Je souhaite récupérer mes données.",
        received_at=received,
    )
    request = GdprRequest.objects.get()
    assert request.right == Right.PORTABILITY
    assert request.received_at == received
    assert requester(request) == ("Marie Curie", "marie@example.fr")
    assert request.events.get().kind == EventKind.RECEIVED


def test_history_is_append_only(gdpr, staff):
    gdpr_request_answer(request=gdpr, answer="Données effacées.", refused=False, actor=staff)
    event = gdpr.events.last()
    assert event.kind == EventKind.ANSWERED and event.actor == staff
    event.detail = "réécrit"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        RequestEvent.objects.filter(pk=event.pk).update(detail="réécrit")
    with pytest.raises(AppendOnly):
        RequestEvent.objects.filter(request=gdpr).delete()
    assert RequestEvent.objects.get(pk=event.pk).detail.endswith("Données effacées.")
    assert gdpr.events.count() == 2


def _due_in(request: GdprRequest, delta: timedelta) -> None:
    GdprRequest.objects.filter(pk=request.pk).update(due_at=timezone.now() + delta)


def test_reminders_at_d7_and_d2_are_sent_once(gdpr, staff, django_capture_on_commit_callbacks):
    far = gdpr_request_create(right=Right.ACCESS, email="loin@example.fr")
    _due_in(gdpr, timedelta(days=6, hours=20))
    _due_in(far, timedelta(days=20))

    with django_capture_on_commit_callbacks(execute=True):
        assert gdpr_reminders_send() == 1
        assert gdpr_reminders_send() == 0  # a second beat run sends nothing
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [staff.email]
    assert "7" in mail.outbox[0].subject
    assert f"/admin/privacy/gdprrequest/{gdpr.pk}/change/" in mail.outbox[0].body
    assert "dupont" not in mail.outbox[0].body.lower()  # no personal data in the reminder

    _due_in(gdpr, timedelta(days=1, hours=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert gdpr_reminders_send() == 1
        assert gdpr_reminders_send() == 0
    assert len(mail.outbox) == 2
    assert "2" in mail.outbox[1].subject
    reminders = list(gdpr.events.filter(kind=EventKind.REMINDER).values_list("detail", flat=True))
    assert reminders == ["D-7", "D-2"]


def test_a_request_first_seen_within_two_days_gets_only_the_d2_reminder(
    gdpr, staff, django_capture_on_commit_callbacks
):
    _due_in(gdpr, timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert gdpr_reminders_send() == 1
        assert gdpr_reminders_send() == 0
    assert len(mail.outbox) == 1
    assert list(gdpr.events.filter(kind=EventKind.REMINDER).values_list("detail", flat=True)) == [
        "D-2"
    ]


def test_closed_requests_get_no_reminder(gdpr, staff, django_capture_on_commit_callbacks):
    GdprRequest.objects.filter(pk=gdpr.pk).update(status=RequestStatus.ANSWERED)
    _due_in(gdpr, timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert gdpr_reminders_send() == 0
    assert mail.outbox == []
