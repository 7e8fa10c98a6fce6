from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from inbox.mail.signals import mail_stored
        from inbox.models import Activity
        from reports.aggregates import activity_saved, mail_stored_received

        # Inbox never imports reports: the pipeline's signal and the trail's rows tell us.
        mail_stored.connect(mail_stored_received, dispatch_uid="reports.mail_stored")
        post_save.connect(activity_saved, sender=Activity, dispatch_uid="reports.activity")
