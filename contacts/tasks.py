"""Celery tasks: thin, take ids, call one action each."""

from celery import shared_task


@shared_task(acks_late=True)
def backfill_contacts(workspace_id: int) -> None:
    from accounts.models import Workspace
    from contacts.backfill import contacts_backfill

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        contacts_backfill(workspace=workspace)
