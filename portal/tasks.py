"""Celery tasks of the portal: thin, take ids; no address ever travels through the broker."""

from celery import shared_task


@shared_task(acks_late=True)
def send_signin_link(link_id: int, language: str = "fr") -> None:
    from portal.signin import signin_link_send

    signin_link_send(link_id=link_id, language=language)


@shared_task(acks_late=True)
def tell_admins_of_erasure(erasure_id: int) -> None:
    from portal.erasure import erasure_tell_admins

    erasure_tell_admins(erasure_id=erasure_id)


@shared_task
def follow_erasures() -> None:
    from portal.erasure import erasures_follow

    erasures_follow()


@shared_task
def purge_signin_links() -> None:
    from portal.signin import signin_rows_purge

    signin_rows_purge()
