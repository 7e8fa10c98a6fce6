"""Signals of the privacy app.

`contact_gdpr_request` is sent by the contact form when a visitor files a "Demande RGPD";
`privacy.receivers` turns it into a `GdprRequest` that staff handle in the admin.
Arguments: `right` (one of `privacy.models.Right`), `name`, `email`, `message` (optional),
`received_at` (optional, defaults to now).
"""

from django.dispatch import Signal

contact_gdpr_request = Signal()
