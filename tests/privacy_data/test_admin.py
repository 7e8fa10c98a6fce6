"""Staff handle GDPR requests and breaches in Django admin (behind TOTP)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from privacy.gdpr.requesters import requester
from privacy.gdpr.requests import gdpr_request_create
from privacy.models import (
    Breach,
    DataExport,
    EventKind,
    ExportKind,
    GdprRequest,
    IdentityCheck,
    RequestStatus,
    Right,
)


@pytest.fixture
def overdue(db, workspace):
    return gdpr_request_create(
        right=Right.ACCESS,
        email="tard@example.fr",
        name="Paul Tard",
        workspace=workspace,
        received_at=timezone.now() - timedelta(days=40),
    )


@pytest.fixture
def fresh(db):
    return gdpr_request_create(right=Right.OBJECTION, email="tot@example.fr")


def test_the_list_highlights_overdue_requests_and_filters(staff_client, overdue, fresh):
    url = reverse("admin:privacy_gdprrequest_changelist")
    page = staff_client.get(url).content.decode()
    assert "privacy-overdue" in page
    assert "Paul Tard &lt;tard@example.fr&gt;" in page  # decrypted for staff
    assert "tot@example.fr" in page

    overdue_only = staff_client.get(url, {"days_left": "overdue"}).content.decode()
    assert "tard@example.fr" in overdue_only and "tot@example.fr" not in overdue_only
    later = staff_client.get(url, {"days_left": "later"}).content.decode()
    assert "tot@example.fr" in later and "tard@example.fr" not in later
    by_status = staff_client.get(url, {"status__exact": "answered"}).content.decode()
    assert "tard@example.fr" not in by_status

    found = staff_client.get(url, {"q": "TARD@example.fr"}).content.decode()
    assert "tard@example.fr" in found and "tot@example.fr" not in found
    by_number = staff_client.get(url, {"q": f"#{fresh.pk}"}).content.decode()
    assert "tot@example.fr" in by_number and "tard@example.fr" not in by_number
    by_name = staff_client.get(url, {"q": "Paul"})  # names are sealed: no match, no error
    assert by_name.status_code == 200 and "tard@example.fr" not in by_name.content.decode()


def test_staff_record_a_request_by_hand(staff_client, staff, workspace):
    url = reverse("admin:privacy_gdprrequest_add")
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url,
        {
            "right": Right.RECTIFICATION,
            "requester_name": "Léa Martin",
            "requester_email": "Lea@Example.fr",
            "workspace": workspace.pk,
            "received_at_0": "2027-01-31",
            "received_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302, re.findall(r"errorlist.{0,300}", response.content.decode())
    request = GdprRequest.objects.get()
    assert requester(request) == ("Léa Martin", "lea@example.fr")
    assert timezone.localtime(request.due_at).date().isoformat() == "2027-02-28"
    event = request.events.get()
    assert (event.kind, event.actor) == (EventKind.RECEIVED, staff)


def test_change_page_actions_and_history(
    staff_client, staff, overdue, monkeypatch, django_capture_on_commit_callbacks
):
    change = reverse("admin:privacy_gdprrequest_change", args=[overdue.pk])
    page = staff_client.get(change).content.decode()
    for action in ("identity", "extend", "export", "erase", "answer", "note"):
        action_url = reverse("admin:privacy_gdprrequest_action", args=[overdue.pk, action])
        assert action_url in page
        assert staff_client.get(action_url).status_code == 200

    def act(action, data):
        return staff_client.post(
            reverse("admin:privacy_gdprrequest_action", args=[overdue.pk, action]), data
        )

    # Exporting before the identity is checked is refused, in words.
    refused = act("export", {"confirm": "on"})
    assert refused.status_code == 200 and "identit" in refused.content.decode().lower()
    assert not DataExport.objects.exists()

    assert (
        act("identity", {"result": "verified", "note": "Réponse depuis l’adresse"}).status_code
        == 302
    )
    overdue.refresh_from_db()
    assert overdue.identity == IdentityCheck.VERIFIED
    assert (overdue.identity_checked_by, overdue.status) == (staff, RequestStatus.IN_PROGRESS)

    # Told after the first month: refused, and the deadline does not move.
    late = act(
        "extend",
        {
            "months": "1",
            "told_at": timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M"),
            "reason": "Volume",
        },
    )
    assert late.status_code == 200
    text = late.content.decode()
    assert "first month" in text or "premier mois" in text  # translated once compiled
    overdue.refresh_from_db()
    assert overdue.extension_months == 0

    queued = []
    monkeypatch.setattr(
        "privacy.tasks.build_export.delay", lambda export_id: queued.append(export_id)
    )
    with django_capture_on_commit_callbacks(execute=True):  # queued once committed
        assert act("export", {"confirm": "on"}).status_code == 302
    export = DataExport.objects.get()
    assert (export.kind, export.gdpr_request, export.workspace) == (
        ExportKind.PERSON,
        overdue,
        overdue.workspace,
    )
    assert queued == [export.pk]

    assert act("note", {"note": "Appel au client le 3/03"}).status_code == 302
    assert act("answer", {"answer": "Voici vos données."}).status_code == 302
    overdue.refresh_from_db()
    assert overdue.status == RequestStatus.ANSWERED and overdue.answered_at
    kinds = list(overdue.events.values_list("kind", flat=True))
    assert kinds == [
        EventKind.RECEIVED,
        EventKind.IDENTITY,
        EventKind.EXPORTED,
        EventKind.NOTE,
        EventKind.ANSWERED,
    ]
    # The history shows on the change page; it can be neither changed nor deleted.
    page = staff_client.get(change).content.decode()
    assert "Appel au client le 3/03" in page
    event = overdue.events.first()
    event_change = reverse("admin:privacy_requestevent_change", args=[event.pk])
    assert staff_client.post(event_change, {"detail": "x"}).status_code == 403
    event_delete = reverse("admin:privacy_requestevent_delete", args=[event.pk])
    assert staff_client.post(event_delete, {"post": "yes"}).status_code == 403
    request_delete = reverse("admin:privacy_gdprrequest_delete", args=[overdue.pk])
    assert staff_client.post(request_delete, {"post": "yes"}).status_code == 403
    assert overdue.events.count() == 5


def test_breach_register_tracks_the_72_hour_deadline(staff_client):
    url = reverse("admin:privacy_breach_add")
    assert staff_client.get(url).status_code == 200
    detected = timezone.localtime(timezone.now() - timedelta(hours=80))
    response = staff_client.post(
        url,
        {
            "detected_at_0": detected.strftime("%Y-%m-%d"),
            "detected_at_1": detected.strftime("%H:%M:%S"),
            "nature": "Ordinateur portable volé",
            "data_concerned": "Aucune donnée de messagerie (chiffrée)",
            "people_concerned": "Aucune",
            "consequences": "Négligeables",
            "measures": "Sessions révoquées",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    breach = Breach.objects.get()
    assert breach.notification_due_at == breach.detected_at + timedelta(hours=72)
    assert breach.notification_late
    listing = staff_client.get(reverse("admin:privacy_breach_changelist")).content.decode()
    assert "privacy-overdue" in listing

    recent = Breach.objects.create(
        detected_at=timezone.now() - timedelta(hours=10),
        nature="Courriel mal adressé",
        data_concerned="x",
        people_concerned="1",
        consequences="x",
        measures="x",
    )
    assert recent.notification_pending and not recent.notification_late
    listing = staff_client.get(reverse("admin:privacy_breach_changelist")).content.decode()
    assert "privacy-soon" in listing
    recent.cnil_notified_at = timezone.now()
    recent.save()
    assert not recent.notification_pending and not recent.notification_late
    delete = reverse("admin:privacy_breach_delete", args=[breach.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        "gdprrequest",
        "requestevent",
        "dataexport",
        "securityevent",
        "termsacceptance",
        "breach",
    ],
)
def test_admin_lists_load_for_staff(staff_client, overdue, name):
    assert staff_client.get(reverse(f"admin:privacy_{name}_changelist")).status_code == 200


def test_agents_and_visitors_never_reach_the_requests(bob_client, client, overdue):
    url = reverse("admin:privacy_gdprrequest_change", args=[overdue.pk])
    assert bob_client.get(url).status_code in (302, 403)
    assert client.get(url).status_code == 302
    action = reverse("admin:privacy_gdprrequest_action", args=[overdue.pk, "erase"])
    assert bob_client.post(action, {"address": "tard@example.fr"}).status_code in (302, 403)
