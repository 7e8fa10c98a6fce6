"""Celery tasks of the privacy app: thin, take ids, call one function each.

The worker discovers them here (`<app>.tasks`). Each imports what it runs when it runs, and
the modules that queue a task never hold what the task runs (`exports` queues,
`export_archive` builds), so no import goes round in a circle.

No address ever travels through the broker: the tasks open it from the sealed row.
"""

from celery import shared_task

# --- GDPR operations -----------------------------------------------------------------------


@shared_task(acks_late=True)
def build_export(export_id: int) -> None:
    from privacy.gdpr.export_archive import export_build

    export_build(export_id=export_id)


@shared_task
def requeue_stale_exports() -> None:
    from privacy.gdpr.exports import export_requeue_stale

    export_requeue_stale()


@shared_task
def purge_expired_exports() -> None:
    from privacy.gdpr.export_archive import export_purge_expired

    export_purge_expired()


@shared_task
def purge_security_log() -> None:
    from privacy.gdpr.retention import security_log_purge

    security_log_purge()


@shared_task
def queue_retention_runs() -> None:
    from privacy.gdpr.retention_run import retention_runs_queue

    retention_runs_queue()


@shared_task(acks_late=True)
def apply_retention(workspace_id: int) -> None:
    from privacy.gdpr.retention_run import retention_run

    retention_run(workspace_id=workspace_id)


@shared_task(acks_late=True)
def tell_staff_of_gdpr_request(request_id: int) -> None:
    from privacy.gdpr.request_alerts import gdpr_request_tell_staff

    gdpr_request_tell_staff(request_id=request_id)


@shared_task
def send_gdpr_reminders() -> None:
    from privacy.gdpr.request_alerts import gdpr_reminders_send, gdpr_requests_tell_staff

    gdpr_requests_tell_staff()  # arrivals whose first email did not go out
    gdpr_reminders_send()


@shared_task
def send_breach_alerts() -> None:
    from privacy.gdpr.breaches import breach_alerts_send

    breach_alerts_send()


@shared_task
def backup_database() -> None:
    from privacy.gdpr.backups import backup_create, backup_prune

    try:
        backup_create()
    finally:
        backup_prune()  # the 30 days do not wait for a failed backup


@shared_task
def prune_backups() -> None:
    from privacy.gdpr.backups import backup_prune

    backup_prune()


@shared_task
def sweep_orphans() -> None:
    from privacy.gdpr.orphans import orphans_sweep

    orphans_sweep()


# --- the public site -----------------------------------------------------------------------
# Named as when they lived in `privacy/tasks_public.py`: messages already queued under those
# names still find their task.


@shared_task(acks_late=True, name="privacy.tasks_public.send_policy_notices")
def send_policy_notices(policy_id: int) -> None:
    from privacy.site.policy_notices import policy_notices_send

    policy_notices_send(policy_id=policy_id)


@shared_task(acks_late=True, name="privacy.tasks_public.acknowledge_contact")
def acknowledge_contact(contact_id: int) -> None:
    from privacy.site.acknowledgements import contact_acknowledge

    contact_acknowledge(contact_id=contact_id)


@shared_task(acks_late=True, name="privacy.tasks_public.acknowledge_waitlist")
def acknowledge_waitlist(entry_id: int) -> None:
    from privacy.site.acknowledgements import waitlist_acknowledge

    waitlist_acknowledge(entry_id=entry_id)
