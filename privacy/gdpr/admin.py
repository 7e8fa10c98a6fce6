"""Django admin for staff: GDPR requests (with their actions and history), exports, the
security log, the breach register and the processor terms acceptances.

Every action on a request goes through a service of `privacy.gdpr.requests`, which writes a line
of the append-only history; the history itself can be read here, never changed.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from privacy.gdpr import request_history, requesters
from privacy.gdpr import requests as services
from privacy.gdpr.deletion import person_erase
from privacy.gdpr.export_archive import export_open
from privacy.gdpr.exports import export_filename, export_start
from privacy.gdpr.retention_receipts import receipt_csv, receipt_filename
from privacy.models import (
    OPEN_STATUSES,
    Breach,
    DataExport,
    DeletionReceipt,
    EventKind,
    ExportKind,
    GdprRequest,
    RequestEvent,
    RetentionPolicy,
    SecurityEvent,
    TermsAcceptance,
)
from trupeo.params import parse_id

# --- GDPR requests ---------------------------------------------------------------------------


def _deadline_cell(when: str, label: str, *, css: str, urgent: bool = False) -> str:
    context = {"when": when, "label": label, "css": css, "urgent": urgent}
    return render_to_string("admin/privacy/deadline_cell.html", context)


class DaysLeftFilter(admin.SimpleListFilter):
    title = _("days left")
    parameter_name = "days_left"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("2", _("2 days or less")),
            ("7", _("7 days or less")),
            ("later", _("More than 7 days")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        open_ = queryset.filter(status__in=OPEN_STATUSES)
        match self.value():
            case "overdue":
                return open_.filter(due_at__lt=now)
            case "2":
                return open_.filter(due_at__gte=now, due_at__lte=now + timedelta(days=2))
            case "7":
                return open_.filter(due_at__gte=now, due_at__lte=now + timedelta(days=7))
            case "later":
                return open_.filter(due_at__gt=now + timedelta(days=7))
        return queryset


class GdprRequestForm(forms.ModelForm):
    """The requester is typed in clear and sealed on save (see `privacy.gdpr.requesters`)."""

    requester_name = forms.CharField(label=_("requester name"), max_length=200, required=False)
    requester_email = forms.EmailField(label=_("requester email"))

    class Meta:
        model = GdprRequest
        fields = ["right", "workspace", "received_at", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            name, email = requesters.requester(self.instance)
            self.fields["requester_name"].initial = name
            self.fields["requester_email"].initial = email


class RequestEventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "detail"]
    readonly_fields = fields
    ordering = ["at", "id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DataExportInline(admin.TabularInline):
    model = DataExport
    fk_name = "gdpr_request"
    extra = 0
    can_delete = False
    fields = ["created_at", "state", "progress", "expires_at", "download"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("download"))
    def download(self, export: DataExport) -> str:
        if not export.is_downloadable:
            return "—"
        url = reverse("admin:privacy_gdprrequest_export_download", args=[export.pk])
        return render_to_string("admin/privacy/download_link.html", {"url": url})


@admin.register(GdprRequest)
class GdprRequestAdmin(admin.ModelAdmin):
    form = GdprRequestForm
    list_display = [
        "id",
        "right",
        "requester",
        "workspace",
        "received_at",
        "deadline",
        "status",
        "identity",
    ]
    list_filter = ["status", DaysLeftFilter, "right", "identity"]
    search_fields = ["=id"]
    search_help_text = _("An exact email address, or a request number.")
    list_select_related = ["workspace"]
    inlines = [RequestEventInline, DataExportInline]
    readonly_fields = [
        "due_at",
        "identity",
        "identity_checked_by",
        "identity_checked_at",
        "extension_months",
        "extension_told_at",
        "extension_reason",
        "answer",
        "answered_at",
        "contact",
    ]
    change_form_template = "admin/privacy/gdprrequest/change_form.html"

    class Media:
        css = {"all": ["privacy/admin.css"]}

    def get_fieldsets(self, request, obj=None):
        main = ["right", "requester_name", "requester_email", "workspace", "received_at"]
        if obj is None:
            return [(None, {"fields": main})]
        return [
            (None, {"fields": [*main, "status", "due_at", "contact"]}),
            (_("Identity"), {"fields": ["identity", "identity_checked_by", "identity_checked_at"]}),
            (
                _("Extension"),
                {"fields": ["extension_months", "extension_told_at", "extension_reason"]},
            ),
            (_("Answer"), {"fields": ["answer", "answered_at"]}),
        ]

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.append("received_at")  # the deadline runs from it: fixed once recorded
        return fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a request and its history are evidence of how it was handled

    @admin.display(description=_("requester"))
    def requester(self, obj: GdprRequest) -> str:
        name, email = requesters.requester(obj)
        return f"{name} <{email}>" if name else email

    @admin.display(description=_("due"), ordering="due_at")
    def deadline(self, obj: GdprRequest) -> str:
        when = timezone.localtime(obj.due_at).strftime("%d/%m/%Y")
        if not obj.is_open:
            return when
        if obj.is_overdue:
            return _deadline_cell(when, gettext("overdue"), css="privacy-overdue", urgent=True)
        days = obj.days_left
        css = "privacy-soon" if days <= 7 else "privacy-later"
        label = gettext("%(days)s d left") % {"days": days}
        return _deadline_cell(when, label, css=css)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if "@" in term:  # addresses are sealed: match on their blind token
            ids = requesters.requests_of(term).values("pk")
            return queryset.filter(pk__in=ids), False
        number = term.lstrip("#")
        if term and parse_id(number) is None:
            return queryset.none(), False  # names are sealed too: nothing else to match
        return super().get_search_results(request, queryset, number)

    def save_model(self, request, obj: GdprRequest, form, change: bool) -> None:
        requesters.requester_seal(
            obj,
            name=form.cleaned_data.get("requester_name", ""),
            email=form.cleaned_data["requester_email"],
        )
        old_status = (
            GdprRequest.objects.filter(pk=obj.pk).values_list("status", flat=True).first()
            if change
            else None
        )
        super().save_model(request, obj, form, change)
        if not change:
            services.gdpr_request_record_creation(request=obj, actor=request.user)
        elif old_status != obj.status:
            request_history.gdpr_request_log(
                request=obj,
                kind=EventKind.STATUS,
                actor=request.user,
                detail=f"{old_status} → {obj.status}",
            )
        elif form.changed_data:
            request_history.gdpr_request_log(
                request=obj,
                kind=EventKind.NOTE,
                actor=request.user,
                detail=gettext("Edited: %(fields)s") % {"fields": ", ".join(form.changed_data)},
            )

    # --- the actions, each a small form page --------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        own = [
            path(
                "<int:object_id>/do/<str:action>/",
                view(self.action_view),
                name="privacy_gdprrequest_action",
            ),
            path(
                "exports/<int:export_id>/download/",
                view(self.export_download),
                name="privacy_gdprrequest_export_download",
            ),
        ]
        return own + super().get_urls()

    ACTIONS = {
        "identity": _("Record the identity check"),
        "extend": _("Extend the deadline"),
        "export": _("Export this person's messages"),
        "erase": _("Erase this person from the workspace"),
        "answer": _("Record the answer"),
        "note": _("Add a note to the history"),
    }

    def action_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        obj = get_object_or_404(GdprRequest, pk=object_id)
        if action not in self.ACTIONS:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        form_class = ACTION_FORMS[action]
        form = form_class(request.POST or None, request_obj=obj)
        if request.method == "POST" and form.is_valid():
            try:
                message = form.apply(request_obj=obj, actor=request.user)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, message, messages.SUCCESS)
                return redirect("admin:privacy_gdprrequest_change", obj.pk)
        name, email = requesters.requester(obj)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": self.ACTIONS[action],
            "form": form,
            "requester_email": email,
            "requester_name": name,
            "action": action,
        }
        return TemplateResponse(request, "admin/privacy/gdprrequest/action.html", context)

    def export_download(self, request: HttpRequest, export_id: int) -> HttpResponse:
        export = get_object_or_404(
            DataExport.objects.select_related("workspace"),
            pk=export_id,
            kind=ExportKind.PERSON,
        )
        if not self.has_view_permission(request, export.gdpr_request):
            raise PermissionDenied
        if not export.is_downloadable:
            raise Http404(gettext("This export has expired."))
        request_history.gdpr_request_log(
            request=export.gdpr_request,
            kind=EventKind.EXPORTED,
            actor=request.user,
            detail=gettext("Export %(id)s downloaded.") % {"id": export.pk},
        )
        response = StreamingHttpResponse(export_open(export), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{export_filename(export)}"'
        response["Cache-Control"] = "no-store"
        return response


class _ActionForm(forms.Form):
    def __init__(self, *args, request_obj: GdprRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_obj = request_obj


class IdentityForm(_ActionForm):
    result = forms.ChoiceField(
        label=_("Result"),
        choices=[("verified", _("Verified")), ("failed", _("Could not be verified"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("How"),
        required=False,
        help_text=_("E.g. answered from the account's address; no copy of an ID document."),
    )

    def apply(self, *, request_obj, actor) -> str:
        services.gdpr_request_check_identity(
            request=request_obj,
            verified=self.cleaned_data["result"] == "verified",
            actor=actor,
            note=self.cleaned_data["note"],
        )
        return gettext("Identity check recorded.")


class ExtendForm(_ActionForm):
    months = forms.TypedChoiceField(
        label=_("Extend by"),
        choices=[(1, _("one month")), (2, _("two months"))],
        coerce=int,
    )
    told_at = forms.DateTimeField(
        label=_("Requester told on"),
        help_text=_("Must be within the first month after receipt."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    reason = forms.CharField(label=_("Reason given"), widget=forms.Textarea)

    def apply(self, *, request_obj, actor) -> str:
        services.gdpr_request_extend(
            request=request_obj,
            months=self.cleaned_data["months"],
            told_at=self.cleaned_data["told_at"],
            reason=self.cleaned_data["reason"],
            actor=actor,
        )
        return gettext("Deadline extended.")


class ExportForm(_ActionForm):
    confirm = forms.BooleanField(
        label=_("Build a sealed ZIP of every message from or to this address in the workspace")
    )

    def apply(self, *, request_obj, actor) -> str:
        services.require_verified(request_obj)
        export = export_start(
            workspace=request_obj.workspace,
            user=actor,
            kind=ExportKind.PERSON,
            gdpr_request=request_obj,
        )
        request_history.gdpr_request_log(
            request=request_obj,
            kind=EventKind.EXPORTED,
            actor=actor,
            detail=gettext("Export %(id)s started.") % {"id": export.pk},
        )
        return gettext("The export is being built; it appears below when ready.")


class EraseForm(_ActionForm):
    address = forms.EmailField(
        label=_("Type the address again"),
        help_text=_("Every message from or to it in the workspace will be deleted for good."),
    )
    instruction = forms.CharField(
        label=_("The client's instruction"),
        help_text=_("Who at the client asked for it, and when (Trupeo acts as processor)."),
    )

    def clean_address(self) -> str:
        typed = self.cleaned_data["address"].strip().lower()
        if typed != requesters.requester(self.request_obj)[1].lower():
            raise ValidationError(_("This is not the requester's address."))
        return typed

    def apply(self, *, request_obj, actor) -> str:
        services.require_verified(request_obj)
        result = person_erase(workspace=request_obj.workspace, address=self.cleaned_data["address"])
        detail = gettext(
            "%(messages)s message(s), %(attachments)s attachment(s) and %(objects)s stored "
            "object(s) erased; %(empty)s empty conversation(s) deleted. Instruction: "
            "%(instruction)s"
        ) % {
            "messages": result.messages,
            "attachments": result.attachments,
            "objects": result.objects,
            "empty": result.conversations_deleted,
            "instruction": self.cleaned_data["instruction"],
        }
        request_history.gdpr_request_log(
            request=request_obj, kind=EventKind.ERASED, actor=actor, detail=detail
        )
        return detail


class AnswerForm(_ActionForm):
    answer = forms.CharField(label=_("Answer sent"), widget=forms.Textarea)
    refused = forms.BooleanField(label=_("The request was refused"), required=False)

    def apply(self, *, request_obj, actor) -> str:
        services.gdpr_request_answer(
            request=request_obj,
            answer=self.cleaned_data["answer"],
            refused=self.cleaned_data["refused"],
            actor=actor,
        )
        return gettext("Answer recorded.")


class NoteForm(_ActionForm):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea)

    def apply(self, *, request_obj, actor) -> str:
        request_history.gdpr_request_log(
            request=request_obj, kind=EventKind.NOTE, actor=actor, detail=self.cleaned_data["note"]
        )
        return gettext("Note added.")


ACTION_FORMS = {
    "identity": IdentityForm,
    "extend": ExtendForm,
    "export": ExportForm,
    "erase": EraseForm,
    "answer": AnswerForm,
    "note": NoteForm,
}


@admin.register(RequestEvent)
class RequestEventAdmin(admin.ModelAdmin):
    """The history of every request, read-only: it is only ever appended to."""

    list_display = ["at", "request", "kind", "actor"]
    list_filter = ["kind"]
    list_select_related = ["request", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- exports, security log, processor terms -------------------------------------------------


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DataExport)
class DataExportAdmin(_ReadOnlyAdmin):
    list_display = ["id", "workspace", "kind", "state", "progress", "created_at", "expires_at"]
    list_filter = ["kind", "state"]
    list_select_related = ["workspace"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the purge deletes the stored archive with the row's state


@admin.register(SecurityEvent)
class SecurityEventAdmin(_ReadOnlyAdmin):
    list_display = ["at", "kind", "user", "ip", "user_agent"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    date_hierarchy = "at"


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(_ReadOnlyAdmin):
    list_display = [
        "confirmed_at",
        "workspace",
        "closed_conversations_days",
        "auth_logs_days",
        "security_logs_days",
        "contacts_days",
        "exports_days",
    ]
    list_select_related = ["workspace"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the receipts name the policy they applied


@admin.register(DeletionReceipt)
class DeletionReceiptAdmin(_ReadOnlyAdmin):
    """What each retention run deleted; the DPO downloads one as the owner would."""

    list_display = ["started_at", "workspace", "complete", "counts"]
    list_filter = ["complete"]
    list_select_related = ["workspace"]
    actions = ["download_csv"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Download the receipt (CSV)"))
    def download_csv(self, request: HttpRequest, queryset) -> HttpResponse:
        receipts = list(queryset.select_related("policy").order_by("started_at", "id"))
        body = "\n".join(receipt_csv(receipt) for receipt in receipts)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        name = receipt_filename(receipts[0]) if len(receipts) == 1 else "trupeo-recus.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(_ReadOnlyAdmin):
    # The snapshot, not the link: the record outlives a deleted workspace.
    list_display = ["accepted_at", "workspace_name", "user_email", "version", "accepted_by"]
    list_filter = ["version", "accepted_by"]
    search_fields = ["workspace_name", "workspace_slug", "user_email"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- breach register -------------------------------------------------------------------------


@admin.register(Breach)
class BreachAdmin(admin.ModelAdmin):
    list_display = ["detected_at", "summary", "notification_deadline", "cnil_notified_at"]
    date_hierarchy = "detected_at"
    readonly_fields = ["notification_deadline", "staff_alerts"]
    fieldsets = [
        (None, {"fields": ["detected_at", "nature", "data_concerned", "people_concerned"]}),
        (None, {"fields": ["consequences", "measures"]}),
        (
            _("Notification"),
            {
                "fields": [
                    "notification_deadline",
                    "staff_alerts",
                    "cnil_notified_at",
                    "no_notification_reason",
                    "people_informed_at",
                ]
            },
        ),
    ]

    class Media:
        css = {"all": ["privacy/admin.css"]}

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the register keeps every breach (GDPR art. 33.5)

    @admin.display(description=_("breach"))
    def summary(self, obj: Breach) -> str:
        return obj.nature[:80]

    @admin.display(description=_("last alert to staff"))
    def staff_alerts(self, obj: Breach) -> str:
        # The tightest alert marked is the last one sent (looser ones are marked with it).
        for label, at in [
            (gettext("late"), obj.alerted_late_at),
            ("6 h", obj.alerted_6h_at),
            ("24 h", obj.alerted_24h_at),
            ("48 h", obj.alerted_48h_at),
        ]:
            if at is not None:
                return f"{label} · {timezone.localtime(at):%d/%m/%Y %H:%M}"
        return "—"

    @admin.display(description=_("CNIL notification due (72 h)"))
    def notification_deadline(self, obj: Breach) -> str:
        if obj.pk is None or obj.detected_at is None:
            return "—"
        when = timezone.localtime(obj.notification_due_at).strftime("%d/%m/%Y %H:%M")
        if obj.notification_late:
            return _deadline_cell(when, gettext("late"), css="privacy-overdue", urgent=True)
        if obj.notification_pending:
            hours = int((obj.notification_due_at - timezone.now()).total_seconds() // 3600)
            label = gettext("%(hours)s h left") % {"hours": hours}
            return _deadline_cell(when, label, css="privacy-soon", urgent=True)
        return when
