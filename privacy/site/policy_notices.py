"""Telling every active user, by email, of a substantial change to the privacy policy.

Run by a task (`privacy.tasks.send_policy_notices`) queued when the version is published.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, mailers
from django.template.loader import render_to_string
from django.utils import timezone, translation

from privacy.models import PolicyVersion
from privacy.site.paths import public_reverse

NOTICE_BATCH = 200


def policy_notices_send(*, policy_id: int, batch_size: int = NOTICE_BATCH) -> int:
    """Email every active user about a substantial change, in batches; returns how many.

    Progress is kept on the version after each batch (users in id order), so a task that
    is retried after a crash resumes where it stopped instead of writing to everyone again.
    """
    policy = PolicyVersion.objects.get(pk=policy_id)
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    sent = 0
    while True:
        batch = list(
            users.filter(pk__gt=policy.notified_through_user_id).only("pk", "email", "language")[
                :batch_size
            ]
        )
        if not batch:
            break
        messages = []
        for user in batch:
            language = user.language or settings.LANGUAGE_CODE
            with translation.override(language):
                context = {
                    "policy": policy,
                    "policy_url": settings.SITE_URL
                    + public_reverse("policy", language)
                    + f"?version={policy.version.isoformat()}",
                }
                subject = render_to_string(
                    "privacy/public/email/policy_notice_subject.txt", context
                ).strip()
                body = render_to_string("privacy/public/email/policy_notice_message.txt", context)
            messages.append(EmailMessage(subject, body, None, [user.email]))
        mailers.default.send_messages(messages)
        sent += len(messages)
        policy.notified_through_user_id = batch[-1].pk
        policy.notices_sent += len(messages)
        policy.save(update_fields=["notified_through_user_id", "notices_sent"])
    policy.notices_done_at = timezone.now()
    policy.save(update_fields=["notices_done_at"])
    return sent
