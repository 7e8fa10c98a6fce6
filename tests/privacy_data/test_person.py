"""One person within a workspace: found through the blind index and confirmed by decrypting,
exported for an access request, erased on the client's instruction."""

import io
import zipfile

import pytest
from django.urls import reverse

from accounts.keys import keys_for
from inbox.erasure import messages_involving
from inbox.models import Attachment, Conversation, Message, Outgoing
from inbox.selectors.conversation_rows import conversation_summary
from privacy.gdpr.deletion import person_erase
from privacy.gdpr.export_archive import export_build
from privacy.gdpr.ledger import ledger_entries
from privacy.gdpr.requests import gdpr_request_check_identity, gdpr_request_create
from privacy.models import DataExport, EventKind, IdentityCheck, Right
from tests.privacy_data.conftest import ingest, mail
from trupeo.storage import object_store

DUPONT = "jean.dupont@example.fr"


@pytest.fixture
def mails(mailbox):
    """Who is in what: the expected answer is written here, not computed by the code."""
    box = mailbox.address
    inbox = {
        "wrote": mail(
            sender=f"Jean Dupont <{DUPONT}>",
            to=box,
            subject="Absence",
            message_id="a1@example.fr",
            attachment=b"%PDF certificat",
        ),
        "cc": mail(
            sender="Autre <autre@example.fr>",
            to=box,
            cc="Jean.Dupont@Example.FR",
            subject="Sortie",
            message_id="b1@example.fr",
        ),
        "other_in_thread": mail(
            sender="Autre <autre@example.fr>",
            to=box,
            subject="Re: Sortie",
            message_id="b2@example.fr",
            in_reply_to="b1@example.fr",
        ),
        "body_only": mail(
            sender="Zoé <zoe@example.fr>",
            to=box,
            subject="Contact",
            message_id="c1@example.fr",
            body=f"Écrivez à {DUPONT} svp",
        ),
        "similar": mail(
            sender="Jean Dupont <jean.dupont@example.com>",
            to=box,
            subject="Autre Jean",
            message_id="d1@example.fr",
        ),
        "garbage": b"\x00\xff not a mail at all " + DUPONT.encode(),
    }
    sent = {
        "reply": mail(
            sender=box,
            to=f"Jean Dupont <{DUPONT}>",
            subject="Re: Absence",
            message_id="a2@lycee-verne.fr",
            in_reply_to="a1@example.fr",
        ),
        "bcc": mail(
            sender=box,
            to="parents@lycee-verne.fr",
            bcc=DUPONT,
            subject="Réunion",
            message_id="e1@lycee-verne.fr",
        ),
    }
    ingest(mailbox, list(inbox.values()))
    ingest(mailbox, list(sent.values()), sent=True, start=100)
    by_subject = {}
    keys = keys_for(mailbox.workspace)
    for message in Message.objects.filter(workspace=mailbox.workspace):
        from inbox.mail.sealing import open_json, stored_message_row

        envelope = open_json(
            keys,
            message.envelope_sealed,
            field="message.envelope",
            row=stored_message_row(message),
        )
        by_subject.setdefault(envelope.get("subject") or "(garbage)", message.pk)
    expected = {by_subject[s] for s in ("Absence", "Sortie", "Re: Absence", "Réunion")}
    return expected, by_subject


def test_messages_from_or_to_an_address_are_found_and_confirmed(workspace, mails):
    expected, _ = mails
    assert (
        set(messages_involving(workspace=workspace, address="JEAN.DUPONT@example.fr")) == expected
    )


def test_erasing_a_person_removes_messages_attachments_objects_and_index(workspace, mailbox, mails):
    expected, by_subject = mails
    store = object_store()
    doomed = Message.objects.filter(pk__in=expected)
    objects = [m.raw_object for m in doomed] + list(
        Attachment.objects.filter(message__in=doomed).values_list("object_key", flat=True)
    )
    assert len(objects) == len(expected) + 1  # one attachment
    assert all(store.exists(k) for k in objects)
    absence = Message.objects.get(pk=by_subject["Absence"]).conversation_id
    sortie = Message.objects.get(pk=by_subject["Sortie"]).conversation_id
    Outgoing.objects.create(
        workspace=workspace,
        mailbox=mailbox,
        conversation_id=sortie,
        message_id=by_subject["Re: Absence"],
    )

    result = person_erase(workspace=workspace, address=DUPONT)

    assert result.messages == len(expected)
    assert result.attachments == 1
    assert not Message.objects.filter(pk__in=expected).exists()
    assert not any(store.exists(k) for k in objects)
    assert not Attachment.objects.filter(workspace=workspace).exists()
    assert not Outgoing.objects.filter(workspace=workspace).exists()
    # Kept: a mere mention in a body, a look-alike address, an unreadable message.
    kept = set(Message.objects.filter(workspace=workspace).values_list("pk", flat=True))
    assert kept == {by_subject[s] for s in ("Re: Sortie", "Contact", "Autre Jean", "(garbage)")}
    # The conversation with only Jean's messages is gone; the other is rebuilt without him.
    assert not Conversation.objects.filter(pk=absence).exists()
    remaining = Conversation.objects.get(pk=sortie)
    assert remaining.message_count == 1
    summary = conversation_summary(keys_for(workspace), remaining)
    assert "dupont" not in str(summary).lower()
    assert summary["subject"] == "Re: Sortie"
    # And the blind index no longer finds anything.
    assert messages_involving(workspace=workspace, address=DUPONT) == []


def test_staff_export_then_erase_a_person_from_the_admin(staff_client, staff, workspace, mails):
    expected, _ = mails
    request = gdpr_request_create(right=Right.ERASURE, email=DUPONT, workspace=workspace)
    request = gdpr_request_check_identity(request=request, verified=True, actor=staff)
    assert request.identity == IdentityCheck.VERIFIED

    staff_client.post(
        reverse("admin:privacy_gdprrequest_action", args=[request.pk, "export"]), {"confirm": "on"}
    )
    export = DataExport.objects.get(gdpr_request=request)
    export_build(export_id=export.pk)
    page = staff_client.get(reverse("admin:privacy_gdprrequest_change", args=[request.pk]))
    download_url = reverse("admin:privacy_gdprrequest_export_download", args=[export.pk])
    assert download_url in page.content.decode()
    response = staff_client.get(download_url)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    emls = [n for n in archive.namelist() if n.endswith(".eml")]
    assert len(emls) == len(expected)
    assert all(int(n.rsplit("-", 1)[1][:-4]) in expected for n in emls)

    erase = reverse("admin:privacy_gdprrequest_action", args=[request.pk, "erase"])
    wrong = staff_client.post(erase, {"address": "autre@example.fr", "instruction": "x"})
    assert wrong.status_code == 200
    assert Message.objects.filter(pk__in=expected).count() == len(expected)
    done = staff_client.post(
        erase, {"address": DUPONT, "instruction": "Courriel de la directrice du 2 mars"}
    )
    assert done.status_code == 302
    assert not Message.objects.filter(pk__in=expected).exists()
    event = request.events.filter(kind=EventKind.ERASED).get()
    assert event.actor == staff
    assert "directrice" in event.detail and f"{len(expected)} message" in event.detail
    # Recorded for restores (privacy.gdpr.backups.ledger_replay), by a keyed digest only.
    (entry,) = ledger_entries()
    assert (entry.kind, entry.id) == ("person", workspace.pk)
    assert entry.digest == keys_for(workspace).person_digest(DUPONT)
    assert "dupont" not in str(entry).lower()


def test_erasure_needs_a_verified_identity(staff_client, workspace, mails):
    expected, _ = mails
    request = gdpr_request_create(right=Right.ERASURE, email=DUPONT, workspace=workspace)
    response = staff_client.post(
        reverse("admin:privacy_gdprrequest_action", args=[request.pk, "erase"]),
        {"address": DUPONT, "instruction": "x"},
    )
    assert response.status_code == 200
    assert Message.objects.filter(pk__in=expected).count() == len(expected)
