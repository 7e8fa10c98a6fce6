"""What a visitor sent, read back (for staff in the admin and for the acknowledgement), and the
acknowledgement emails the tasks send once a contact message or a signup is stored."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from privacy.models import ContactMessage, WaitlistEntry
from privacy.site.paths import public_reverse
from privacy.site.site_keys import site_keys


def contact_open(contact: ContactMessage) -> dict[str, str]:
    """The sealed fields of a contact message, for staff (admin) and the acknowledgement."""
    keys = site_keys()
    row = str(contact.public_id)
    return {
        "name": keys.open_text(bytes(contact.name_sealed), field="contact.name", row=row),
        "email": keys.open_text(bytes(contact.email_sealed), field="contact.email", row=row),
        "message": keys.open_text(bytes(contact.message_sealed), field="contact.message", row=row),
    }


def contact_acknowledge(*, contact_id: int) -> None:
    contact = ContactMessage.objects.filter(pk=contact_id).first()
    if contact is None:  # erased meanwhile
        return
    opened = contact_open(contact)
    with translation.override(contact.language):
        # The visitor's own text is not echoed: the form must not relay anyone's words to
        # an address they typed.
        context = {"contact": contact, "name": opened["name"]}
        subject = render_to_string("privacy/public/email/contact_ack_subject.txt", context).strip()
        body = render_to_string("privacy/public/email/contact_ack_message.txt", context)
    send_mail(subject, body, None, [opened["email"]])


def waitlist_email(entry: WaitlistEntry) -> str:
    return site_keys().open_text(
        bytes(entry.email_sealed), field="waitlist.email", row=str(entry.public_id)
    )


def waitlist_acknowledge(*, entry_id: int) -> None:
    entry = WaitlistEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        return
    with translation.override(entry.language):
        context = {
            "entry": entry,
            "site_url": settings.SITE_URL,
            "policy_url": settings.SITE_URL + public_reverse("policy", entry.language),
        }
        subject = render_to_string("privacy/public/email/waitlist_ack_subject.txt", context).strip()
        body = render_to_string("privacy/public/email/waitlist_ack_message.txt", context)
    send_mail(subject, body, None, [waitlist_email(entry)])
