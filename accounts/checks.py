"""Deploy checks for what accounts sends: its mail must really leave."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def mail_is_delivered(app_configs, **kwargs) -> list[Warning]:
    if settings.TRUPEO_MAIL_TO_MEMORY and not settings.RESEND_API_KEY:
        return [
            Warning(
                "TRUPEO_MAIL_TO_MEMORY is on: no mail is delivered (password resets, "
                "invitations, staff codes). It is for tests and image builds only.",
                hint="Set RESEND_API_KEY and remove TRUPEO_MAIL_TO_MEMORY.",
                id="accounts.W001",
            )
        ]
    return []
