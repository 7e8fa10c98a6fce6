"""Where the privacy app listens to the others, and its public site to its GDPR operations
(connected in `PrivacyConfig.ready`)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from accounts.signals import master_key_rotated, processor_terms_accepted, workspace_created
from privacy.gdpr import processor_terms, retention
from privacy.gdpr.requests import gdpr_request_create
from privacy.site.signals import contact_gdpr_request
from privacy.site.site_keys import site_key_rotate


def on_contact_gdpr_request(
    sender, right, name, email, received_at=None, contact_message=None, **kwargs
) -> None:
    """A visitor filed a GDPR request through the contact form: open it for staff."""
    gdpr_request_create(
        right=right,
        name=name,
        email=email,
        received_at=received_at,
        source="contact form",
        contact=contact_message,
    )


def on_master_key_rotated(sender, **kwargs) -> None:
    """The public site's key follows the workspace keys to the newest master key."""
    site_key_rotate()


def connect() -> None:
    master_key_rotated.connect(on_master_key_rotated, dispatch_uid="privacy.site_key_rotate")
    contact_gdpr_request.connect(on_contact_gdpr_request, dispatch_uid="privacy.gdpr_request")
    processor_terms_accepted.connect(
        processor_terms.on_terms_accepted, dispatch_uid="privacy.processor_terms_owner"
    )
    workspace_created.connect(
        processor_terms.on_terms_accepted, dispatch_uid="privacy.processor_terms"
    )
    user_logged_in.connect(retention.on_login, dispatch_uid="privacy.security_login")
    user_login_failed.connect(retention.on_login_failed, dispatch_uid="privacy.security_failed")
    user_logged_out.connect(retention.on_logout, dispatch_uid="privacy.security_logout")
