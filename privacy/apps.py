from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The privacy app, in two parts: the public site (`privacy.site`) and GDPR operations
    (`privacy.gdpr`). Their admin modules are registered here: Django's autodiscovery only
    looks for `privacy.admin`."""

    name = "privacy"
    verbose_name = _("Privacy and GDPR")  # the Django admin's section

    def ready(self) -> None:
        from privacy import receivers
        from privacy.gdpr import admin as gdpr_admin  # noqa: F401 (registers)
        from privacy.site import admin as site_admin  # noqa: F401 (registers)

        receivers.connect()
