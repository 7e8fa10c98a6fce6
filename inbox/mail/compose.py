"""Outgoing MIME: replies, reply-all, forwards and new messages from a shared address.

Pure construction, no network and no database writes: `inbox.mail.sending` calls `compose_message`
once per outgoing message (when it is queued) and seals the bytes, so every attempt sends the
same bytes with the same Message-ID.

What the answered message contributes is read through `original_of` (its sealed envelope and
text, and for a forward its attachments from sealed storage). The rules:

* From is "Mailbox name <shared address>"; the Message-ID is ours, `<uuid4 hex@domain>`;
* In-Reply-To names the answered message; References is its References (or In-Reply-To) plus
  its Message-ID, trimmed to the first and the latest ids when very long (RFC 5322 §3.6.4);
* "Re: " / "Fwd: " are added once, never doubled ("RE :", "TR:", "AW:" count as there);
* reply goes to Reply-To, else From (or back to the recipients when answering our own mail);
  reply-all adds To and Cc, minus the shared address, deduplicated without regard to case;
* the original is quoted under "Le 12 nov. 2026 à 10:15, Sophie a écrit :" (in the author's
  language); a forward carries the original's header block, its text and its attachments.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from django.core.exceptions import ValidationError
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from inbox.mail.addresses import (
    ascii_domain,
    decode_name,
    is_international,
    unicode_domain,
    validate_address,
)
from inbox.mail.rich_text import cid_tokens, html_message, signature_text
from inbox.mail.sealing import attachment_row, open_json, stored_message_row
from inbox.models import Attachment, Mailbox, Message, OutgoingKind
from trupeo.crypto import WorkspaceKeys
from trupeo.storage import ObjectStore, read_sealed

MAX_REFERENCES = 20  # ids kept in References: the first (thread root) and the latest 19
MAX_QUOTED_CHARS = 200_000  # a quote longer than this is cut (with a note), not sent whole

_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|r[ée]f\.?|aw|sv|antw|vs)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]", re.I
)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|tr|wg|enc|rv)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- recipients ---------------------------------------------------------------------------


def recipient(name: str, address: str) -> dict:
    # Kept decoded and with the domain in Unicode: that is how people read, type and compare them.
    local, at, domain = address.strip().lower().rpartition("@")
    return {
        "name": _CONTROL.sub(" ", decode_name(name or "")).strip(),
        "address": f"{local}@{unicode_domain(domain)}" if at else domain,
    }


def normalise_recipients(values: Iterable[str | dict] | str | None) -> list[dict]:
    """Addresses as [{"name", "address"}], validated and deduplicated (case-insensitively).

    Accepts dicts as the sealed envelopes hold them, or strings as a person types them
    ("Sophie Martin <sophie@exemple.fr>, paul@exemple.fr").
    """
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    found: list[dict] = []
    for value in values:
        if isinstance(value, dict):
            pairs = [(value.get("name") or "", value.get("address") or "")]
            shown = value.get("address") or ""
        else:
            typed = _CONTROL.sub(" ", str(value)).strip()
            if not typed:
                continue
            pairs = getaddresses([typed])
            shown = typed
        for name, address in pairs:
            try:
                validate_address(address.strip())
            except ValidationError:
                raise ValidationError(
                    _("“%(address)s” is not a valid email address."),
                    code="invalid_address",
                    params={"address": _shown(address, name, shown)},
                ) from None
            found.append(recipient(name, address))
    return dedupe(found)


def _shown(address: str, name: str, typed: str) -> str:
    """The part of what was typed to name in the error: the bad address when it is
    recognisable in it, else everything that was typed."""
    address = address.strip()
    if address and address in typed and ("," in typed or ";" in typed):
        return address
    return typed or address or name


def dedupe(addresses: Iterable[dict], *, exclude: Iterable[str] = ()) -> list[dict]:
    seen = {a.strip().lower() for a in exclude}
    unique = []
    for a in addresses:
        key = (a.get("address") or "").strip().lower()
        if key and key not in seen:
            seen.add(key)
            unique.append(recipient(a.get("name") or "", key))
    return unique


def reply_recipients(
    original: Original, *, mailbox_address: str, reply_all: bool
) -> tuple[list[dict], list[dict]]:
    """(To, Cc) of a reply to `original`, sent from `mailbox_address`."""
    ours = mailbox_address.strip().lower()
    sender = original.from_ or {}
    if (sender.get("address") or "").lower() == ours:
        # Answering our own message (a follow-up): write to the same people again.
        to = dedupe(original.to, exclude=[ours])
        cc = dedupe(original.cc, exclude=[ours, *(a["address"] for a in to)]) if reply_all else []
        return to, cc
    to = dedupe(original.reply_to or ([sender] if sender else []), exclude=[ours])
    if not reply_all:
        return to, []
    if not to:  # a Reply-To naming only ourselves: answer the sender
        to = dedupe([sender] if sender else [], exclude=[ours])
    others = [*original.to, *original.cc]
    if original.reply_to and sender:
        others.insert(0, sender)  # Reply-To went to To; the author still hears about it
    cc = dedupe(others, exclude=[ours, *(a["address"] for a in to)])
    return to, cc


# --- subject and references ------------------------------------------------------------------


def reply_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}".rstrip()


def forward_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    return subject if _FORWARD_PREFIX.match(subject) else f"Fwd: {subject}".rstrip()


def references_for(original: Original) -> list[str]:
    """The References of a reply to `original`: its own, then its Message-ID, trimmed."""
    chain = list(original.references) or ([original.in_reply_to] if original.in_reply_to else [])
    if original.message_id:
        chain.append(original.message_id)
    unique: list[str] = []
    for mid in chain:
        mid = mid.strip()
        if mid and mid not in unique:
            unique.append(mid)
    if len(unique) > MAX_REFERENCES:
        unique = [unique[0], *unique[-(MAX_REFERENCES - 1) :]]
    return unique


def new_message_id(address: str) -> str:
    domain = address.rpartition("@")[2].strip().lower() or "trupeo.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


# --- the answered message ----------------------------------------------------------------


@dataclass(frozen=True)
class OriginalAttachment:
    filename: str
    content_type: str
    is_inline: bool
    size: int
    read: Callable[[], bytes] = field(repr=False, compare=False)
    content_id: str = ""  # an image of the composer's HTML, "<token>" of "cid:<token>@trupeo"


@dataclass(frozen=True)
class Original:
    """What a reply or forward needs of the message it answers."""

    subject: str
    from_: dict
    to: list[dict]
    cc: list[dict]
    reply_to: list[dict]
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    date: datetime
    text: str
    attachments: tuple[OriginalAttachment, ...] = ()


def original_of(
    keys: WorkspaceKeys,
    message: Message,
    *,
    with_attachments: bool = False,
    store: ObjectStore | None = None,
) -> Original:
    """Open the sealed envelope and text of `message` (and list its attachments)."""
    row = stored_message_row(message)
    envelope = open_json(keys, message.envelope_sealed, field="message.envelope", row=row)
    text = keys.open_text(message.text_sealed, field="message.text", row=row) or ""
    attachments: tuple[OriginalAttachment, ...] = ()
    if with_attachments:
        attachments = tuple(
            _original_attachment(keys, a, row, store)
            for a in Attachment.objects.filter(message=message).order_by("position")
        )
    return Original(
        subject=envelope.get("subject") or "",
        from_=envelope.get("from") or {},
        to=envelope.get("to") or [],
        cc=envelope.get("cc") or [],
        reply_to=envelope.get("reply_to") or [],
        message_id=envelope.get("message_id") or "",
        in_reply_to=envelope.get("in_reply_to") or "",
        references=tuple(envelope.get("references") or ()),
        date=message.sent_at or message.received_at,
        text=text,
        attachments=attachments,
    )


def _original_attachment(
    keys: WorkspaceKeys, attachment: Attachment, row: str, store: ObjectStore | None
) -> OriginalAttachment:
    a_row = attachment_row(row, attachment.position)
    meta = open_json(keys, attachment.meta_sealed, field="attachment.meta", row=a_row)
    object_key = attachment.object_key
    return OriginalAttachment(
        filename=meta.get("filename") or "attachment",
        content_type=attachment.content_type or "application/octet-stream",
        is_inline=attachment.is_inline,
        size=attachment.size,
        read=lambda: read_sealed(
            object_key, keys, field="attachment.content", row=a_row, store=store
        ),
    )


# --- the text ------------------------------------------------------------------------------


def quote_header(original: Original) -> str:
    """'Le 12 nov. 2026 à 10:15, Sophie a écrit :' in the active language."""
    when = timezone.localtime(original.date) if timezone.is_aware(original.date) else original.date
    sender = original.from_ or {}
    return _("On %(date)s at %(time)s, %(name)s wrote:") % {
        "date": dateformat.format(when, "j N Y"),
        "time": dateformat.format(when, "H:i"),
        "name": sender.get("name") or sender.get("address") or _("someone"),
    }


def quote(text: str) -> str:
    text = _normalise_newlines(text).rstrip("\n")
    if len(text) > MAX_QUOTED_CHARS:
        text = text[:MAX_QUOTED_CHARS] + "\n" + _("[…] (the rest of the message is not quoted)")
    return "\n".join(">" if not line else f"> {line}" for line in text.split("\n"))


def _format_addresses(addresses: Sequence[dict]) -> str:
    return ", ".join(
        f"{a['name']} <{a['address']}>" if a.get("name") else a.get("address", "")
        for a in addresses
    )


def forward_block(original: Original) -> str:
    when = timezone.localtime(original.date) if timezone.is_aware(original.date) else original.date
    lines = [
        _("---------- Forwarded message ----------"),
        _("From: %(value)s") % {"value": _format_addresses([original.from_ or {}])},
        _("Date: %(value)s") % {"value": dateformat.format(when, "j N Y, H:i")},
        _("Subject: %(value)s") % {"value": original.subject},
        _("To: %(value)s") % {"value": _format_addresses(original.to)},
    ]
    if original.cc:
        lines.append(_("Cc: %(value)s") % {"value": _format_addresses(original.cc)})
    return "\n".join(lines) + "\n\n" + _normalise_newlines(original.text).rstrip("\n")


def body_text(
    *, kind: str, body: str, signature: str = "", original: Original | None = None
) -> str:
    parts = [_normalise_newlines(body).rstrip()]
    if signature.strip():  # an HTML signature has its text here, its markup in the HTML part
        parts.append("-- \n" + _normalise_newlines(signature_text(signature)).strip("\n"))
    if original is not None and kind in (OutgoingKind.REPLY, OutgoingKind.REPLY_ALL):
        parts.append(quote_header(original) + "\n" + quote(original.text))
    elif original is not None and kind == OutgoingKind.FORWARD:
        parts.append(forward_block(original))
    return "\n\n".join(p for p in parts if p) + "\n"


def _normalise_newlines(text: str) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


# --- the MIME --------------------------------------------------------------------------------


def _header_address(a: dict) -> Address:
    local, _at, domain = a["address"].rpartition("@")
    try:
        # The domain in IDNA form: the email package would otherwise encode it as a word.
        return Address(
            display_name=a.get("name") or "", username=local, domain=ascii_domain(domain)
        )
    except (ValueError, IndexError, TypeError) as error:
        raise ValidationError(
            _("“%(address)s” is not a valid email address."),
            code="invalid_address",
            params={"address": a["address"]},
        ) from error


def compose_message(
    *,
    mailbox: Mailbox,
    kind: str,
    to: Sequence[dict],
    cc: Sequence[dict] = (),
    subject: str,
    body: str,
    signature: str = "",
    original: Original | None = None,
    message_id: str,
    date: datetime,
    attachments: Sequence[OriginalAttachment] = (),
    html_body: str = "",
) -> EmailMessage:
    """The complete message to send (and to file in Sent). Bcc is never in the headers.

    `attachments` are the files the person added in the composer (any kind of message)."""
    # A non-ASCII local part has no ASCII form: the message is internationalised (RFC 6532),
    # and delivery hands it only to a server that offers SMTPUTF8.
    international = any(is_international(a["address"]) for a in (*to, *cc))
    msg = EmailMessage(policy=policy.SMTPUTF8 if international else policy.SMTP)
    msg["From"] = _header_address(recipient(mailbox.name, mailbox.address))
    if to:
        msg["To"] = [_header_address(a) for a in to]
    if cc:
        msg["Cc"] = [_header_address(a) for a in cc]
    msg["Subject"] = _CONTROL.sub(" ", subject or "").strip()
    msg["Date"] = format_datetime(timezone.localtime(date))
    msg["Message-ID"] = message_id
    if kind == OutgoingKind.AUTO:
        # RFC 3834: an automatic answer says so, and nothing automatic answers it back;
        # Exchange's own responders read the second header.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    if original is not None and kind != OutgoingKind.NEW:
        if original.message_id and kind != OutgoingKind.FORWARD:
            msg["In-Reply-To"] = original.message_id
        references = references_for(original)
        if references:
            msg["References"] = " ".join(references)
    text = body_text(kind=kind, body=body, signature=signature, original=original)
    # Quoted-printable rather than 8bit: the bytes are fixed before we know whether the
    # server speaks 8BITMIME, and 7-bit mail passes every relay unchanged.
    plain = text.isascii() and all(len(line) <= 900 for line in text.split("\n"))
    msg.set_content(text, charset="utf-8", cte="7bit" if plain else "quoted-printable")
    if html_body:  # written in the rich editor: an HTML part beside the text, images related
        _add_html(msg, kind=kind, html_body=html_body, signature=signature, original=original)
        used = cid_tokens(html_body)
        html_part = msg.get_payload()[-1]
        for image in attachments:
            if image.is_inline and image.content_id in used:
                maintype, _slash, subtype = image.content_type.partition("/")
                html_part.add_related(
                    image.read(),
                    maintype=maintype,
                    subtype=subtype,
                    cid=f"<{image.content_id}@trupeo>",
                    disposition="inline",
                )
    if original is not None and kind == OutgoingKind.FORWARD:
        for attachment in original.attachments:
            if attachment.is_inline:
                continue  # images of the HTML body, which a forward does not carry
            _attach(msg, attachment)
    for attachment in attachments:
        if not attachment.is_inline:
            _attach(msg, attachment)
    return msg


def _add_html(
    msg: EmailMessage, *, kind: str, html_body: str, signature: str, original: Original | None
) -> None:
    header, quoted = "", ""
    if original is not None and kind in (OutgoingKind.REPLY, OutgoingKind.REPLY_ALL):
        header, quoted = quote_header(original), original.text[:MAX_QUOTED_CHARS]
    elif original is not None and kind == OutgoingKind.FORWARD:
        quoted = forward_block(original)
    html = html_message(
        body_html=html_body, signature=signature, quote_header=header, quoted_text=quoted
    )
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")


def _attach(msg: EmailMessage, attachment: OriginalAttachment) -> None:
    maintype, _slash, subtype = attachment.content_type.lower().partition("/")
    filename = attachment.filename
    if maintype == "message" or not subtype or maintype == "multipart":
        # message/rfc822 may not be base64-encoded and may hold 8-bit bytes: send it as a
        # file, which every client still opens.
        maintype, subtype = "application", "octet-stream"
        if not filename.lower().endswith(".eml"):
            filename += ".eml"
    msg.add_attachment(attachment.read(), maintype=maintype, subtype=subtype, filename=filename)


def as_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=msg.policy)
