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
