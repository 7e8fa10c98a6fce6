"""Writes of the public forms: a contact message and a waitlist signup, sealed under the site
key, and their acknowledgement queued (sent by `privacy.site.acknowledgements`)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from privacy import tasks
from privacy.models import ContactMessage, ContactSubject, WaitlistEntry
from privacy.site.signals import contact_gdpr_request
from privacy.site.site_keys import site_keys
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
        enqueue_on_commit(tasks.acknowledge_contact, contact.pk)
    return contact


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
            enqueue_on_commit(tasks.acknowledge_waitlist, entry.pk)
    except IntegrityError:  # the same address, at the same instant
        return WaitlistEntry.objects.get(email_token=token), False
    return entry, True
