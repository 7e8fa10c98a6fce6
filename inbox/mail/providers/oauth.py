"""OAuth tokens of a mailbox: sealed with its credentials, refreshed ahead of expiry under a
per-mailbox lock, and "reconnection needed" when the provider refuses the refresh token.

The credentials (`Mailbox.credentials_sealed`) hold `refresh_token`, `access_token` and
`expires_at` (epoch seconds). A refresh happens inside `SELECT ... FOR UPDATE` of the mailbox
row: a sync and a send needing a token at the same moment refresh once, and a rotated
Microsoft refresh token is never lost to a race. `invalid_grant` moves the mailbox to
RECONNECT, emails the workspace admins once, and is never retried on its own.
"""

from __future__ import annotations

import logging
import threading
import time

import msal
import requests
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.admin_mail import workspace_admins_email
from accounts.keys import keys_for
from inbox.mail.mailboxes import mailbox_credentials
from inbox.mail.providers import ProviderError, ReconnectNeeded
from inbox.mail.providers.api import TIMEOUT
from inbox.mail.sealing import mailbox_row, seal_json
from inbox.models import Mailbox, Provider, SyncState

logger = logging.getLogger(__name__)

# A token this close to its expiry is refreshed before use: a long batch never starts with a
# token that dies halfway.
REFRESH_AHEAD = 300  # seconds
GOOGLE_SCOPES = [
    "https://www.googleapis.com/auth/gmail.modify",  # read, and change labels (read, starred)
    "https://www.googleapis.com/auth/gmail.send",
]
# msal adds openid, profile and offline_access (the refresh token) itself.
MICROSOFT_SCOPES = [
    "https://graph.microsoft.com/Mail.ReadWrite",
    "https://graph.microsoft.com/Mail.Send",
]


def provider_label(provider: str) -> str:
    return {Provider.GOOGLE: "Google", Provider.MICROSOFT: "Microsoft 365"}.get(provider, provider)


def microsoft_authority() -> str:
    return f"{settings.MICROSOFT_LOGIN_BASE_URL.rstrip('/')}/{settings.MICROSOFT_TENANT}"


def microsoft_app() -> msal.ConfidentialClientApplication:
    # No instance discovery: the authority is configured (and may be a sovereign cloud or,
    # in tests, a local fake); msal would otherwise ask login.microsoftonline.com about it.
    return msal.ConfidentialClientApplication(
        settings.MICROSOFT_CLIENT_ID,
        client_credential=settings.MICROSOFT_CLIENT_SECRET,
        authority=microsoft_authority(),
        instance_discovery=False,
        token_cache=msal.TokenCache(),  # ours is the sealed credentials, not msal's
    )


def tokens_from(result: dict, previous: dict | None = None) -> dict:
    """Credentials to seal from a token endpoint's answer (Google or msal)."""
    previous = previous or {}
    expires_in = int(result.get("expires_in") or 3600)
    return {
        "refresh_token": result.get("refresh_token") or previous.get("refresh_token", ""),
        "access_token": result["access_token"],
        "expires_at": time.time() + expires_in,
        "scope": result.get("scope") or previous.get("scope", ""),
    }


def is_fresh(credentials: dict) -> bool:
    return bool(credentials.get("access_token")) and (
        float(credentials.get("expires_at") or 0) - REFRESH_AHEAD > time.time()
    )


@sensitive_variables("credentials")
def credentials_save(*, mailbox: Mailbox, credentials: dict) -> None:
    mailbox.credentials_sealed = seal_json(
        keys_for(mailbox.workspace),
        credentials,
        field="mailbox.credentials",
        row=mailbox_row(mailbox.pk),
    )
    Mailbox.objects.filter(pk=mailbox.pk).update(credentials_sealed=mailbox.credentials_sealed)


class _InvalidGrant(Exception):
    pass


@sensitive_variables("refresh_token", "result")
def _refresh_google(refresh_token: str) -> dict:
    try:
        response = requests.post(
            settings.GOOGLE_TOKEN_URL,
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": settings.GOOGLE_CLIENT_ID,
                "client_secret": settings.GOOGLE_CLIENT_SECRET,
            },
            timeout=TIMEOUT,
        )
    except requests.RequestException as error:
        raise ProviderError(
            _("Google's sign-in service could not be reached (%(reason)s).")
            % {"reason": type(error).__name__}
        ) from error
    try:
        result = response.json()
    except ValueError:
        result = {}
    if response.status_code == 200 and result.get("access_token"):
        return result
    if result.get("error") == "invalid_grant":
        raise _InvalidGrant
    raise ProviderError(
        _("Google refused to renew the access token (%(status)s %(error)s).")
        % {"status": response.status_code, "error": str(result.get("error", ""))[:100]}
    )


@sensitive_variables("refresh_token", "result")
def _refresh_microsoft(refresh_token: str) -> dict:
    try:
        result = microsoft_app().acquire_token_by_refresh_token(
            refresh_token, scopes=MICROSOFT_SCOPES
        )
    except (requests.RequestException, ValueError) as error:
        raise ProviderError(
            _("Microsoft's sign-in service could not be reached (%(reason)s).")
            % {"reason": type(error).__name__}
        ) from error
    if result.get("access_token"):
        return result
    if result.get("error") == "invalid_grant":
        raise _InvalidGrant
    raise ProviderError(
        _("Microsoft refused to renew the access token (%(error)s).")
        % {"error": str(result.get("error", ""))[:100]}
    )


@sensitive_variables("refresh_token")
def refresh_grant(provider: str, refresh_token: str) -> dict:
    """A token endpoint's answer for this refresh token; ReconnectNeeded when refused."""
    refresh = _refresh_google if provider == Provider.GOOGLE else _refresh_microsoft
    try:
        return refresh(refresh_token)
    except _InvalidGrant:
        raise ReconnectNeeded(provider_label(provider)) from None


@sensitive_variables("credentials", "result")
def access_token(mailbox: Mailbox, *, rejected: str | None = None) -> str:
    """A usable access token for the mailbox, refreshed if it expires soon or if `rejected`
    (a token the API just refused) is still the stored one."""
    credentials = mailbox_credentials(mailbox)
    if is_fresh(credentials) and credentials["access_token"] != rejected:
        return credentials["access_token"]
    invalid = False
    # The row lock serialises refreshes across processes (PostgreSQL); this lock does it
    # between the threads of one process, where SQLite has no row locks.
    with _process_lock(mailbox.pk), transaction.atomic():
        locked = Mailbox.objects.select_for_update().select_related("workspace").get(pk=mailbox.pk)
        credentials = mailbox_credentials(locked)
        if is_fresh(credentials) and credentials["access_token"] != rejected:
            mailbox.credentials_sealed = locked.credentials_sealed
            return credentials["access_token"]  # another worker refreshed it meanwhile
        if locked.sync_state == SyncState.RECONNECT or not credentials.get("refresh_token"):
            raise ReconnectNeeded(provider_label(locked.provider))
        refresh = _refresh_google if locked.provider == Provider.GOOGLE else _refresh_microsoft
        try:
            result = refresh(credentials["refresh_token"])
        except _InvalidGrant:
            invalid = True
        else:
            credentials = tokens_from(result, credentials)
            credentials_save(mailbox=locked, credentials=credentials)
            mailbox.credentials_sealed = locked.credentials_sealed
            logger.info("mailbox %s: access token refreshed", mailbox.pk)
            return credentials["access_token"]
    if invalid:  # outside the lock's transaction, so that the new state is committed
        mailbox_mark_reconnect(mailbox=mailbox)
    raise ReconnectNeeded(provider_label(mailbox.provider))


_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _process_lock(mailbox_id: int) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(mailbox_id, threading.Lock())


class TokenSource:
    """The access token of one mailbox for the threads of one sync or send.

    Kept in memory between calls; refreshed (through the database lock) when it nears its
    expiry or the API refused it. A refresh from a worker thread closes that thread's
    database connection afterwards, so that no connection is left behind.
    """

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0
        self._owner = threading.get_ident()

    def __call__(self, force: bool) -> str:
        with self._lock:
            if force or not self._token or self._expires_at - REFRESH_AHEAD <= time.time():
                try:
                    self._token = access_token(
                        self.mailbox, rejected=self._token if force else None
                    )
                finally:
                    if threading.get_ident() != self._owner:
                        connection.close()
                credentials = mailbox_credentials(self.mailbox)
                self._expires_at = float(credentials.get("expires_at") or 0)
            return self._token


def mailbox_mark_reconnect(*, mailbox: Mailbox) -> bool:
    """RECONNECT, said in words on the health panel; the admins are emailed once (on the
    change of state, never again while it stays so). True if the state changed."""
    message = str(ReconnectNeeded(provider_label(mailbox.provider)))
    now = timezone.now()
    changed = (
        Mailbox.objects.filter(pk=mailbox.pk)
        .exclude(sync_state=SyncState.RECONNECT)
        .update(sync_state=SyncState.RECONNECT, last_error=message, last_error_at=now)
    )
    if changed:
        logger.warning("mailbox %s: refresh token refused, reconnection needed", mailbox.pk)
        pk = mailbox.pk
        transaction.on_commit(lambda: _email_admins(pk))
    return bool(changed)


def _email_admins(mailbox_id: int) -> None:
    mailbox = Mailbox.objects.select_related("workspace").get(pk=mailbox_id)
    url = settings.SITE_URL + reverse("mailbox_edit", args=[mailbox.pk])
    context = {
        "mailbox": mailbox,
        "workspace": mailbox.workspace,
        "provider": provider_label(mailbox.provider),
        "url": url,
    }
    workspace_admins_email(
        mailbox.workspace,
        "inbox/oauth_reconnect_subject.txt",
        "inbox/oauth_reconnect_email.txt",
        context,
    )
