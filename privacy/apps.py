from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"

    def ready(self) -> None:
        from privacy import admin_public, receivers  # noqa: F401 (admin_public registers)

        receivers.connect()
