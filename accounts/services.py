"""Writes with side effects on workspaces, memberships and invitations.

Views and commands call these; each validates, writes in one transaction and queues its
mail only once the transaction commits.
"""

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.keys import workspace_key_create
from accounts.models import (
    MAX_RECIPIENTS_CEILING,
    MAX_UNDO_SECONDS,
    Invitation,
    Membership,
    Role,
    User,
    Workspace,
)
from accounts.signals import processor_terms_accepted, workspace_created

_INVITATION_SALT = "trupeo.invitation"


def unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(
    *,
    name: str,
    slug: str,
    owner: User | None,
    terms_version: str | None = None,
    terms_ip: str | None = None,
) -> Workspace:
    """A workspace with its own key; without an owner, the operator invites one.

    `terms_version`: the data-processing terms the owner accepted (the creation form), from
    the address `terms_ip`.
    """
    workspace = Workspace.objects.create(name=name, slug=slug)
    workspace_key_create(workspace=workspace)
    if owner is not None:
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
        owner.last_workspace = workspace
        owner.save(update_fields=["last_workspace"])
    # In the transaction: a workspace and the record of its accepted terms go together.
    workspace_created.send(
        sender=Workspace,
        workspace=workspace,
        user=owner,
        terms_version=terms_version,
        terms_ip=terms_ip,
    )
    return workspace


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(invitation.pk, salt=_INVITATION_SALT)


def invitation_from_token(token: str) -> Invitation | None:
    """The pending invitation a link points to, or None if forged, expired, used or revoked."""
    try:
        pk = signing.loads(
            token, salt=_INVITATION_SALT, max_age=timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
        )
    except signing.BadSignature:
        return None
    invitation = Invitation.objects.select_related("workspace", "invited_by").filter(pk=pk).first()
    if invitation is None or not invitation.is_pending:
        return None
    return invitation


def invitation_is_for(*, invitation: Invitation, user: User) -> bool:
    """Whether `user` proved they own the invited address (verified, in any letter case).

    Holding the link is not enough: links get forwarded, pasted into tickets, logged.
    """
    return EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists()


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("invitation_accept", args=[invitation_token(invitation)])


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by: User | None
) -> Invitation:
    email = email.strip().lower()
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise ValidationError(_("%(email)s is already a member.") % {"email": email})
    if role == Role.OWNER:
        # Only for a workspace that has no owner yet (created by an operator).
        if Membership.objects.filter(workspace=workspace, role=Role.OWNER).exists():
            raise ValidationError(_("This workspace already has an owner."))
    elif role not in (Role.ADMIN, Role.AGENT):
        raise ValidationError(_("Unknown role."))
    # A new invitation replaces any pending one for the same address.
    Invitation.objects.filter(
        workspace=workspace, email=email, accepted_at=None, revoked_at=None
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        workspace=workspace, email=email, role=role, invited_by=invited_by
    )
    # Signed once: the link an operator's command prints is the very one mailed (a token
    # signed a second later would differ).
    invitation.link = invitation_url(invitation)
    context = {
        "invitation": invitation,
        "workspace": workspace,
        "inviter": invited_by,
        "url": invitation.link,
        "days": settings.INVITATION_MAX_AGE_DAYS,
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    return invitation


@transaction.atomic
def invitation_accept(
    *,
    invitation: Invitation,
    user: User,
    terms_version: str | None = None,
    terms_ip: str | None = None,
) -> Membership:
    """Join the workspace. The owner of a workspace an operator created accepts the
    data-processing terms here (`terms_version`), as a client creating one does."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise ValidationError(_("This invitation has expired or was already used."))
    if not invitation_is_for(invitation=invitation, user=user):
        raise ValidationError(
            _("This invitation was sent to %(email)s; sign out to accept it.")
            % {"email": invitation.email}
        )
    if invitation.role == Role.OWNER:
        if not terms_version:
            raise ValidationError(_("Accept the data-processing terms to continue."))
        processor_terms_accepted.send(
            sender=Workspace,
            workspace=invitation.workspace,
            user=user,
            terms_version=terms_version,
            terms_ip=terms_ip,
        )
    membership, _created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    user.last_workspace = invitation.workspace
    user.save(update_fields=["last_workspace"])
    return membership


def invitation_revoke(*, invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, accepted_at=None).update(revoked_at=timezone.now())


def member_remove(*, membership: Membership) -> None:
    if membership.is_owner:
        raise ValidationError(_("The owner cannot be removed. Transfer ownership first."))
    User.objects.filter(pk=membership.user_id, last_workspace=membership.workspace_id).update(
        last_workspace=None
    )
    membership.delete()


def member_role_change(*, membership: Membership, role: str) -> None:
    if membership.is_owner:
        raise ValidationError(_("Transfer ownership to change the owner's role."))
    if role not in (Role.ADMIN, Role.AGENT):
        raise ValidationError(_("Unknown role."))
    membership.role = role
    membership.save(update_fields=["role"])


@transaction.atomic
def ownership_transfer(*, workspace: Workspace, to: Membership) -> None:
    if to.workspace_id != workspace.pk:
        raise ValidationError(_("That person is not a member of this workspace."))
    if to.is_owner:
        return
    # The old owner becomes an admin first: one owner per workspace, enforced by the database.
    Membership.objects.filter(workspace=workspace, role=Role.OWNER).update(role=Role.ADMIN)
    Membership.objects.filter(pk=to.pk).update(role=Role.OWNER)


def workspace_max_recipients_set(*, workspace: Workspace, by: Membership, value: int) -> None:
    """The owner, and only the owner, sets how many recipients one message may have."""
    if by.workspace_id != workspace.pk or not by.is_owner:
        raise PermissionDenied(_("Only the workspace's owner can change the recipient limit."))
    if not 1 <= value <= MAX_RECIPIENTS_CEILING:
        raise ValidationError(
            _("The limit must be between 1 and %(ceiling)d.") % {"ceiling": MAX_RECIPIENTS_CEILING}
        )
    Workspace.objects.filter(pk=workspace.pk).update(max_recipients=value)
    workspace.max_recipients = value


def workspace_undo_delay_set(*, workspace: Workspace, by: Membership, seconds: int) -> None:
    """The owner, and only the owner, sets how long a sent message can still be undone."""
    if by.workspace_id != workspace.pk or not by.is_owner:
        raise PermissionDenied(_("Only the workspace's owner can change the undo delay."))
    if not 0 <= seconds <= MAX_UNDO_SECONDS:
        raise ValidationError(
            _("The undo delay must be between 0 and %(ceiling)d seconds.")
            % {"ceiling": MAX_UNDO_SECONDS}
        )
    Workspace.objects.filter(pk=workspace.pk).update(undo_send_seconds=seconds)
    workspace.undo_send_seconds = seconds
