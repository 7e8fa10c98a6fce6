"""Policy versions: the page shows the version in force; a substantial change is announced to
every user by email at least 30 days ahead, in batches, and a retried task writes to no one twice."""

import datetime as dt
import shutil

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from privacy.models import PolicyVersion
from privacy.site import policy as policy_module
from privacy.site import policy_notices
from privacy.site.policy import policy_in_force
from privacy.site.policy_notices import policy_notices_send
from privacy.site.policy_publishing import policy_publish
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def english():
    # Messages are asserted in English (French once the translations are compiled).
    with translation.override("en"):
        yield


TODAY = dt.date(2026, 11, 22)
FIRST = dt.date(2026, 4, 25)


@pytest.fixture
def policy_dir(tmp_path, monkeypatch):
    """The published texts, plus a new version's, in a folder of the test's own."""
    for path in policy_module.POLICY_DIR.glob("*.md"):
        shutil.copy(path, tmp_path / path.name)
    new = tmp_path / "2026-11-20.fr.md"
    new.write_text(
        "Version du 2026-11-20\n\n### 1. Responsable de traitement {#responsable-de-traitement}\n\nNouveau texte.\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(policy_module, "POLICY_DIR", tmp_path)
    return tmp_path


def test_the_first_version_is_in_force_from_the_migration():
    current = policy_in_force(TODAY)
    assert current.version == FIRST and current.effective_date == FIRST


def test_a_version_is_shown_only_once_in_force(
    client, policy_dir, eager_tasks, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        policy_publish(
            version=dt.date(2026, 11, 20),
            effective_date=today + dt.timedelta(days=30),
            substantial=True,
            summary="Un nouveau sous-traitant.",
            today=today,
        )
    page = client.get("/fr/politique-de-confidentialite/").content.decode()
    assert "2026-04-25" in page and "Nouveau texte" not in page
    assert "?version=2026-11-20" in page  # announced, readable beforehand
    announced = client.get("/fr/politique-de-confidentialite/?version=2026-11-20").content.decode()
    assert "Nouveau texte" in announced and "Un nouveau sous-traitant." in announced
    assert policy_in_force(today + dt.timedelta(days=29)).version == FIRST
    assert policy_in_force(today + dt.timedelta(days=30)).version == dt.date(2026, 11, 20)
    assert client.get("/fr/politique-de-confidentialite/?version=1999-01-01").status_code == 404
    assert client.get("/fr/politique-de-confidentialite/?version=nope").status_code == 404


def test_a_substantial_change_needs_thirty_days_and_a_summary(policy_dir, english):
    with pytest.raises(ValidationError, match="at least 30 days"):
        policy_publish(
            version=dt.date(2026, 11, 20),
            effective_date=TODAY + dt.timedelta(days=29),
            substantial=True,
            summary="x",
            today=TODAY,
        )
    with pytest.raises(ValidationError, match="Summarise"):
        policy_publish(
            version=dt.date(2026, 11, 20),
            effective_date=TODAY + dt.timedelta(days=30),
            substantial=True,
            today=TODAY,
        )
    with pytest.raises(ValidationError, match="no text"):
        policy_publish(
            version=dt.date(2026, 12, 1), effective_date=dt.date(2026, 12, 1), substantial=False
        )
    with pytest.raises(ValidationError, match="already published"):
        policy_publish(version=FIRST, effective_date=FIRST, substantial=False)
    assert PolicyVersion.objects.count() == 1


def test_a_minor_change_takes_effect_at_once_and_tells_no_one(
    policy_dir, eager_tasks, django_capture_on_commit_callbacks
):
    UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        policy_publish(
            version=dt.date(2026, 11, 20), effective_date=TODAY, substantial=False, today=TODAY
        )
    assert policy_in_force(TODAY).version == dt.date(2026, 11, 20)
    assert not mail.outbox


def test_every_active_user_is_told_30_days_ahead_in_their_language(
    policy_dir, eager_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    users = [UserFactory(email=f"u{i}@exemple.fr") for i in range(5)]
    users[1].language = "en"
    users[1].save(update_fields=["language"])
    UserFactory(email="parti@exemple.fr", is_active=False)
    monkeypatch.setattr(policy_notices, "NOTICE_BATCH", 2)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        version = policy_publish(
            version=dt.date(2026, 11, 20),
            effective_date=today + dt.timedelta(days=30),
            substantial=True,
            summary="Nous ajoutons un sous-traitant pour l’envoi des emails.",
            today=today,
        )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    assert all(len(m.to) == 1 for m in mail.outbox)  # one email each, no shared recipients list
    english = next(m for m in mail.outbox if m.to == [users[1].email])
    assert english.subject == "Trupeo’s privacy policy is changing"
    assert "?version=2026-11-20" in english.body and "sous-traitant" in english.body
    version.refresh_from_db()
    assert version.notices_sent == 5 and version.notices_done_at is not None


def test_a_retried_notice_task_resumes_where_it_stopped(policy_dir, monkeypatch):
    users = [UserFactory(email=f"r{i}@exemple.fr") for i in range(5)]
    version = PolicyVersion.objects.create(
        version=dt.date(2026, 11, 20),
        effective_date=TODAY + dt.timedelta(days=30),
        substantial=True,
        summary="Changement.",
    )
    from django.core.mail.backends.locmem import EmailBackend

    real_send = EmailBackend.send_messages
    calls = {"n": 0}

    def flaky(self, messages):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("mail provider down")
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", flaky)
    with pytest.raises(ConnectionError):
        policy_notices_send(policy_id=version.pk, batch_size=2)
    assert len(mail.outbox) == 2  # the first batch went out and was recorded
    assert policy_notices_send(policy_id=version.pk, batch_size=2) == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)


def test_staff_publish_from_the_admin_and_users_are_told(
    client, policy_dir, eager_tasks, django_capture_on_commit_callbacks
):
    from allauth.mfa.models import Authenticator

    staff = UserFactory(email="staff@trupeo.fr", is_staff=True, is_superuser=True, language="en")
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    add = "/admin/privacy/policyversion/add/"
    soon = {
        "version": "2026-11-20",
        "effective_date": (timezone.localdate() + dt.timedelta(days=10)).isoformat(),
        "substantial": "on",
        "summary": "Un nouveau sous-traitant.",
    }
    refused = client.post(add, soon)
    assert refused.status_code == 200 and "at least 30 days" in refused.content.decode()
    assert PolicyVersion.objects.count() == 1
    later = {**soon, "effective_date": (timezone.localdate() + dt.timedelta(days=31)).isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(add, later).status_code == 302
    version = PolicyVersion.objects.get(version=dt.date(2026, 11, 20))
    assert version.substantial and version.notices_sent == 1
    assert mail.outbox[0].to == ["staff@trupeo.fr"]
    # Published versions are a record: not editable, not deletable.
    change = client.get(f"/admin/privacy/policyversion/{version.pk}/change/").content.decode()
    assert 'name="effective_date"' not in change
    assert client.post(f"/admin/privacy/policyversion/{version.pk}/delete/").status_code == 403
