"""In Chromium: the export's progress updates itself (HTMX), the archive downloads, and the
workspace is deleted after re-authentication — with no CSP violation on the way."""

import io
import zipfile
from pathlib import Path

import pytest

from accounts.models import Workspace
from inbox.mail.mailboxes import mailbox_create
from privacy.gdpr.export_archive import export_build
from privacy.models import DataExport
from tests.factories import PASSWORD
from tests.privacy_data.conftest import ingest, mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_export_progress_download_and_deletion(new_page, alice, workspace):
    box = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    raw = mail(sender="p@example.fr", to=box.address, subject="Absence", message_id="a@e")
    ingest(box, [raw])

    page = new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Courriel").fill(alice.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox/")

    page.goto("/settings/data/")
    page.locator("form[action='/settings/data/export/'] button").click()
    page.wait_for_url("**/settings/data/")
    export = DataExport.objects.get()
    row = page.locator(f"#export-{export.pk}")
    assert row.locator("progress").count() == 1

    export_build(export_id=export.pk)  # what the worker does
    link = row.locator(f"a[href='/settings/data/exports/{export.pk}/download/']")
    link.wait_for(timeout=10_000)  # the row polls every 2 s and swaps itself
    with page.expect_download() as download:
        link.click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert [archive.read(n) for n in archive.namelist() if n.endswith(".eml")] == [raw]

    page.goto("/settings/data/workspace/delete/")
    page.wait_for_url("**/reauthenticate/**")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/settings/data/workspace/delete/")
    page.locator("input[name=confirm_name]").fill("Lycée Jules Verne")
    page.locator("button.button-danger").click()
    page.wait_for_url("**/workspaces/new/")
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
