"""Saved replies: canned answers per workspace (optionally per mailbox), sealed: create, change,
delete. Reading them and their variables: inbox.selectors.saved_replies."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import User, Workspace
from inbox.mail.sealing import saved_reply_row
from inbox.models import Mailbox, SavedReply
from trupeo.crypto import WorkspaceKeys

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 20_000


# --- variables --------------------------------------------------------------------------------


# --- the saved replies ------------------------------------------------------------------------


def _clean(title: str, body: str) -> tuple[str, str]:
    title = " ".join((title or "").split())
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not title:
        raise ValidationError(_("Give the saved reply a title."), code="no_title")
    if len(title) > MAX_TITLE_CHARS:
        raise ValidationError(
            _("A title may have %(limit)s characters at most.") % {"limit": MAX_TITLE_CHARS}
        )
    if not body.strip():
        raise ValidationError(_("A saved reply cannot be empty."), code="no_body")
    if len(body) > MAX_BODY_CHARS:
        raise ValidationError(
            _("A saved reply may have %(limit)s characters at most.") % {"limit": MAX_BODY_CHARS}
        )
    return title, body


def _check_mailbox(workspace: Workspace, mailbox: Mailbox | None) -> None:
    if mailbox is not None and mailbox.workspace_id != workspace.pk:
        raise ValueError("the mailbox belongs to another workspace")


def _seal(saved_reply: SavedReply, keys: WorkspaceKeys, title: str, body: str) -> None:
    row = saved_reply_row(saved_reply.pk)
    saved_reply.title_sealed = keys.seal_text(title, field="saved_reply.title", row=row)
    saved_reply.body_sealed = keys.seal_text(body, field="saved_reply.body", row=row)


def saved_reply_create(
    *, workspace: Workspace, mailbox: Mailbox | None, title: str, body: str, created_by: User
) -> SavedReply:
    title, body = _clean(title, body)
    _check_mailbox(workspace, mailbox)
    with transaction.atomic():
        # The row is the primary key: insert first, then seal under it.
        saved_reply = SavedReply.objects.create(
            workspace=workspace,
            mailbox=mailbox,
            title_sealed=b"",
            body_sealed=b"",
            created_by=created_by,
        )
        _seal(saved_reply, keys_for(workspace), title, body)
        saved_reply.save(update_fields=["title_sealed", "body_sealed"])
    return saved_reply


def saved_reply_update(
    *, saved_reply: SavedReply, mailbox: Mailbox | None, title: str, body: str
) -> SavedReply:
    title, body = _clean(title, body)
    _check_mailbox(saved_reply.workspace, mailbox)
    saved_reply.mailbox = mailbox
    _seal(saved_reply, keys_for(saved_reply.workspace), title, body)
    saved_reply.save(update_fields=["mailbox", "title_sealed", "body_sealed", "updated_at"])
    return saved_reply


def saved_reply_delete(*, saved_reply: SavedReply) -> None:
    saved_reply.delete()
