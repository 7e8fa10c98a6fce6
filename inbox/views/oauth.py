"""Connecting Gmail and Microsoft 365 mailboxes over OAuth (admins only).

    POST  connect   → the provider's consent page (state + PKCE kept in the session)
    GET   callback  ← the provider, with code + state: checked, exchanged, sealed
    POST  reconnect → the same flow for a mailbox that needs it (the same account only)
    POST  disconnect: the grant revoked where the provider allows it, the tokens forgotten

Starting is a POST with the CSRF token: a link on another site cannot start a connection
in an admin's name.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import WorkspaceRequest, admin_required, get_in_workspace
from inbox.mail.providers import ProviderError
from inbox.mail.providers.connect import (
    ConnectError,
    flow_finish,
    flow_start,
    is_configured,
    mailbox_connect_oauth,
    mailbox_disconnect_oauth,
)
from inbox.models import Mailbox, Provider
from inbox.tasks import sync_mailbox
from trupeo.queueing import enqueue_on_commit

SESSION_KEY = "oauth_pending"
OAUTH_PROVIDERS = (Provider.GOOGLE, Provider.MICROSOFT)


def _redirect_uri(provider: str) -> str:
    # Registered with the provider exactly as built here: SITE_URL + the callback path.
    return settings.SITE_URL + reverse("oauth_callback", args=[provider])


def _checked(provider: str) -> str:
    if provider not in OAUTH_PROVIDERS or not is_configured(provider):
        raise Http404("This provider is not configured.")
    return provider


def _start(request: WorkspaceRequest, provider: str, mailbox: Mailbox | None) -> HttpResponse:
    url, pending = flow_start(
        provider=provider,
        redirect_uri=_redirect_uri(provider),
        login_hint=mailbox.address if mailbox else "",
    )
    pending["workspace_id"] = request.workspace.pk
    pending["mailbox_id"] = mailbox.pk if mailbox else None
    request.session[SESSION_KEY] = pending
    return redirect(url)


@admin_required
@require_POST
def oauth_connect(request: WorkspaceRequest, provider: str) -> HttpResponse:
    return _start(request, _checked(provider), None)


@admin_required
@require_POST
def oauth_reconnect(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_in_workspace(request, Mailbox, pk=mailbox_id, provider__in=OAUTH_PROVIDERS)
    return _start(request, _checked(mailbox.provider), mailbox)


@admin_required
@require_GET
def oauth_callback(request: WorkspaceRequest, provider: str) -> HttpResponse:
    provider = _checked(provider)
    pending = request.session.pop(SESSION_KEY, None) or {}
    try:
        if pending.get("provider") != provider or pending.get("workspace_id") != (
            request.workspace.pk
        ):
            raise ConnectError(
                _("This connection link is out of date or was not started here. Start again.")
            )
        reconnecting = None
        if pending.get("mailbox_id"):
            reconnecting = get_in_workspace(request, Mailbox, pk=pending["mailbox_id"])
        address, credentials = flow_finish(
            pending=pending, params=request.GET.dict(), redirect_uri=_redirect_uri(provider)
        )
        mailbox, created = mailbox_connect_oauth(
            workspace=request.workspace,
            provider=provider,
            address=address,
            credentials=credentials,
            reconnecting=reconnecting,
        )
    except (ConnectError, ProviderError) as error:
        messages.error(request, str(error))
        return redirect("mailboxes")
    enqueue_on_commit(sync_mailbox, mailbox.pk)  # or the next poll, if the broker is down
    if created:
        text = _("%(address)s is connected; its mail will appear shortly.")
    else:
        text = _("%(address)s is reconnected; its sync resumes.")
    messages.success(request, text % {"address": mailbox.address})
    return redirect("mailboxes")


@admin_required
@require_POST
def oauth_disconnect(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_in_workspace(request, Mailbox, pk=mailbox_id, provider__in=OAUTH_PROVIDERS)
    try:
        revoked = mailbox_disconnect_oauth(mailbox=mailbox)
    except ProviderError as error:
        messages.error(request, str(error))
        return redirect("mailbox_edit", mailbox.pk)
    if mailbox.provider == Provider.GOOGLE:
        text = _(
            "%(address)s is disconnected: Google confirmed that Trupeo's access is revoked. "
            "Its conversations stay here."
        )
        if not revoked:
            text = _("%(address)s is disconnected. Its conversations stay here.")
    else:
        text = _(
            "%(address)s is disconnected: Trupeo deleted its access tokens. Microsoft offers no "
            "way for an app to revoke this access itself; to remove Trupeo from the account, "
            "open “Apps” in the account's Microsoft settings. Its conversations stay here."
        )
    messages.success(request, text % {"address": mailbox.address})
    return redirect("mailbox_edit", mailbox.pk)
