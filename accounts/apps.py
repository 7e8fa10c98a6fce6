from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts import directory  # noqa: F401  (its receivers keep the lists fresh)
