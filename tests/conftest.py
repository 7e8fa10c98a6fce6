"""The cast: alice owns a workspace, bob is an agent in it, charlie has his own and must see
nothing of alice's."""

import pytest
from django.test import Client
from django.utils import translation

from tests.factories import UserFactory, add_member, workspace_for

# The real parts (Dovecot, SMTP, S3), available to every test as fixtures.
from tests.parts.dovecot import dovecot, dovecot_user  # noqa: F401
from tests.parts.s3 import s3_server  # noqa: F401
from tests.parts.smtp import smtp_server, smtp_server_rejecting  # noqa: F401


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@lycee-verne.fr", name="Alice Martin")


@pytest.fixture
def workspace(alice):
    return workspace_for(alice, "Lycée Jules Verne")


@pytest.fixture
def bob(workspace):
    user = UserFactory(email="bob@lycee-verne.fr", name="Bob Durand")
    add_member(workspace, user)
    return user


@pytest.fixture
def charlie(db):
    user = UserFactory(email="charlie@agence-ouest.fr", name="Charlie Petit")
    workspace_for(user, "Agence Ouest")
    return user


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice, workspace):
    return _client_for(alice)


@pytest.fixture
def bob_client(bob):
    return _client_for(bob)


@pytest.fixture
def charlie_client(charlie):
    return _client_for(charlie)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The hashed manifest is built by collectstatic at deploy time; tests serve files as they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate limits and caches live in the cache (Redis in CI): each test starts from zero.
    from django.core.cache import cache, caches

    cache.clear()
    # And what this process keeps per workspace: ids come back once a test's rows are gone.
    caches["per_process"].clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    # A request served in-process leaves its language active in the thread (LocaleMiddleware
    # never deactivates it): every test starts in the default language, as a new process does.
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def eager():
    """Celery tasks run where they are queued, for this test; the setting is put back after."""
    from trupeo.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
