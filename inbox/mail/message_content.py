"""One message's content, made safe to keep: parsed, indexed, sealed, its objects written.

This is the CPU- and disk-heavy half of ingesting a message, and it needs no database: the
row every sealed value is bound to is known from the mailbox and the provider key alone. So
a big sync runs it in a forked worker (`inbox.mail.preparing`) while the main process threads and
stores the previous batch; everything else calls it in-process through `ingest_batch`.

Objects are written with deferred durability: the caller flushes the store once per batch,
before any row that points at them is committed.
"""

from dataclasses import dataclass, replace

from inbox.mail.parsing import ParsedMessage, parse_message
from inbox.mail.sealing import attachment_row, message_row, seal_json
from inbox.mail.search import message_tokens
from trupeo.crypto import WorkspaceKeys
from trupeo.storage import ObjectStore, put_sealed


@dataclass(frozen=True)
class SealedAttachment:
    """An attachment's row values; its content is already in the store."""

    position: int
    meta_sealed: bytes
    content_type: str
    size: int
    is_inline: bool
    object_key: str


@dataclass(frozen=True)
class Prepared:
    """What a message's row needs, with every piece of content sealed.

    `headers` is the parse without its content (bodies and attachment bytes emptied): what
    threading, rules and the conversation summary read. The content itself is only here
    sealed, so it never crosses back from the worker in clear or twice.
    """

    headers: ParsedMessage
    tokens: list[int]
    envelope_sealed: bytes
    text_sealed: bytes
    html_sealed: bytes | None
    raw_object: str
    raw_size: int
    attachments: tuple[SealedAttachment, ...]


def address_json(a) -> dict:
    return {"name": a.name, "address": a.address} if a else {}


def _envelope(parsed: ParsedMessage) -> dict:
    return {
        "subject": parsed.subject,
        "from": address_json(parsed.from_),
        "to": [address_json(a) for a in parsed.to],
        "cc": [address_json(a) for a in parsed.cc],
        "bcc": [address_json(a) for a in parsed.bcc],
        "reply_to": [address_json(a) for a in parsed.reply_to],
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": list(parsed.references),
        "snippet": parsed.snippet,
        "problems": list(parsed.parse_problems),
    }


def prepare(
    keys: WorkspaceKeys, store: ObjectStore, *, mailbox_id: int, provider_key: str, raw: bytes
) -> Prepared:
    """Parse, index and seal one message; write its raw bytes and attachments (not flushed)."""
    p = parse_message(raw)
    row = message_row(mailbox_id, provider_key)
    raw_object = put_sealed(keys, [raw], field="message.raw", row=row, store=store, durable=False)
    attachments = []
    for index, part in enumerate(p.attachments):
        a_row = attachment_row(row, index)
        attachments.append(
            SealedAttachment(
                position=index,
                meta_sealed=seal_json(
                    keys,
                    {"filename": part.filename, "content_id": part.content_id, "index": index},
                    field="attachment.meta",
                    row=a_row,
                ),
                content_type=part.content_type[:120],
                size=part.size,
                is_inline=part.is_inline,
                object_key=put_sealed(
                    keys,
                    [part.payload],
                    field="attachment.content",
                    row=a_row,
                    store=store,
                    durable=False,
                ),
            )
        )
    return Prepared(
        headers=replace(
            p,
            text="",
            html="",
            attachments=tuple(replace(a, payload=b"") for a in p.attachments),
        ),
        tokens=message_tokens(keys, p),
        envelope_sealed=seal_json(keys, _envelope(p), field="message.envelope", row=row),
        text_sealed=keys.seal_text(p.text, field="message.text", row=row),
        html_sealed=keys.seal_text(p.html, field="message.html", row=row) if p.html else None,
        raw_object=raw_object,
        raw_size=len(raw),
        attachments=tuple(attachments),
    )
