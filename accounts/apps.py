from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.urls import register_converter

        from trupeo.params import IdConverter

        # Before any URL module is read: every id in a path is `<id:...>`.
        register_converter(IdConverter, "id")
        from accounts import directory  # noqa: F401  (its receivers keep the lists fresh)
