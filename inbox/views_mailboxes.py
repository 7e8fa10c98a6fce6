"""Connecting mailboxes (IMAP + SMTP) and watching their sync health.

Every member sees the mailboxes and their health; only admins connect, change, pause and
delete them. Passwords only travel from the form to the server test and into the sealed
credentials: they are never rendered back, logged or shown in error reports.
"""

import imaplib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST
from imapclient.imapclient import SENT

from accounts.access import (
    WorkspaceRequest,
    admin_required,
    get_in_workspace,
    in_workspace,
    member_required,
)
from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.forms import ImapMailboxForm, default_port
from inbox.imap import MailServerError, ServerSettings, describe, imap_connect, smtp_connect
from inbox.mailboxes import DEFAULT_FOLDERS, folder_rename, mailbox_create, mailbox_credentials
from inbox.models import (
    Attachment,
    Conversation,
    FolderRole,
    Mailbox,
    Message,
    Outgoing,
    Provider,
    SyncState,
)
from inbox.sealing import mailbox_row, seal_json
from trupeo.storage import object_store

logger = logging.getLogger(__name__)

# A mailbox whose last successful sync is older than this is shown as behind.
LAG_WARNING = timedelta(minutes=15)
PASSWORD_FIELDS = ("imap_password", "smtp_password")


# --------------------------------------------------------------------- connection test


@dataclass(frozen=True)
class ProtocolCheck:
    protocol: str
    ok: bool
    message: str


@dataclass(frozen=True)
class ConnectionReport:
    imap: ProtocolCheck
    smtp: ProtocolCheck
    # The server's Sent folder, when it could be found (SPECIAL-USE, then usual names).
    sent_folder: str = ""

    @property
    def ok(self) -> bool:
        return self.imap.ok and self.smtp.ok

    @property
    def checks(self) -> tuple[ProtocolCheck, ProtocolCheck]:
        return (self.imap, self.smtp)

    @property
    def error(self) -> str:
        """The first failure, as the health panel's sentence."""
        return next((c.message for c in self.checks if not c.ok), "")


@sensitive_variables("server")
def _imap_check(server: ServerSettings) -> tuple[ProtocolCheck, str]:
    try:
        client = imap_connect(server)
    except MailServerError as error:
        return ProtocolCheck("IMAP", False, str(error)), ""
    try:
        try:
            selected = client.select_folder("INBOX", readonly=True)
        except Exception as error:
            message = describe(error, host=server.host, protocol="IMAP", folder="INBOX")
            return ProtocolCheck("IMAP", False, message), ""
        count = int(selected.get(b"EXISTS", 0))
        try:
            sent = client.find_special_folder(SENT) or ""
        except (imaplib.IMAP4.error, OSError):
            sent = ""
        message = ngettext(
            "Logged in to %(host)s as %(username)s; the inbox holds %(count)s message.",
            "Logged in to %(host)s as %(username)s; the inbox holds %(count)s messages.",
            count,
        ) % {"host": server.host, "username": server.username, "count": count}
        if sent:
            message += " " + _("Sent folder: “%(folder)s”.") % {"folder": sent}
        else:
            message += " " + _(
                "No Sent folder was found: create one so that replies are kept on the server."
            )
        return ProtocolCheck("IMAP", True, message), sent
    finally:
        with suppress(Exception):
            client.logout()


@sensitive_variables("server")
def _smtp_check(server: ServerSettings) -> ProtocolCheck:
    try:
        smtp = smtp_connect(server)
    except MailServerError as error:
        return ProtocolCheck("SMTP", False, str(error))
    with suppress(Exception):
        smtp.quit()
    if server.username:
        message = _("Logged in to %(host)s as %(username)s: replies can be sent.")
    else:
        message = _("Connected to %(host)s: replies can be sent.")
    return ProtocolCheck("SMTP", True, message % {"host": server.host, "username": server.username})


def _in_language[T](language: str | None, check: Callable[[ServerSettings], T]):
    def run(server: ServerSettings) -> T:
        with translation.override(language):
            return check(server)

    return run


@sensitive_variables("imap", "smtp")
def connection_test(*, imap: ServerSettings, smtp: ServerSettings) -> ConnectionReport:
    """Log in to both servers (at the same time: each may take up to its timeout), open the
    inbox, look for the Sent folder, and say how it went. Saves nothing."""
    language = translation.get_language()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mailbox-test") as pool:
        imap_future = pool.submit(_in_language(language, _imap_check), imap)
        smtp_future = pool.submit(_in_language(language, _smtp_check), smtp)
        imap_check, sent = imap_future.result()
        smtp_check = smtp_future.result()
    return ConnectionReport(imap=imap_check, smtp=smtp_check, sent_folder=sent)


# --------------------------------------------------------------------- writes
# (Candidates for inbox.mailboxes, next to mailbox_create.)


def _failure_fields(report: ConnectionReport | None, now: datetime) -> dict:
    """Health columns after a connection test that failed, so the panel says why."""
    if report is None or report.ok:
        return {}
    return {
        "sync_state": SyncState.ERROR,
        "last_attempt_at": now,
        "last_error": report.error,
        "last_error_at": now,
        "consecutive_failures": 1,
    }


@sensitive_variables("credentials")
@transaction.atomic
def mailbox_connect_imap(
    *,
    workspace: Workspace,
    address: str,
    name: str,
    credentials: dict,
    server_fields: dict,
    report: ConnectionReport | None,
) -> Mailbox:
    """A new IMAP mailbox; its health starts from the connection test, if one was run."""
    now = timezone.now()
    health = _failure_fields(report, now)
    mailbox = mailbox_create(
        workspace=workspace,
        address=address,
        name=name,
        provider=Provider.IMAP,
        credentials=credentials,
        sync_state=health.pop("sync_state", SyncState.ACTIVE),
        **server_fields,
        **health,
    )
    sent = report.sent_folder if report is not None else ""
    if sent and sent != DEFAULT_FOLDERS[FolderRole.SENT]:
        folder = mailbox.folders.get(role=FolderRole.SENT)
        folder_rename(folder=folder, name=sent, workspace=workspace)
    return mailbox


@sensitive_variables("credentials")
@transaction.atomic
def mailbox_update_servers(
    *,
    mailbox: Mailbox,
    name: str,
    credentials: dict,
    server_fields: dict,
    report: ConnectionReport | None,
) -> None:
    """New server settings and passwords; a mailbox that was failing is retried from zero."""
    for field, value in server_fields.items():
        setattr(mailbox, field, value)
    mailbox.name = name
    mailbox.credentials_sealed = seal_json(
        keys_for(mailbox.workspace),
        credentials,
        field="mailbox.credentials",
        row=mailbox_row(mailbox.pk),
    )
    update = ["name", "credentials_sealed", *server_fields]
    failure = _failure_fields(report, timezone.now())
    if failure and mailbox.sync_state != SyncState.PAUSED:
        for field, value in failure.items():
            setattr(mailbox, field, value)
        update += list(failure)
    elif not failure and mailbox.sync_state in (SyncState.ERROR, SyncState.RECONNECT):
        mailbox.sync_state = SyncState.ACTIVE
        mailbox.consecutive_failures = 0
        update += ["sync_state", "consecutive_failures"]
    mailbox.save(update_fields=update)


def mailbox_set_paused(*, mailbox: Mailbox, paused: bool) -> None:
    """Pause (sync stops, nothing is deleted) or resume (the next pass picks it up)."""
    state = SyncState.PAUSED if paused else SyncState.ACTIVE
    if mailbox.sync_state == state:
        return
    mailbox.sync_state = state
    fields = ["sync_state"]
    if not paused:
        mailbox.consecutive_failures = 0
        fields.append("consecutive_failures")
    mailbox.save(update_fields=fields)


def _delete_objects(keys: list[str]) -> None:
    store = object_store()
    failed = 0
    for key in keys:
        try:
            store.delete(key)
        except Exception:
            failed += 1
    if failed:
        # Keys are opaque; never any content or address in the log.
        logger.error(
            "mailbox deletion: %d of %d stored objects could not be deleted", failed, len(keys)
        )


@transaction.atomic
def mailbox_destroy(*, mailbox: Mailbox) -> int:
    """Delete the mailbox and everything synced from it (the server's mail is untouched).

    Stored objects (raw messages, attachments) are deleted once the rows are gone for good.
    Returns the number of conversations deleted.
    """
    messages_qs = Message.objects.filter(mailbox=mailbox)
    keys = [k for k in messages_qs.values_list("raw_object", flat=True) if k]
    keys += [
        k
        for k in Attachment.objects.filter(message__mailbox=mailbox).values_list(
            "object_key", flat=True
        )
        if k
    ]
    keys += [
        k
        for k in Outgoing.objects.filter(mailbox=mailbox).values_list("raw_object", flat=True)
        if k
    ]
    conversations = Conversation.objects.filter(mailbox=mailbox).count()
    mailbox.delete()
    if keys:
        transaction.on_commit(lambda: _delete_objects(keys))
    return conversations


# --------------------------------------------------------------------- health panel


@dataclass(frozen=True)
class MailboxHealth:
    mailbox: Mailbox
    level: str  # ok, waiting, behind, failing, paused: a CSS modifier and a summary
    summary: str
    is_behind: bool
    error_is_current: bool

    @property
    def imap_summary(self) -> str:
        m = self.mailbox
        port = m.imap_port or default_port("imap", m.imap_security)
        return f"{m.imap_host}:{port} · {m.get_imap_security_display()}"

    @property
    def smtp_summary(self) -> str:
        m = self.mailbox
        port = m.smtp_port or default_port("smtp", m.smtp_security)
        return f"{m.smtp_host}:{port} · {m.get_smtp_security_display()}"


def mailbox_health(mailbox: Mailbox, now: datetime) -> MailboxHealth:
    success = mailbox.last_success_at
    error_is_current = bool(mailbox.last_error) and (
        success is None or (mailbox.last_error_at is not None and mailbox.last_error_at > success)
    )
    is_behind = success is not None and now - success > LAG_WARNING
    if mailbox.sync_state == SyncState.PAUSED:
        level, summary = "paused", _("Paused: no new mail is fetched until it is resumed.")
    elif mailbox.sync_state == SyncState.RECONNECT:
        level, summary = "failing", _("The server no longer accepts the login: reconnect it.")
    elif mailbox.sync_state == SyncState.ERROR or (
        error_is_current and mailbox.consecutive_failures
    ):
        level, summary = "failing", _("Sync is failing; it is retried automatically.")
    elif success is None:
        level, summary = "waiting", _("Waiting for the first sync.")
    elif is_behind:
        level, summary = "behind", _("Behind: the last successful sync is not recent.")
    else:
        level, summary = "ok", _("Up to date.")
    return MailboxHealth(
        mailbox=mailbox,
        level=level,
        summary=summary,
        is_behind=is_behind,
        error_is_current=error_is_current,
    )


# --------------------------------------------------------------------- views


@member_required
def mailbox_list(request: WorkspaceRequest) -> HttpResponse:
    now = timezone.now()
    rows = [mailbox_health(m, now) for m in in_workspace(request, Mailbox).order_by("address")]
    lag_minutes = int(LAG_WARNING.total_seconds() // 60)
    return render(request, "inbox/mailboxes.html", {"rows": rows, "lag_minutes": lag_minutes})


def _form_page(
    request: WorkspaceRequest,
    form: ImapMailboxForm | None,
    report: ConnectionReport | None,
    mailbox: Mailbox | None = None,
) -> HttpResponse:
    context = {"form": form, "report": report, "mailbox": mailbox}
    if mailbox is not None:
        context["health"] = mailbox_health(mailbox, timezone.now())
        context["conversation_count"] = Conversation.objects.filter(mailbox=mailbox).count()
    return render(request, "inbox/mailbox_form.html", context)


def _not_saved(request: WorkspaceRequest) -> None:
    messages.error(
        request,
        _(
            "Not saved: the connection test failed. Fix the settings, or tick “Save even if "
            "the connection test fails”."
        ),
    )


@sensitive_post_parameters(*PASSWORD_FIELDS)
@admin_required
def mailbox_add(request: WorkspaceRequest) -> HttpResponse:
    form = ImapMailboxForm(request.POST or None, workspace=request.workspace)
    report = None
    if request.method == "POST" and form.is_valid():
        report = connection_test(imap=form.imap_server(), smtp=form.smtp_server())
        if request.POST.get("action") != "test":
            if not report.ok and not form.cleaned_data["save_anyway"]:
                _not_saved(request)
                return _form_page(request, form, report)
            try:
                mailbox = mailbox_connect_imap(
                    workspace=request.workspace,
                    address=form.cleaned_data["address"],
                    name=form.cleaned_data["name"],
                    credentials=form.credentials(),
                    server_fields=form.server_fields(),
                    report=report,
                )
            except IntegrityError:
                form.add_error("address", _("This address is already connected here."))
                return _form_page(request, form, None)
            if report.ok:
                messages.success(
                    request,
                    _("%(address)s is connected; its mail will appear shortly.")
                    % {"address": mailbox.address},
                )
            else:
                messages.warning(
                    request,
                    _("%(address)s is saved, but its server does not answer yet: %(error)s")
                    % {"address": mailbox.address, "error": report.error},
                )
            return redirect("mailboxes")
    return _form_page(request, form, report)


@sensitive_post_parameters(*PASSWORD_FIELDS)
@admin_required
def mailbox_edit(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_in_workspace(request, Mailbox, pk=mailbox_id)
    if mailbox.provider != Provider.IMAP:
        # OAuth mailboxes have no server settings here: only pause and delete.
        return _form_page(request, None, None, mailbox)
    form = ImapMailboxForm(
        request.POST or None,
        workspace=request.workspace,
        instance=mailbox,
        stored_credentials=mailbox_credentials(mailbox) if request.method == "POST" else None,
    )
    report = None
    if request.method == "POST" and form.is_valid():
        report = connection_test(imap=form.imap_server(), smtp=form.smtp_server())
        if request.POST.get("action") != "test":
            if not report.ok and not form.cleaned_data["save_anyway"]:
                _not_saved(request)
                return _form_page(request, form, report, mailbox)
            mailbox_update_servers(
                mailbox=mailbox,
                name=form.cleaned_data["name"],
                credentials=form.credentials(),
                server_fields=form.server_fields(),
                report=report,
            )
            messages.success(
                request, _("The settings of %(address)s are saved.") % {"address": mailbox.address}
            )
            return redirect("mailboxes")
    return _form_page(request, form, report, mailbox)


@admin_required
@require_POST
def mailbox_pause(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_in_workspace(request, Mailbox, pk=mailbox_id)
    paused = request.POST.get("paused") == "1"
    mailbox_set_paused(mailbox=mailbox, paused=paused)
    if paused:
        message = _("%(address)s is paused: no new mail is fetched until you resume it.")
    else:
        message = _("%(address)s is resumed: new mail will appear shortly.")
    messages.success(request, message % {"address": mailbox.address})
    if request.POST.get("next") == "edit":
        return redirect("mailbox_edit", mailbox.pk)
    return redirect("mailboxes")


@admin_required
@require_POST
def mailbox_delete(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_in_workspace(request, Mailbox, pk=mailbox_id)
    typed = request.POST.get("confirm_address", "").strip().lower()
    if typed != mailbox.address.lower():
        messages.error(
            request,
            _("Nothing was deleted: type the address %(address)s exactly to confirm.")
            % {"address": mailbox.address},
        )
        return redirect("mailbox_edit", mailbox.pk)
    address = mailbox.address
    count = mailbox_destroy(mailbox=mailbox)
    messages.success(
        request,
        ngettext(
            "%(address)s is disconnected and its %(count)s conversation deleted from Trupeo.",
            "%(address)s is disconnected and its %(count)s conversations deleted from Trupeo.",
            count,
        )
        % {"address": address, "count": count},
    )
    return redirect("mailboxes")
