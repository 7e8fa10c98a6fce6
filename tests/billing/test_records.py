"""Invoices kept 10 years, for the privacy export and for staff in Django admin."""

import pytest
from allauth.mfa.models import Authenticator

from billing.models import Invoice
from billing.records import workspace_billing_records
from tests.billing.conftest import post_event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoiced(stripe_fake, subscribed, client):
    invoice = stripe_fake.invoice_create(subscription=subscribed)
    assert post_event(client, stripe_fake.event("invoice.paid", invoice)).status_code == 200
    return invoice


@pytest.fixture
def staff_client(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    return client


def test_the_export_lists_the_subscription_and_invoices(invoiced, subscribed, workspace, charlie):
    records = workspace_billing_records(workspace)
    assert [r["kind"] for r in records] == ["subscription", "invoice"]
    assert records[0]["status"] == "active" and records[0]["seats"] == 1
    assert records[0]["stripe_subscription_id"] == subscribed["id"]
    invoice = records[1]
    assert (invoice["number"], invoice["total"], invoice["tax"]) == (invoiced["number"], 1080, 180)
    assert invoice["pdf_url"] == invoiced["invoice_pdf"]
    assert invoice["customer_vat_number"] == "FR40303265045"
    # Another workspace's export has none of it.
    other = charlie.memberships.get().workspace
    assert [r["kind"] for r in workspace_billing_records(other)] == ["subscription"]


def test_staff_reach_the_invoices_of_a_deleted_workspace(invoiced, workspace, staff_client):
    name = workspace.name
    workspace.delete()
    invoice = Invoice.objects.get()
    assert invoice.workspace is None

    listing = staff_client.get("/admin/billing/invoice/")
    assert listing.status_code == 200
    assert invoiced["number"] in listing.content.decode()
    assert name in listing.content.decode()
    detail = staff_client.get(f"/admin/billing/invoice/{invoice.pk}/change/")
    assert detail.status_code == 200
    assert invoiced["invoice_pdf"] in detail.content.decode()


def test_the_admin_is_read_only(invoiced, staff_client):
    invoice = Invoice.objects.get()
    assert staff_client.get("/admin/billing/invoice/add/").status_code == 403
    response = staff_client.post(
        f"/admin/billing/invoice/{invoice.pk}/change/", {"number": "FORGED", "total": 1}
    )
    assert response.status_code == 403
    assert staff_client.post(f"/admin/billing/invoice/{invoice.pk}/delete/").status_code == 403
    assert Invoice.objects.get().number == invoiced["number"]
    for path in ("/admin/billing/subscription/", "/admin/billing/stripeevent/"):
        assert staff_client.get(path).status_code == 200


def test_members_never_reach_the_admin(invoiced, alice_client):
    response = alice_client.get("/admin/billing/invoice/")
    assert response.status_code == 302 and "/admin/login/" in response.url
