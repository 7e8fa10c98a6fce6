"""Deleting a workspace, an account or one person's mail, for good.

Workspace: the deletion is recorded in the ledger first (so a restored backup can never bring
it back), then the workspace key is destroyed (crypto-shredding: from that instant nothing
sealed can be read, even from a backup, once the master keys of that time are retired), then
every row, stored object and index entry goes. Billing records are kept apart: invoices
point at the workspace with SET_NULL and carry their own snapshot, for the 10 years the law
requires; so do the acceptances of the data-processing terms, which are the contract. A
receipt is emailed to the owner.

Account: a user who owns a workspace must transfer it or delete it first; otherwise their
memberships, sessions, security log and login addresses go with the account, and what they
wrote in a workspace (notes, replies) stays with that workspace, unattributed.

Person (GDPR erasure on the client's instruction, from the admin or `manage.py person_erase`):
the erasure is recorded in the ledger first, as a keyed digest of the address (never the
address), then every message from or to them goes with its files (`inbox.erasure`). A restore
replays it: what was stored before the erasure goes again, mail they sent since stays.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.keys import workspace_key_destroy
from accounts.models import Membership, Role, User, Workspace
from contacts.gdpr import person_contacts_erase, person_contacts_find
from inbox.erasure import (
    ErasureResult,
    PersonReference,
    person_mail_erase,
    person_mail_find,
    person_reference,
    workspace_mail_delete,
)
from portal.gdpr import person_portal_erase
from privacy.gdpr.ledger import ledger_append
from trupeo.storage import ObjectStore, object_store, workspace_prefix

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeletionReceipt:
    workspace_id: int
    name: str
    deleted_at: object
    objects: int


def workspace_delete(
    *,
    workspace: Workspace,
    actor: User | None,
    store: ObjectStore | None = None,
    record: bool = True,
    notify: bool = True,
) -> DeletionReceipt:
    """Delete a workspace and everything in it. `record=False` only for ledger replays."""
    store = store or object_store()
    owner = (
        Membership.objects.filter(workspace=workspace, role=Role.OWNER)
        .select_related("user")
        .first()
    )
    recipient = owner.user if owner else actor
    workspace_id = workspace.pk  # None once the row is deleted
    if record:
        ledger_append(
            kind="workspace", id=workspace.pk, created_at=workspace.created_at, store=store
        )
    workspace_key_destroy(workspace=workspace)
    objects = workspace_mail_delete(workspace=workspace, store=store)
    with transaction.atomic():
        # Sessions still pointing at the workspace fall back to another one (or none).
        User.objects.filter(last_workspace=workspace).update(last_workspace=None)
        # Cascades to memberships, invitations, exports…; the terms accepted (the contract)
        # stay, detached with their own snapshot, as invoices do.
        workspace.delete()
    # Objects written meanwhile by a job still running (an export) go too.
    objects += store.delete_prefix(workspace_prefix(workspace_id))
    receipt = DeletionReceipt(
        workspace_id=workspace_id, name=workspace.name, deleted_at=timezone.now(), objects=objects
    )
    logger.info("workspace %s deleted (%d objects)", receipt.workspace_id, objects)
    if notify and recipient is not None:
        _receipt_mail(recipient, receipt)
    return receipt


def _receipt_mail(user: User, receipt: DeletionReceipt) -> None:
    with translation.override(user.language):
        context = {"user": user, "receipt": receipt}
        subject = render_to_string(
            "privacy/account/email/workspace_deleted_subject.txt", context
        ).strip()
        body = render_to_string("privacy/account/email/workspace_deleted_message.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email]))


def account_delete_check(user: User) -> None:
    owned = list(
        Membership.objects.filter(user=user, role=Role.OWNER).values_list(
            "workspace__name", flat=True
        )
    )
    if owned:
        raise ValidationError(
            _(
                "You own %(names)s. Transfer ownership to another member or delete the "
                "workspace first, then delete your account."
            )
            % {"names": ", ".join(f"« {n} »" for n in owned)}
        )


def account_delete(
    *,
    user: User,
    store: ObjectStore | None = None,
    record: bool = True,
    notify: bool = True,
    check: bool = True,
) -> None:
    """Delete a user account (refused while the user owns a workspace).

    `record`, `notify` and `check` are turned off only by ledger replays after a restore.
    """
    if check:
        account_delete_check(user)
    elif Membership.objects.filter(user=user, role=Role.OWNER).exists():
        logger.warning("replaying the deletion of user %s, who owns a workspace here", user.pk)
    if record:
        ledger_append(kind="user", id=user.pk, created_at=user.date_joined, store=store)
    email, language = user.email, user.language
    with transaction.atomic():
        _sessions_end(user)
        user.delete()  # memberships, addresses, security log; notes stay, unattributed
    if not notify:
        return
    with translation.override(language):
        subject = render_to_string("privacy/account/email/account_deleted_subject.txt").strip()
        body = render_to_string("privacy/account/email/account_deleted_message.txt")
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))


def person_erase(
    *, workspace: Workspace, address: str, store: ObjectStore | None = None
) -> ErasureResult:
    """Erase every message of `workspace` from or to `address` (ValueError if no address).

    Nothing is recorded when nothing is found (a typo leaves no trace in the ledger).
    """
    store = store or object_store()
    person = person_reference(workspace=workspace, address=address)
    found = person_mail_find(workspace=workspace, person=person)
    contacts = person_contacts_find(workspace=workspace, digest=person.digest)
    if not found.nothing or contacts:
        ledger_append(
            kind="person",
            id=workspace.pk,
            created_at=workspace.created_at,
            digest=person.digest,
            tokens=person.tokens,
            store=store,
        )
    # Their contact too: addresses, the team's note about them, links to conversations.
    person_contacts_erase(workspace=workspace, digest=person.digest)
    # And the portal's rows: their profile, sessions, sign-in links, delegations to or of them.
    person_portal_erase(workspace=workspace, address=address)
    return person_mail_erase(workspace=workspace, found=found, store=store)


def person_erase_replay(
    *,
    workspace: Workspace,
    person: PersonReference,
    erased_at: datetime,
    store: ObjectStore | None = None,
) -> ErasureResult:
    """Erase a person again after a restore, from their ledger entry: what was stored before
    the erasure (mail they sent since is theirs to have kept)."""
    found = person_mail_find(workspace=workspace, person=person, stored_before=erased_at)
    person_contacts_erase(workspace=workspace, digest=person.digest)
    return person_mail_erase(workspace=workspace, found=found, store=store)


def _sessions_end(user: User) -> None:
    """Log the user out everywhere (sessions are not linked to users in the database)."""
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
