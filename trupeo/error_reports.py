"""What the debug page and error emails may show: no password, even one inside a URL.

Django hides settings whose *name* looks secret (KEY, TOKEN, PASS…), but `REDIS_URL`,
`DATABASE_URL`, `CELERY_BROKER_URL` or a cache's `LOCATION` carry their password inside the
value (`redis://:secret@host/0`). This filter also masks the password of every URL-shaped
value, in settings, request headers and environment, traceback variables and the
exception's message.

And the logs never carry a link's secret: Django logs the path of every 4xx/5xx response
("Forbidden: /invitations/<token>/"), so `LinkSecretFilter` cuts the token out of such paths.
"""

import logging
import re
from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# scheme://user:password@ — the password ends at the last "@" before the host.
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/?#@\s]*:)(?P<password>[^\s/?#]*)@", re.I
)


def scrub_url_passwords(value: Any, substitute: str = "********") -> Any:
    """The value with every `scheme://user:password@` password masked, recursively."""
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: f"{m['head']}{substitute}@", value)
    if isinstance(value, dict):
        return {k: scrub_url_passwords(v, substitute) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_url_passwords(v, substitute) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub_url_passwords(v, substitute) for v in value)
    return value


class UrlPasswordFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key, value):
        # The parent recurses into dicts, lists and tuples through this method.
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return scrub_url_passwords(cleansed, self.cleansed_substitute)
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, scrub_url_passwords(value, self.cleansed_substitute))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class UrlPasswordReporter(ExceptionReporter):
    """The exception's own message may hold a URL too ("cannot reach redis://:pw@…")."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if "exception_value" in data:
            data["exception_value"] = scrub_url_passwords(
                str(data["exception_value"]), self.filter.cleansed_substitute
            )
        return data


# Paths whose last segment is a secret: invitations, address confirmations, password resets,
# the requester portal's sign-in links.
_SECRET_PATH = re.compile(
    r"(/invitations/|/confirm-email/|/password/reset/key/|/signin/)[^/\s?#\"']+"
)


def mask_link_secrets(text: str) -> str:
    """The text with the token of every invitation, confirmation or reset link masked."""
    return _SECRET_PATH.sub(r"\1********", text)


class LinkSecretFilter(logging.Filter):
    """Logging filter: mask the token of invitation, confirmation and password-reset links."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = mask_link_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
