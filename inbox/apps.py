from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = _("Mail")  # the Django admin's section

    def ready(self) -> None:
        from inbox import directory  # noqa: F401  (its receivers keep the lists fresh)
