from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("Business hours and reply-time goals")

    def ready(self) -> None:
        from accounts.workspace_lists import bump_on_change
        from sla.models import BusinessCalendar, Closure, OpeningInterval, ReplyGoal

        # Each process keeps calendars and goals (sla.calendars): a change reloads them.
        for model in (BusinessCalendar, OpeningInterval, Closure, ReplyGoal):
            bump_on_change(model)

        from inbox.mail.signals import mail_stored
        from inbox.signals import conversation_snooze_changed, conversation_status_changed
        from sla import clocks

        # Clocks follow the mail (the pipeline's signal) and triage (inbox.signals).
        mail_stored.connect(clocks.mail_stored_received, dispatch_uid="sla.clocks.mail_stored")
        conversation_status_changed.connect(
            clocks.status_changed_received, dispatch_uid="sla.clocks.status"
        )
        conversation_snooze_changed.connect(
            clocks.snooze_changed_received, dispatch_uid="sla.clocks.snooze"
        )

        from inbox.selectors.automatic import BusinessHours, business_hours_provide
        from sla.calendars import calendar_for_mailbox, expected_reply_at, mailbox_is_open

        # Acknowledgements ask the calendar (out of hours? answered by when?) through this
        # hook: inbox never imports sla.
        business_hours_provide(
            BusinessHours(
                is_open=mailbox_is_open,
                reply_by=expected_reply_at,
                time_zone=lambda mailbox: calendar_for_mailbox(mailbox).timezone,
            )
        )
