"""What a requester and the workspace's admins change in the portal."""

import secrets

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import User, Workspace
from inbox.mail.portal_intake import portal_message_take
from inbox.mail.sealing import seal_json
from inbox.models import Mailbox, Message
from portal.addresses import address_token, normalise
from portal.composing import portal_mime
from portal.models import Delegation, PortalProfile, PortalSettings
from portal.selectors import Viewer, conversation_for, profile_name, profile_row


def portal_reply(*, viewer: Viewer, conversation_id: int, body: str, files: list) -> Message:
    """The requester's reply, taken in as an inbound message of the conversation."""
    view = conversation_for(viewer, conversation_id)  # a 404 when not theirs
    if not view.can_reply:
        raise PermissionDenied("This conversation is shared with you read-only.")
    mailbox = Mailbox.objects.get(pk=view.mailbox_id, workspace=viewer.workspace)
    subject = view.entry.subject
    if subject and not subject.lower().startswith("re:"):
        subject = "Re: " + subject
    raw = portal_mime(
        sender=viewer.address,
        sender_name=profile_name(viewer.keys, viewer.workspace, viewer.address),
        to=mailbox.address,
        subject=subject,
        body=body,
        in_reply_to=view.last_message_id,
        files=files,
    )
    return portal_message_take(mailbox=mailbox, raw=raw)


def portal_request_open(*, viewer: Viewer, subject: str, body: str, files: list) -> Message:
    """A new request, landing in the mailbox the workspace chose for them."""
    settings_row = PortalSettings.objects.select_related("intake_mailbox").get(
        workspace=viewer.workspace
    )
    mailbox = settings_row.intake_mailbox
    if mailbox is None or mailbox.workspace_id != viewer.workspace.pk:
        raise PermissionDenied("This portal takes no new requests.")
    raw = portal_mime(
        sender=viewer.address,
        sender_name=profile_name(viewer.keys, viewer.workspace, viewer.address),
        to=mailbox.address,
        subject=subject,
        body=body,
        files=files,
    )
    return portal_message_take(mailbox=mailbox, raw=raw)


def profile_update(*, workspace: Workspace, address: str, name: str) -> None:
    keys = keys_for(workspace)
    sealed = keys.seal(
        name.strip().encode(), field="portal.name", row=profile_row(workspace, address)
    )
    PortalProfile.objects.update_or_create(
        workspace=workspace,
        address_token=address_token(keys, address),
        defaults={"name_sealed": sealed},
    )


@transaction.atomic
def delegation_create(
    *, workspace: Workspace, delegate: str, target: str, can_reply: bool, created_by: User
) -> Delegation:
    """`target`: an address, or "@domain" for every address of a domain."""
    keys = keys_for(workspace)
    delegate = normalise(delegate)
    target = target.strip().lower() if target.strip().startswith("@") else normalise(target)
    public_id = secrets.token_hex(16)
    return Delegation.objects.create(
        workspace=workspace,
        public_id=public_id,
        delegate_token=address_token(keys, delegate),
        content_sealed=seal_json(
            keys,
            {"delegate": delegate, "target": target},
            field="portal.delegation",
            row=f"portal_delegation:{public_id}",
        ),
        can_reply=can_reply,
        created_by=created_by,
    )


def delegation_revoke(*, delegation: Delegation) -> None:
    Delegation.objects.filter(pk=delegation.pk, revoked_at=None).update(revoked_at=timezone.now())


@transaction.atomic
def portal_settings_save(
    *,
    workspace: Workspace,
    mailboxes: list[Mailbox],
    intake_mailbox: Mailbox | None,
    remember_days: int,
    accent_color: str,
    logo: tuple[bytes, str] | None = None,
    remove_logo: bool = False,
) -> PortalSettings:
    row, _created = PortalSettings.objects.get_or_create(workspace=workspace)
    row.intake_mailbox = intake_mailbox
    row.remember_days = remember_days
    row.accent_color = accent_color
    if logo is not None:
        row.logo, row.logo_type = logo
    elif remove_logo:
        row.logo, row.logo_type = None, ""
    row.full_clean(exclude=["workspace"])
    row.save()
    row.mailboxes.set([m for m in mailboxes if m.workspace_id == workspace.pk])
    return row


def portal_enable(*, workspace: Workspace, address: str = "") -> PortalSettings:
    """Show every mailbox of the workspace in the portal (or the one named); the first shown
    mailbox takes new requests when none was chosen."""
    mailboxes = Mailbox.objects.filter(workspace=workspace).order_by("id")
    if address:
        mailboxes = mailboxes.filter(address__iexact=address.strip())
    chosen = list(mailboxes)
    if not chosen:
        raise Mailbox.DoesNotExist(address or "no mailbox")
    row, _created = PortalSettings.objects.get_or_create(workspace=workspace)
    row.mailboxes.add(*chosen)
    if row.intake_mailbox_id is None:
        row.intake_mailbox = chosen[0]
        row.save(update_fields=["intake_mailbox", "updated_at"])
    return row
