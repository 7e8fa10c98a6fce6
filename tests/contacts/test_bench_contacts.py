"""The bench's contacts (made by the backfill from generated mail) are those the application
would have: the panel of the bench's conversation shows its customer, and the contacts search
finds them by last name, so the bench cannot time an empty panel."""

import pytest
from django.urls import reverse

from accounts.keys import keys_for
from bench.inbox_data import generate
from contacts.backfill import contacts_backfill
from contacts.models import Contact
from contacts.selectors import contact_for_address
from inbox.mail.mailboxes import mailbox_create

pytestmark = pytest.mark.django_db


def test_bench_data_backfills_into_a_full_panel(workspace, alice, bob, alice_client):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    other = mailbox_create(workspace=workspace, address="intendance@lycee-verne.fr")
    Contact.objects.all().delete()  # generated rows bypass the pipeline's signal
    generated = generate(
        workspace=workspace,
        mailboxes=[mailbox, other],
        members=[alice, bob],
        conversations=50,
        messages=200,
    )
    assert contacts_backfill(workspace=workspace, batch=37) > 0
    keys = keys_for(workspace)
    for own in ("scolarite@lycee-verne.fr", "intendance@lycee-verne.fr", alice.email):
        assert contact_for_address(keys, workspace, own) is None
    panel = alice_client.get(reverse("contact_panel", args=[generated.twenty_id]))
    assert panel.status_code == 200
    text = panel.content.decode()
    assert "contact-card" in text
    assert (
        generated.customer_last_name.lower()
        in alice_client.get(reverse("contacts"), {"q": generated.customer_last_name})
        .content.decode()
        .lower()
    )
    assert contacts_backfill(workspace=workspace) == 0  # again: nothing new
