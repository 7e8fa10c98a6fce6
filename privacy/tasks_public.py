"""Celery tasks of the public site: thin, take ids, call one service each.

No address ever travels through the broker: the tasks open it from the sealed row.
"""

from celery import shared_task


@shared_task(acks_late=True)
def send_policy_notices(policy_id: int) -> None:
    from privacy.policy import policy_notices_send

    policy_notices_send(policy_id=policy_id)


@shared_task(acks_late=True)
def acknowledge_contact(contact_id: int) -> None:
    from privacy.services_public import contact_acknowledge

    contact_acknowledge(contact_id=contact_id)


@shared_task(acks_late=True)
def acknowledge_waitlist(entry_id: int) -> None:
    from privacy.services_public import waitlist_acknowledge

    waitlist_acknowledge(entry_id=entry_id)
