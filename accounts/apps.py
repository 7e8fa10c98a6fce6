from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and workspaces")  # the Django admin's section

    def ready(self) -> None:
        from django.urls import register_converter

        from trupeo.params import IdConverter

        # Before any URL module is read: every id in a path is `<id:...>`.
        register_converter(IdConverter, "id")
        from accounts import checks, signals, workspace_lists  # noqa: F401  (receivers and checks register)
