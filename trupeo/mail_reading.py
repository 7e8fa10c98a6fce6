"""Mail made readable for a person at a terminal: decoded headers, text parts in clear.

The local trial prints every mail it would send (transactional mail, and replies caught by the
local SMTP catcher). Raw MIME is quoted-printable or base64 as soon as a French accent appears;
this turns it back into text.
"""

from email import message_from_bytes, policy
from email.message import EmailMessage

HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To")
RULE = "-" * 79


def readable(raw: bytes, *, envelope_to: list[str] | None = None) -> str:
    """The message as a person reads it: headers, then each text part, then attachments named."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    lines = [f"{name}: {message[name]}" for name in HEADERS if message[name] is not None]
    if envelope_to:
        lines.append(f"Delivered to: {', '.join(envelope_to)}")
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = part.get_filename()
        if filename or not content_type.startswith("text/"):
            size = len(part.get_payload(decode=True) or b"")
            lines += ["", f"[attachment: {filename or '(no name)'}, {content_type}, {size} bytes]"]
            continue
        try:
            text = part.get_content()
        except (LookupError, UnicodeError):  # an unknown or wrong charset: show what we can
            text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        lines += ["", f"[{content_type}]", text.rstrip()]
    return "\n".join(lines) + "\n"
