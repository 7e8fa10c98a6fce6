"""Writes of the public site: a contact message, a waitlist signup, their acknowledgements."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from privacy.models_public import ContactMessage, ContactSubject, WaitlistEntry
from privacy.public_paths import public_reverse
from privacy.signals import contact_gdpr_request
from privacy.site_keys import site_keys
from trupeo.queueing import enqueue_on_commit


def contact_submit(
    *, name: str, email: str, subject: str, gdpr_right: str, message: str, language: str
) -> ContactMessage:
    """Store a contact message sealed, hand a GDPR request to staff, acknowledge by email."""
    keys = site_keys()
    contact = ContactMessage(
        subject=subject,
        gdpr_right=gdpr_right if subject == ContactSubject.GDPR else "",
        language=language,
        received_at=timezone.now(),
    )
    row = str(contact.public_id)
    contact.name_sealed = keys.seal_text(name, field="contact.name", row=row)
    contact.email_sealed = keys.seal_text(email, field="contact.email", row=row)
    contact.message_sealed = keys.seal_text(message, field="contact.message", row=row)
    with transaction.atomic():
        contact.save()
        if contact.subject == ContactSubject.GDPR:
            # privacy.receivers opens the staff's GdprRequest from it, in this transaction:
            # the visitor is told "received" only if the request exists.
            contact_gdpr_request.send(
                sender=ContactMessage,
                right=contact.gdpr_right,
                name=name,
                email=email,
                message=message,
                received_at=contact.received_at,
                contact_message=contact,
            )
        from privacy.tasks_public import acknowledge_contact

        enqueue_on_commit(acknowledge_contact, contact.pk)
    return contact


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


def _email_token(email: str) -> int:
    return site_keys().search_token("waitlist:" + email.strip().lower())


def waitlist_join(*, email: str, audience: str, language: str) -> tuple[WaitlistEntry, bool]:
    """Add an address to the waitlist; (entry, created). A second signup changes nothing and
    sends nothing, so the form cannot be used to flood an address with mail."""
    keys = site_keys()
    token = _email_token(email)
    existing = WaitlistEntry.objects.filter(email_token=token).first()
    if existing is not None:
        return existing, False
    entry = WaitlistEntry(email_token=token, audience=audience, language=language)
    entry.email_sealed = keys.seal_text(email, field="waitlist.email", row=str(entry.public_id))
    try:
        with transaction.atomic():
            entry.save()
            from privacy.tasks_public import acknowledge_waitlist

            enqueue_on_commit(acknowledge_waitlist, entry.pk)
    except IntegrityError:  # the same address, at the same instant
        return WaitlistEntry.objects.get(email_token=token), False
    return entry, True


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
