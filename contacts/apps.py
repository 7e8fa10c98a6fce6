from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contacts")

    def ready(self) -> None:
        from contacts.linking import mail_stored_received
        from inbox.mail.signals import mail_stored

        # The pipeline never imports contacts: it says what it stored, once per batch.
        mail_stored.connect(mail_stored_received, dispatch_uid="contacts.linking")

        from contacts.retention import purgers_register

        # The retention policy's "requesters who were never clients" are our contacts.
        purgers_register()
