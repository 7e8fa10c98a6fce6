"""Connecting mailboxes (IMAP + SMTP) and watching their sync health.

Every member sees the mailboxes and their health; only admins connect, change, pause and
delete them. Passwords only travel from the form to the server test and into the sealed
credentials: they are never rendered back, logged or shown in error reports.
"""

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.access import (
    WorkspaceRequest,
    admin_required,
    get_in_workspace,
    in_workspace,
    member_required,
)
from inbox.actions.mailboxes import (
    mailbox_connect_imap,
    mailbox_destroy,
    mailbox_set_paused,
    mailbox_update_servers,
)
from inbox.actions.signatures import mailbox_signature_set
from inbox.forms.mailboxes import ImapMailboxForm, MailboxSignatureForm
from inbox.mail.connection import ConnectionReport, connection_test
from inbox.mail.health import LAG_WARNING, mailbox_health
from inbox.mail.mailboxes import mailbox_credentials
from inbox.mail.providers.connect import configured_providers, is_configured, mailbox_forget_grant
from inbox.models import Conversation, Mailbox, Provider
from inbox.selectors.signatures import mailbox_signature

PASSWORD_FIELDS = ("imap_password", "smtp_password")


@member_required
def mailbox_list(request: WorkspaceRequest) -> HttpResponse:
    now = timezone.now()
    rows = [mailbox_health(m, now) for m in in_workspace(request, Mailbox).order_by("address")]
    lag_minutes = int(LAG_WARNING.total_seconds() // 60)
    return render(
        request,
        "inbox/mailboxes.html",
        {"rows": rows, "lag_minutes": lag_minutes, "oauth_providers": configured_providers()},
    )


def _form_page(
    request: WorkspaceRequest,
    form: ImapMailboxForm | None,
    report: ConnectionReport | None,
    mailbox: Mailbox | None = None,
) -> HttpResponse:
    context = {"form": form, "report": report, "mailbox": mailbox}
    context["oauth_providers"] = configured_providers()
    if mailbox is not None:
        context["oauth_configured"] = is_configured(mailbox.provider)
        context["health"] = mailbox_health(mailbox, timezone.now())
        context["conversation_count"] = Conversation.objects.filter(mailbox=mailbox).count()
        context.setdefault(
            "signature_form",
            MailboxSignatureForm(initial={"signature": mailbox_signature(mailbox)}),
        )
    return render(request, "inbox/mailbox_form.html", context)


def _connection_checked(
    request: WorkspaceRequest, form: ImapMailboxForm
) -> tuple[ConnectionReport | None, bool]:
    """The connection test of a valid post, and whether to save: not when the person only
    tests, nor when the test failed and "save anyway" is not ticked (said in words)."""
    if request.method != "POST" or not form.is_valid():
        return None, False
    report = connection_test(imap=form.imap_server(), smtp=form.smtp_server())
    if request.POST.get("action") == "test":
        return report, False
    if not report.ok and not form.cleaned_data["save_anyway"]:
        messages.error(
            request,
            _(
                "Not saved: the connection test failed. Fix the settings, or tick “Save even if "
                "the connection test fails”."
            ),
        )
        return report, False
    return report, True


@sensitive_post_parameters(*PASSWORD_FIELDS)
@admin_required
def mailbox_add(request: WorkspaceRequest) -> HttpResponse:
    form = ImapMailboxForm(request.POST or None, workspace=request.workspace)
    report, save = _connection_checked(request, form)
    if save:
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
    report, save = _connection_checked(request, form)
    if save:
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
    mailbox_forget_grant(mailbox=mailbox)  # Gmail: the grant revoked too (best effort)
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


@admin_required
@require_POST
def mailbox_signature_edit(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    """The signature has its own form: changing it needs no connection test or password."""
    mailbox = get_in_workspace(request, Mailbox, pk=mailbox_id)
    form = MailboxSignatureForm(request.POST)
    if form.is_valid():
        mailbox_signature_set(mailbox=mailbox, signature=form.cleaned_data["signature"])
        messages.success(
            request, _("The signature of %(address)s is saved.") % {"address": mailbox.address}
        )
        return redirect("mailbox_edit", mailbox.pk)
    context = {"form": None, "report": None, "mailbox": mailbox, "signature_form": form}
    context["health"] = mailbox_health(mailbox, timezone.now())
    context["conversation_count"] = Conversation.objects.filter(mailbox=mailbox).count()
    return render(request, "inbox/mailbox_form.html", context, status=400)
