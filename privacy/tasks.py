"""Celery tasks of the privacy app: thin, take ids, call one service each."""

from celery import shared_task

# The public site's tasks live in their own module; importing it here registers them with
# the worker, which only discovers `tasks` modules.
from privacy import tasks_public  # noqa: F401


@shared_task(acks_late=True)
def build_export(export_id: int) -> None:
    from privacy.exports import export_build

    export_build(export_id=export_id)


@shared_task
def requeue_stale_exports() -> None:
    from privacy.exports import export_requeue_stale

    export_requeue_stale()


@shared_task
def purge_expired_exports() -> None:
    from privacy.exports import export_purge_expired

    export_purge_expired()


@shared_task
def purge_security_log() -> None:
    from privacy.retention import security_log_purge

    security_log_purge()


@shared_task(acks_late=True)
def tell_staff_of_gdpr_request(request_id: int) -> None:
    from privacy.requests import gdpr_request_tell_staff

    gdpr_request_tell_staff(request_id=request_id)


@shared_task
def send_gdpr_reminders() -> None:
    from privacy.requests import gdpr_reminders_send, gdpr_requests_tell_staff

    gdpr_requests_tell_staff()  # arrivals whose first email did not go out
    gdpr_reminders_send()


@shared_task
def send_breach_alerts() -> None:
    from privacy.breaches import breach_alerts_send

    breach_alerts_send()


@shared_task
def backup_database() -> None:
    from privacy.backups import backup_create, backup_prune

    try:
        backup_create()
    finally:
        backup_prune()  # the 30 days do not wait for a failed backup


@shared_task
def prune_backups() -> None:
    from privacy.backups import backup_prune

    backup_prune()


@shared_task
def sweep_orphans() -> None:
    from privacy.orphans import orphans_sweep

    orphans_sweep()
