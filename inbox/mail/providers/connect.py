"""Connecting a Gmail or Microsoft 365 mailbox over OAuth, reconnecting it, disconnecting it.

The flows run in the admin's browser: `*_start` returns the provider's authorization URL and
what the callback needs (kept in the session: the state, the PKCE verifier); `*_finish`
checks them, exchanges the code, asks the provider whose mailbox it is (Gmail's
users.getProfile, Graph's /me) and seals the tokens. Google's flow uses google-auth-oauthlib,
Microsoft's msal (which checks state and PKCE itself).
"""

from __future__ import annotations

import hmac
import logging
import warnings

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from google_auth_oauthlib.flow import Flow

from accounts.models import Workspace
from inbox.mail.mailboxes import folder_rename, mailbox_create, mailbox_credentials
from inbox.mail.providers import ProviderError
from inbox.mail.providers.api import TIMEOUT
from inbox.mail.providers.oauth import (
    GOOGLE_SCOPES,
    MICROSOFT_SCOPES,
    credentials_save,
    microsoft_app,
    provider_label,
    tokens_from,
)
from inbox.mail.push import push_configured, push_stop
from inbox.models import FolderRole, Mailbox, Provider, SyncState
from trupeo.queueing import enqueue_on_commit

logger = logging.getLogger(__name__)

# How the provider's folders are named, for the folder list (their identity is the role).
FOLDER_NAMES = {
    Provider.GOOGLE: {FolderRole.INBOX: "INBOX", FolderRole.SENT: "SENT"},
    Provider.MICROSOFT: {FolderRole.INBOX: "Inbox", FolderRole.SENT: "Sent Items"},
}


class ConnectError(Exception):
    """The connection did not go through; `str(error)` says why, for the admin."""


def is_configured(provider: str) -> bool:
    if provider == Provider.GOOGLE:
        return bool(settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET)
    if provider == Provider.MICROSOFT:
        return bool(settings.MICROSOFT_CLIENT_ID and settings.MICROSOFT_CLIENT_SECRET)
    return False


def configured_providers() -> list[tuple[str, str]]:
    """(provider, label) of each provider whose OAuth client is set: its button is shown."""
    return [
        (provider, provider_label(provider))
        for provider in (Provider.GOOGLE, Provider.MICROSOFT)
        if is_configured(provider)
    ]


def _google_flow(redirect_uri: str, **kwargs) -> Flow:
    return Flow.from_client_config(
        {
            "web": {
                "client_id": settings.GOOGLE_CLIENT_ID,
                "client_secret": settings.GOOGLE_CLIENT_SECRET,
                "auth_uri": settings.GOOGLE_AUTH_URL,
                "token_uri": settings.GOOGLE_TOKEN_URL,
            }
        },
        scopes=GOOGLE_SCOPES,
        redirect_uri=redirect_uri,
        **kwargs,
    )


def flow_start(*, provider: str, redirect_uri: str, login_hint: str = "") -> tuple[str, dict]:
    """(authorization URL, what to keep in the session for the callback)."""
    if provider == Provider.GOOGLE:
        flow = _google_flow(redirect_uri, autogenerate_code_verifier=True)
        extra = {"login_hint": login_hint} if login_hint else {}
        url, state = flow.authorization_url(
            access_type="offline",  # a refresh token
            prompt="consent",  # a refresh token again on a reconnection
            include_granted_scopes="false",
            **extra,
        )
        return url, {"provider": provider, "state": state, "verifier": flow.code_verifier}
    with warnings.catch_warnings():
        # msal suggests form_post; the callback needs the admin's session, whose cookie
        # (SameSite=Lax) a cross-site POST does not carry. The code travels in the query,
        # is single-use and worthless without the PKCE verifier kept in the session.
        warnings.filterwarnings("ignore", message="response_mode='form_post'")
        flow = microsoft_app().initiate_auth_code_flow(
            scopes=MICROSOFT_SCOPES,
            redirect_uri=redirect_uri,
            prompt="select_account",
            login_hint=login_hint or None,
            response_mode="query",
        )
    return flow["auth_uri"], {"provider": provider, "state": flow["state"], "flow": flow}


@sensitive_variables("pending", "result", "token", "credentials")
def flow_finish(*, pending: dict, params: dict[str, str], redirect_uri: str) -> tuple[str, dict]:
    """Check the callback against what the start kept; (connected address, credentials)."""
    if params.get("error"):
        if params["error"] == "access_denied":
            raise ConnectError(_("The access was not granted, so nothing was connected."))
        raise ConnectError(
            _("The provider refused the connection (%(error)s).") % {"error": params["error"][:100]}
        )
    state = params.get("state", "")
    if not pending or not state or not hmac.compare_digest(state, pending.get("state", "")):
        raise ConnectError(
            _("This connection link is out of date or was not started here. Start again.")
        )
    provider = pending["provider"]
    label = provider_label(provider)
    if provider == Provider.GOOGLE:
        flow = _google_flow(redirect_uri, state=state, code_verifier=pending["verifier"])
        try:
            result = flow.fetch_token(code=params.get("code", ""))
        except Warning as error:  # oauthlib raises it when fewer scopes were granted
            raise ConnectError(
                _(
                    "Google granted fewer permissions than Trupeo needs: allow reading, "
                    "labelling and sending mail, then try again."
                )
            ) from error
        except Exception as error:
            logger.warning("Google token exchange failed (%s)", type(error).__name__)
            raise ConnectError(
                _("Google did not accept the authorization code. Start again.")
            ) from error
        credentials = tokens_from(dict(result))
    else:
        try:
            result = microsoft_app().acquire_token_by_auth_code_flow(pending["flow"], params)
        except ValueError as error:  # msal: state mismatch or a replayed callback
            raise ConnectError(
                _("This connection link is out of date or was not started here. Start again.")
            ) from error
        if "access_token" not in result:
            logger.warning("Microsoft token exchange failed (%s)", result.get("error", ""))
            raise ConnectError(
                _("Microsoft did not accept the authorization (%(error)s). Start again.")
                % {"error": str(result.get("error", ""))[:100]}
            )
        if not result.get("refresh_token"):
            raise ConnectError(_("Microsoft gave no lasting access (offline_access). Start again."))
        credentials = tokens_from(result)
    if not credentials.get("refresh_token"):
        raise ConnectError(
            _("%(provider)s gave no lasting access. Start again.") % {"provider": label}
        )
    return address_of(provider, credentials["access_token"]), credentials


@sensitive_variables("token")
def address_of(provider: str, token: str) -> str:
    """The mailbox's address as the provider names it: Gmail's profile, Graph's /me."""
    label = provider_label(provider)
    if provider == Provider.GOOGLE:
        body = _get(
            f"{settings.GMAIL_API_BASE_URL.rstrip('/')}/gmail/v1/users/me/profile", token, label
        )
        address = body.get("emailAddress", "")
    else:
        body = _get(f"{settings.MICROSOFT_GRAPH_BASE_URL.rstrip('/')}/v1.0/me", token, label)
        address = body.get("mail") or body.get("userPrincipalName") or ""
    if "@" not in address:
        raise ConnectError(
            _("%(provider)s did not say which mailbox this is.") % {"provider": label}
        )
    return address.strip().lower()


@sensitive_variables("token")
def _get(url: str, token: str, label: str) -> dict:
    try:
        response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    except requests.RequestException as error:
        raise ConnectError(
            _("%(provider)s could not be reached (%(reason)s).")
            % {"provider": label, "reason": type(error).__name__}
        ) from error
    if response.status_code != 200:
        raise ConnectError(
            _("%(provider)s refused to name the mailbox (%(status)s).")
            % {"provider": label, "status": response.status_code}
        )
    return response.json()


@sensitive_variables("credentials")
def mailbox_connect_oauth(
    *,
    workspace: Workspace,
    provider: str,
    address: str,
    credentials: dict,
    reconnecting: Mailbox | None = None,
) -> tuple[Mailbox, bool]:
    """A new mailbox, or fresh tokens for the one with this address; (mailbox, created)."""
    address = address.strip().lower()
    label = provider_label(provider)
    if reconnecting is not None and reconnecting.address != address:
        raise ConnectError(
            _("You signed in to %(signed)s, but this is %(address)s: sign in to that account.")
            % {"signed": address, "address": reconnecting.address}
        )
    with transaction.atomic():
        existing = (
            Mailbox.objects.select_for_update()
            .select_related("workspace")
            .filter(workspace=workspace, address=address)
            .first()
        )
        if existing is not None:
            if existing.provider != provider:
                raise ConnectError(
                    _("%(address)s is already connected here through %(other)s.")
                    % {"address": address, "other": existing.get_provider_display()}
                )
            credentials_save(mailbox=existing, credentials=credentials)
            Mailbox.objects.filter(pk=existing.pk).update(
                sync_state=SyncState.ACTIVE,
                consecutive_failures=0,
                last_error="",
            )
            existing.refresh_from_db()
            _push_soon(existing)
            return existing, False
        try:
            with transaction.atomic():
                mailbox = mailbox_create(
                    workspace=workspace,
                    address=address,
                    provider=provider,
                    credentials=credentials,
                )
        except IntegrityError as error:  # connected at the same moment in another tab
            raise ConnectError(
                _("%(address)s is already connected here.") % {"address": address}
            ) from error
        for folder in mailbox.folders.all():
            folder_rename(
                folder=folder, name=FOLDER_NAMES[provider][folder.role], workspace=workspace
            )
    logger.info("mailbox %s connected through %s", mailbox.pk, label)
    _push_soon(mailbox)
    return mailbox, True


def _push_soon(mailbox: Mailbox) -> None:
    """New mail in seconds from now on (the hourly beat would start it too)."""
    if push_configured(mailbox.provider):
        from inbox.tasks import renew_push

        enqueue_on_commit(renew_push, mailbox.pk)


@sensitive_variables("credentials")
def mailbox_disconnect_oauth(*, mailbox: Mailbox) -> bool:
    """Revoke the grant where the provider allows it, then forget the tokens; the mailbox
    waits for a reconnection, its conversations stay. True when the provider confirmed the
    revocation (Google); Microsoft has no revocation of an authorization-code grant."""
    credentials = mailbox_credentials(mailbox) if mailbox.credentials_sealed else {}
    if credentials:
        push_stop(mailbox=mailbox)  # while Trupeo still holds a token to ask with
    revoked = False
    if mailbox.provider == Provider.GOOGLE and credentials.get("refresh_token"):
        revoked = google_revoke(credentials["refresh_token"])
    Mailbox.objects.filter(pk=mailbox.pk).update(
        credentials_sealed=None,
        sync_state=SyncState.RECONNECT,
        last_error=_("Disconnected: Trupeo holds no access to this mailbox any more."),
        last_error_at=timezone.now(),
    )
    mailbox.refresh_from_db()
    return revoked


def mailbox_forget_grant(*, mailbox: Mailbox) -> None:
    """Before a mailbox is deleted: its grant revoked where possible. Best effort: the
    deletion goes on even if Google cannot be reached (the tokens go with the row)."""
    if mailbox.credentials_sealed:
        push_stop(mailbox=mailbox)
    if mailbox.provider != Provider.GOOGLE or not mailbox.credentials_sealed:
        return
    try:
        token = mailbox_credentials(mailbox).get("refresh_token", "")
        if token:
            google_revoke(token)
    except Exception as error:
        logger.warning("mailbox %s: grant not revoked (%s)", mailbox.pk, type(error).__name__)


@sensitive_variables("token")
def google_revoke(token: str) -> bool:
    """Revoking the refresh token ends the whole grant. An already invalid token is fine."""
    try:
        response = requests.post(
            settings.GOOGLE_REVOKE_URL,
            data={"token": token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as error:
        raise ProviderError(
            _("Google could not be reached to revoke the access (%(reason)s); nothing changed.")
            % {"reason": type(error).__name__}
        ) from error
    if response.status_code == 200:
        return True
    if response.status_code == 400:  # invalid_token: already revoked or expired
        return True
    raise ProviderError(
        _("Google refused to revoke the access (%(status)s); nothing changed.")
        % {"status": response.status_code}
    )
