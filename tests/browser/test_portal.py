"""In Chromium: a parent signs in to the school's portal from the emailed link, sees exactly
their conversations, replies, and the reply shows in the agent's inbox; a delegate sees only
what was delegated, read-only; the data download is a ZIP of their mail. No CSP violation."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core import mail as outbox

from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation
from portal.actions import delegation_create, portal_enable
from tests.browser.session import log_in
from tests.portal.conftest import BOX, OTHER, PARENT, ingest
from tests.privacy_data.conftest import mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def box(workspace):
    mailbox = mailbox_create(workspace=workspace, address=BOX)
    portal_enable(workspace=workspace)
    return mailbox


def _sign_in(page, slug: str, address: str) -> None:
    page.goto(f"/p/{slug}/")
    page.get_by_label("Votre adresse e-mail").fill(address)
    page.get_by_role("button", name="M'envoyer un lien").click()
    page.locator("#signin-sent").wait_for()
    message = [m for m in outbox.outbox if m.to == [address]][-1]
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    link = re.search(r"https?://\S+/signin/\S+/", message.body).group(0)
    page.goto("/" + link.split("/", 3)[3])
    page.get_by_label("Se souvenir de moi sur cet appareil").check()
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"**/p/{slug}/")


def test_parent_signs_in_sees_theirs_replies_and_the_agent_reads_it(
    new_page, eager, alice, workspace, box
):
    ingest(
        box,
        [
            mail(
                sender=f"Parent Dupont <{PARENT}>",
                to=BOX,
                subject="Absence de Lucas",
                message_id="a1@example.fr",
                attachment=b"%PDF certificat",
            ),
            mail(
                sender=f"Autre <{OTHER}>",
                to=BOX,
                subject="Inscription de Léa",
                message_id="b1@example.fr",
            ),
        ],
    )
    ingest(
        box,
        [
            mail(
                sender=BOX,
                to=PARENT,
                subject="Re: Absence de Lucas",
                message_id="a2@lycee-verne.fr",
                in_reply_to="a1@example.fr",
                body="Bien noté, merci.",
            )
        ],
        sent=True,
        key="sent",
    )
    absence = Conversation.objects.order_by("id").first()

    parent = new_page()
    _sign_in(parent, workspace.slug, PARENT)
    rows = parent.locator("#conversations li")
    assert rows.count() == 1
    assert "Absence de Lucas" in rows.first.inner_text()
    assert "Reçue" in rows.first.inner_text()
    assert "Inscription" not in parent.content()

    rows.first.get_by_role("link").click()
    parent.get_by_text("Bien noté, merci.").wait_for()
    parent.get_by_label("Votre réponse").fill("Lucas revient lundi.")
    parent.get_by_role("button", name="Envoyer").click()
    parent.get_by_text("Votre réponse est envoyée.").wait_for()
    assert parent.get_by_text("Lucas revient lundi.").count() == 1

    # The data download: their two messages and the summary.
    parent.goto(f"/p/{workspace.slug}/profile/")
    with parent.expect_download() as download:
        parent.locator("#download-data").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    names = archive.namelist()
    assert "summary.json" in names and len([n for n in names if n.endswith(".eml")]) == 3

    agent = new_page()
    log_in(agent, alice.email)
    agent.goto(f"/inbox/c/{absence.pk}/")
    agent.get_by_text("Lucas revient lundi.").first.wait_for()


def test_a_delegate_sees_only_what_was_delegated(new_page, eager, alice, workspace, box):
    ingest(
        box,
        [
            mail(sender=PARENT, to=BOX, subject="Absence de Lucas", message_id="a1@example.fr"),
            mail(sender=OTHER, to=BOX, subject="Inscription de Léa", message_id="b1@example.fr"),
        ],
    )
    delegation_create(
        workspace=workspace,
        delegate="papa@famille.fr",
        target=PARENT,
        can_reply=False,
        created_by=alice,
    )
    dad = new_page()
    _sign_in(dad, workspace.slug, "papa@famille.fr")
    rows = dad.locator("#conversations li")
    assert rows.count() == 1 and "Absence de Lucas" in rows.first.inner_text()
    assert "Lecture seule" in rows.first.inner_text()
    rows.first.get_by_role("link").click()
    dad.get_by_text("Cette conversation vous est partagée en lecture seule.").wait_for()
    assert dad.locator("#reply").count() == 0
