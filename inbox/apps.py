from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = _("Mail")  # the Django admin's section

    def ready(self) -> None:
        from accounts.workspace_lists import bump_on_change
        from inbox.models import Mailbox, Tag

        # Tags and mailboxes show in every page's lists; a sync's health updates show nowhere.
        bump_on_change(Tag)
        bump_on_change(Mailbox, fields_shown={"address", "name"})

        from inbox.actions.on_arrival import mail_stored_received
        from inbox.mail.signals import mail_stored

        # The pipeline never imports the UI side: it tells it what arrived.
        mail_stored.connect(mail_stored_received, dispatch_uid="inbox.actions.on_arrival")

        from inbox.actions.automatic import mail_stored_acknowledge, outgoing_sent_notify
        from inbox.mail.signals import outgoing_sent

        # Acknowledgements to requesters who open a conversation, and the "answered"
        # notification when the team's reply leaves (both off unless a mailbox asks).
        mail_stored.connect(mail_stored_acknowledge, dispatch_uid="inbox.actions.automatic")
        outgoing_sent.connect(outgoing_sent_notify, dispatch_uid="inbox.actions.automatic")
