"""The workspace's tags as the pages show them: names opened, blind tokens, per conversation."""

from dataclasses import dataclass

from accounts import workspace_lists
from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.mail.sealing import tag_row
from inbox.mail.search import fold
from inbox.models import ConversationTag, Tag
from trupeo.crypto import WorkspaceKeys


@dataclass(frozen=True)
class TagView:
    id: int
    name: str
    color: str


def _normalised(name: str) -> str:
    return " ".join(fold(name).split())


def tag_token(keys: WorkspaceKeys, name: str) -> int:
    return keys.search_token("tag:" + _normalised(name))


def tag_name(keys: WorkspaceKeys, tag: Tag) -> str:
    return keys.open_text(tag.name_sealed, field="tag.name", row=tag_row(tag.pk)) or ""


def workspace_tags(workspace: Workspace) -> list[TagView]:
    """Every tag of the workspace, decrypted, by name (a workspace has tens, not thousands)."""
    keys = keys_for(workspace)
    tags = [
        TagView(t.pk, tag_name(keys, t), t.color) for t in Tag.objects.filter(workspace=workspace)
    ]
    return sorted(tags, key=lambda t: fold(t.name))


def tags_listed(workspace: Workspace) -> list[TagView]:
    """`workspace_tags` as the inbox pages list them, kept in each process until the
    workspace's directory version moves (`accounts.workspace_lists`)."""
    return workspace_lists.kept(workspace, "tags", lambda: workspace_tags(workspace))


def tags_by_conversation(
    conversation_ids: list[int], tags: dict[int, TagView]
) -> dict[int, list[TagView]]:
    """The tags of each listed conversation, in one query (`tags`: the workspace's, by id)."""
    result: dict[int, list[TagView]] = {pk: [] for pk in conversation_ids}
    links = ConversationTag.objects.filter(conversation_id__in=conversation_ids).values_list(
        "conversation_id", "tag_id"
    )
    for conversation_id, tag_id in links:
        if tag_id in tags:
            result[conversation_id].append(tags[tag_id])
    for found in result.values():
        found.sort(key=lambda t: fold(t.name))
    return result
