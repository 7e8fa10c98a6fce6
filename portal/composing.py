"""The RFC 5322 message a requester writes on the portal: from them, to the shared address."""

import mimetypes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from django.utils import timezone


def portal_mime(
    *,
    sender: str,
    sender_name: str,
    to: str,
    subject: str,
    body: str,
    in_reply_to: str = "",
    files: list = (),
) -> bytes:
    """`files`: uploaded files (name, content type, bytes read)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((sender_name, sender))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="portal." + to.rpartition("@")[2])
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    for upload in files:
        content_type = (
            upload.content_type
            or mimetypes.guess_type(upload.name)[0]
            or "application/octet-stream"
        )
        maintype, _sep, subtype = content_type.partition("/")
        if not subtype or "\n" in content_type or "\r" in content_type:
            maintype, subtype = "application", "octet-stream"
        upload.seek(0)
        message.add_attachment(
            upload.read(), maintype=maintype, subtype=subtype, filename=upload.name
        )
    return message.as_bytes()
