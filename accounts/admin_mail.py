"""Mail every owner and admin of a workspace, each in their own language.

Used when something needs an admin's hand (a webhook endpoint disabled, a mailbox to
reconnect): the subject and body are rendered per recipient so the language follows them.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import Membership, Role, Workspace


def workspace_admins_email(
    workspace: Workspace, subject_template: str, body_template: str, context: dict
) -> int:
    """Send the rendered subject/body to each owner and admin; the count of mails sent."""
    admins = Membership.objects.filter(
        workspace=workspace, role__in=[Role.OWNER, Role.ADMIN]
    ).select_related("user")
    sent = 0
    for membership in admins:
        user = membership.user
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            subject = render_to_string(subject_template, context).strip()
            body = render_to_string(body_template, context)
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent
