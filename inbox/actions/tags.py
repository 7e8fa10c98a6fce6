"""Tags: create, rename, delete, and put on or take off conversations.

A tag's name is sealed like every label; its blind token (`tag_token`) keeps names unique per
workspace and lets `tag:` find it without storing the name in clear.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import User, Workspace
from inbox.actions.triage import record
from inbox.inbox_version import workspace_touched
from inbox.mail.recount import conversations_lock
from inbox.mail.sealing import tag_row
from inbox.models import ActivityKind, Conversation, ConversationTag, Tag, TagColor
from inbox.selectors.tags import tag_token

MAX_NAME = 40


def _clean(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("A tag needs a name."))
    if len(name) > MAX_NAME:
        raise ValidationError(_("A tag name has at most %(n)d characters.") % {"n": MAX_NAME})
    return name


def _check_color(color: str) -> str:
    if color not in TagColor.values:
        raise ValidationError(_("Unknown colour."))
    return color


@transaction.atomic
def tag_create(*, workspace: Workspace, name: str, color: str = TagColor.GREY) -> Tag:
    name = _clean(name)
    keys = keys_for(workspace)
    tag = Tag(
        workspace=workspace,
        name_sealed=b"",
        name_token=tag_token(keys, name),
        color=_check_color(color),
    )
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError:
        raise ValidationError(_("A tag with that name already exists.")) from None
    # Sealed under its own row id, known only once the row exists.
    tag.name_sealed = keys.seal_text(name, field="tag.name", row=tag_row(tag.pk))
    tag.save(update_fields=["name_sealed"])
    return tag


def tag_get_or_create(*, workspace: Workspace, name: str) -> Tag:
    keys = keys_for(workspace)
    existing = Tag.objects.filter(
        workspace=workspace, name_token=tag_token(keys, _clean(name))
    ).first()
    return existing or tag_create(workspace=workspace, name=name)


@transaction.atomic
def tag_update(*, tag: Tag, name: str, color: str) -> None:
    name = _clean(name)
    keys = keys_for(tag.workspace)
    token = tag_token(keys, name)
    if Tag.objects.filter(workspace_id=tag.workspace_id, name_token=token).exclude(pk=tag.pk):
        raise ValidationError(_("A tag with that name already exists."))
    tag.name_token = token
    tag.name_sealed = keys.seal_text(name, field="tag.name", row=tag_row(tag.pk))
    tag.color = _check_color(color)
    tag.save(update_fields=["name_token", "name_sealed", "color"])


def tag_delete(*, tag: Tag) -> None:
    """Takes the tag off every conversation; the trail keeps "a tag" without its name."""
    tag.delete()
    workspace_touched(tag.workspace_id)  # the lists show it on their rows


@transaction.atomic
def conversation_tag_add(*, conversation: Conversation, tag: Tag, actor: User | None) -> bool:
    if tag.workspace_id != conversation.workspace_id:
        raise ValidationError(_("That tag belongs to another workspace."))
    # The conversation first, as a merge or a batch of mail takes it: never a deadlock with
    # them over its report figures.
    conversations_lock([conversation.pk])
    created = ConversationTag.objects.get_or_create(conversation=conversation, tag=tag)[1]
    if created:
        record(conversation, actor, ActivityKind.TAGGED, tag=tag)
    return created


@transaction.atomic
def conversation_tag_remove(*, conversation: Conversation, tag: Tag, actor: User | None) -> bool:
    conversations_lock([conversation.pk])
    deleted = ConversationTag.objects.filter(conversation=conversation, tag=tag).delete()[0]
    if deleted:
        record(conversation, actor, ActivityKind.UNTAGGED, tag=tag)
    return bool(deleted)
