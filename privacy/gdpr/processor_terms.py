"""The record of who accepted which version of the data-processing terms for which workspace
(their text is `privacy.site.terms_text`).

Acceptances arrive by signals from accounts (which must not import privacy): the workspace
creation form (`workspace_created`), the invited owner joining a workspace an operator
created, and the operator command itself (`processor_terms_accepted`). An operator's record
says so — made on behalf of the client who signed, by whom — and does not count as the
owner's own: the owner is asked to accept in the application, as every owner is again when
the version changes (`terms_owner_pending`). Records are the contract: they keep a snapshot
of the workspace and the person and outlive both.
"""

from django.db import transaction

from accounts import workspace_lists
from accounts.models import User, Workspace
from privacy.models import TermsAcceptance, TermsAcceptedBy
from privacy.site.terms_text import current_version


def terms_accept(
    *,
    workspace: Workspace,
    version: str,
    user: User | None = None,
    email: str = "",
    ip: str | None = None,
    operator: str = "",
) -> TermsAcceptance:
    """Record an acceptance. `operator` (who ran the command) makes it a record made by
    Trupeo's operator on behalf of the client, not the owner's own acceptance."""
    acceptance = TermsAcceptance.objects.create(
        workspace=workspace,
        workspace_ref=workspace.pk,
        workspace_name=workspace.name,
        workspace_slug=workspace.slug,
        user=user,
        user_email=(user.email if user is not None else email).strip().lower(),
        user_name=user.name if user is not None else "",
        version=version,
        accepted_by=TermsAcceptedBy.OPERATOR if operator else TermsAcceptedBy.OWNER,
        recorded_by=operator,
        ip=ip or None,
    )
    # The owners' banner reads the answer kept per process with the workspace's lists.
    workspace_lists.bump([workspace.pk])
    return acceptance


@transaction.atomic
def terms_owner_accept(
    *, workspace: Workspace, user: User, version: str, ip: str | None
) -> TermsAcceptance | None:
    """The owner accepts `version` in the application; None if it already was (a double
    click, two tabs): the workspace row is locked so two posts record it once."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    if TermsAcceptance.objects.filter(
        workspace=workspace, version=version, accepted_by=TermsAcceptedBy.OWNER
    ).exists():
        return None
    return terms_accept(workspace=workspace, version=version, user=user, ip=ip)


def terms_owner_pending(workspace: Workspace) -> bool:
    """True while no owner of the workspace accepted the version in force themselves."""
    version = current_version()

    def load() -> bool:
        return not TermsAcceptance.objects.filter(
            workspace=workspace, version=version, accepted_by=TermsAcceptedBy.OWNER
        ).exists()

    return workspace_lists.kept(workspace, f"processor-terms:{version}", load)


def terms_history(workspace: Workspace) -> list[TermsAcceptance]:
    return list(TermsAcceptance.objects.filter(workspace=workspace).order_by("-accepted_at", "-pk"))


def on_terms_accepted(
    sender,
    workspace,
    user=None,
    terms_version=None,
    terms_ip=None,
    operator="",
    email="",
    **kwargs,
) -> None:
    """Receiver of accounts' `workspace_created` and `processor_terms_accepted`."""
    if terms_version and (user is not None or email):
        terms_accept(
            workspace=workspace,
            version=terms_version,
            user=user,
            email=email,
            ip=terms_ip,
            operator=operator,
        )
