from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Requester portal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.retention import purgers_register

        # The retention policy's "portal sessions and authentication logs" are our rows.
        purgers_register()
