from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"

    def ready(self) -> None:
        from inbox import directory  # noqa: F401  (its receivers keep the lists fresh)
