from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"

    def ready(self) -> None:
        from inbox import directory  # noqa: F401  (its receivers keep the lists fresh)
        from inbox.mail.signals import mail_stored
        from inbox.on_arrival import mail_stored_received

        # The pipeline never imports the UI side: it tells it what arrived.
        mail_stored.connect(mail_stored_received, dispatch_uid="inbox.on_arrival")
