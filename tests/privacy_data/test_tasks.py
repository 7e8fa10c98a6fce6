"""The beat schedule names real tasks, and each runs."""

from django.conf import settings

from trupeo.celery import app


def test_every_privacy_beat_entry_names_a_registered_task(db):
    import privacy.tasks  # noqa: F401 — registers them, as the worker's autodiscovery does

    names = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()]
    ours = [n for n in names if n.startswith("privacy.")]
    assert set(ours) == {
        "privacy.tasks.send_gdpr_reminders",
        "privacy.tasks.send_breach_alerts",
        "privacy.tasks.purge_expired_exports",
        "privacy.tasks.requeue_stale_exports",
        "privacy.tasks.purge_security_log",
        "privacy.tasks.backup_database",
        "privacy.tasks.prune_backups",
        "privacy.tasks.sweep_orphans",
        "privacy.tasks.queue_retention_runs",
    }
    for name in ours:
        assert name in app.tasks, name
        app.tasks[name].run()  # each runs on an empty database without error
