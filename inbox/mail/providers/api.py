"""HTTP to a provider's API: the bearer token, pacing, backoff, and errors in words.

Throttle answers (429, Gmail's 403 rateLimitExceeded / userRateLimitExceeded) and passing
server trouble (500, 502, 503, 504) are waited out — `Retry-After` when the provider gives
one, else exponential backoff with jitter — a bounded number of times. A 401 refreshes the
token once. Statuses the caller handles itself (404 on an expired historyId, 410 on a lost
delta) are returned as they are.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox.mail.providers import ProviderError
from inbox.mail.providers.quota import Quota

logger = logging.getLogger(__name__)

TIMEOUT = (10, 60)  # connect, read (seconds)
MAX_ATTEMPTS = 8
BACKOFF_BASE = 0.5  # seconds; doubled at each attempt, at most BACKOFF_CAP
BACKOFF_CAP = 32.0
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
TRANSIENT = {500, 502, 503, 504}


def pause(seconds: float) -> None:
    """Waiting out a throttle (a function of its own, for tests to record)."""
    time.sleep(seconds)


class Throttled(ProviderError):
    """Still throttled or unavailable after every wait: try again later."""


class Unsure(ProviderError):
    """A request that must not be repeated blindly got no clear answer (server error)."""


def new_session(pool: int = 16) -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=pool)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def reasons(response: requests.Response) -> set[str]:
    """Gmail's `error.errors[].reason` and Graph's `error.code`."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return set()
    if not isinstance(error, dict):
        return {str(error)}
    found = {str(e.get("reason", "")) for e in error.get("errors", []) if isinstance(e, dict)}
    found.add(str(error.get("code", "")))
    found.add(str(error.get("status", "")))
    return found - {""}


def error_message(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
        text = error.get("message", "") if isinstance(error, dict) else str(error)
    except ValueError:
        text = ""
    return " ".join(str(text).split())[:200] or response.reason or ""


def is_throttled(response: requests.Response) -> bool:
    if response.status_code == 429:
        return True
    return response.status_code == 403 and bool(reasons(response) & RATE_REASONS)


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass
class Api:
    """One mailbox's API client. Safe to share between the threads of one sync."""

    base_url: str
    label: str  # "Gmail", "Microsoft 365": names the provider in errors
    token: Callable[[bool], str]  # token(force_refresh) -> access token
    quota: Quota
    concurrency: int = 8
    # Requests in flight at once across the threads (Graph: 4 per mailbox), None: no limit.
    slots: threading.BoundedSemaphore | None = None
    session: requests.Session = field(default_factory=new_session)
    throttle_waits: float = 0.0  # seconds waited on throttle answers

    def url(self, path: str) -> str:
        """The URL to call: a path under the provider's API, or a link the provider gave
        (Graph's next and delta links) — only if it points at that same API, as the access
        token goes with every request and is for that API alone."""
        if not path.startswith(("https://", "http://")):
            return self.base_url + path
        link, base = urlsplit(path), urlsplit(self.base_url)
        if (link.scheme, link.netloc.lower()) != (base.scheme, base.netloc.lower()) or (
            base.path and not (link.path + "/").startswith(base.path.rstrip("/") + "/")
        ):
            raise ProviderError(
                _(
                    "%(provider)s gave a link to another server; Trupeo does not send the "
                    "mailbox's access token there."
                )
                % {"provider": self.label}
            )
        return path

    def call(
        self,
        method: str,
        path: str,
        *,
        units: float = 1,
        ok: Collection[int] = (200,),
        passthrough: Collection[int] = (),
        retry_broken: bool = True,
        **kwargs,
    ) -> requests.Response:
        """`retry_broken=False` for a request that must not be repeated blindly (sending): a
        broken connection is raised as `requests.RequestException`, a server error as
        `Unsure`; only throttle answers, which say the request was not taken, are retried."""
        forced = False
        extra_headers = kwargs.pop("headers", {})
        for attempt in range(MAX_ATTEMPTS):
            headers = {**extra_headers, "Authorization": f"Bearer {self.token(False)}"}
            reserved = self.quota.acquire(units)
            try:
                with self.slots or contextlib.nullcontext():
                    response = self.session.request(
                        method, self.url(path), headers=headers, timeout=TIMEOUT, **kwargs
                    )
            except requests.RequestException as error:
                if not retry_broken:
                    raise
                if attempt == MAX_ATTEMPTS - 1:
                    raise ProviderError(
                        _("%(provider)s could not be reached (%(reason)s).")
                        % {"provider": self.label, "reason": type(error).__name__}
                    ) from error
                self._wait(attempt, None)
                continue
            finally:
                self.quota.release(reserved)
            status = response.status_code
            if status in ok:
                self.quota.succeeded()
                return response
            if status in passthrough:
                return response
            if status == 401 and not forced:
                forced = True
                self.token(True)  # the token was revoked or expired early: refresh once
                continue
            if status in TRANSIENT and not retry_broken:
                raise Unsure(
                    _("%(provider)s answered with a server error (%(status)s).")
                    % {"provider": self.label, "status": status}
                )
            if is_throttled(response) or status in TRANSIENT:
                if is_throttled(response):
                    self.quota.throttled_once()
                if attempt < MAX_ATTEMPTS - 1:
                    self._wait(attempt, retry_after(response))
                    continue
                raise Throttled(
                    _(
                        "%(provider)s keeps asking Trupeo to slow down or is unavailable "
                        "(%(status)s); the sync resumes at the next pass."
                    )
                    % {"provider": self.label, "status": status}
                )
            raise ProviderError(
                _("%(provider)s refused a request (%(status)s %(reason)s).")
                % {"provider": self.label, "status": status, "reason": error_message(response)}
            )
        raise ProviderError(_("%(provider)s did not answer.") % {"provider": self.label})

    def _wait(self, attempt: int, hint: float | None) -> None:
        if hint is None:
            delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * (0.5 + random.random() / 2)
        else:
            delay = min(hint, 300.0)
        self.throttle_waits += delay
        logger.info("%s: throttled or unavailable, waiting %.1fs", self.label, delay)
        pause(delay)
