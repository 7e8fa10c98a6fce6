from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = _("Privacy and GDPR")  # the Django admin's section

    def ready(self) -> None:
        from privacy import admin_public, receivers  # noqa: F401 (admin_public registers)

        receivers.connect()
