"""Acceptance of the data-processing terms (Trupeo as the processor of its clients' mail,
policy section 10).

The workspace creation form in accounts has a required checkbox; `accounts.services.
workspace_create` then sends `accounts.signals.workspace_created` with the user and the
version accepted, and `terms_accept` records who, when and which version. A signal rather
than `post_save` on Workspace: the row alone knows neither who accepted nor which version,
and accounts must not import privacy. Sent inside the creating transaction, so a workspace
and its acceptance are committed together or not at all. Workspaces created by an operator
(`manage.py workspace_create`, demo data) carry no version: nobody accepted anything yet.
"""

from django.conf import settings

from accounts.models import User, Workspace
from privacy.models import TermsAcceptance


def current_version() -> str:
    return settings.TRUPEO_DPA_VERSION


def terms_accept(*, workspace: Workspace, user: User, version: str) -> TermsAcceptance:
    return TermsAcceptance.objects.create(
        workspace=workspace, user=user, user_email=user.email, version=version
    )


def on_workspace_created(sender, workspace, user=None, terms_version=None, **kwargs) -> None:
    if user is not None and terms_version:
        terms_accept(workspace=workspace, user=user, version=terms_version)
