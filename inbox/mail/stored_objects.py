"""Which stored objects the inbox rows of a workspace point at (for the orphan sweep).

Every object the inbox writes is named here: a message's raw mail, an attachment's content,
an outgoing message's raw MIME, and a draft's files (listed inside its sealed content).
A new kind of object must be added here, or the sweep would take it for an orphan.
"""

from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.mail.sealing import open_json, outgoing_row
from inbox.models import Attachment, Message, Outgoing, SendState

BATCH = 2000


def object_keys_referenced(*, workspace: Workspace) -> set[str]:
    """Keys of the objects the workspace's inbox rows reference (raises if its key is gone)."""
    keys = keys_for(workspace)
    found: set[str] = set()
    columns = (
        (Message, "raw_object"),
        (Attachment, "object_key"),
        (Outgoing, "raw_object"),
    )
    for model, column in columns:
        rows = model.objects.filter(workspace=workspace).exclude(**{column: ""})
        found.update(rows.values_list(column, flat=True).iterator(chunk_size=BATCH))
    # Only drafts keep their files apart: once queued they are inside the raw MIME.
    drafts = Outgoing.objects.filter(
        workspace=workspace, state=SendState.DRAFT, content_sealed__isnull=False
    )
    for pk, sealed in drafts.values_list("pk", "content_sealed").iterator(chunk_size=BATCH):
        content = open_json(keys, sealed, field="outgoing.content", row=outgoing_row(pk))
        found.update(a["key"] for a in content.get("attachments") or [] if a.get("key"))
    return found
