import pytest

from tests.parts.turnstile_fake import turnstile  # noqa: F401


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the caller's thread (queued on commit, see `post`)."""
    from trupeo.celery import app

    before = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(before)


@pytest.fixture
def post(client, eager_tasks, django_capture_on_commit_callbacks):
    """`client.post`, then what the request queued on commit runs, as in production."""

    def do_post(url, data, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **extra)

    return do_post
