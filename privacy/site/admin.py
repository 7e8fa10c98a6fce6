"""Staff's view of the public site: policy versions, contact messages, the waitlist.

Registered from `PrivacyConfig.ready`. Sealed fields are opened only on a message's own page.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from privacy.models import ContactMessage, PolicyVersion, WaitlistEntry
from privacy.site.acknowledgements import contact_open, waitlist_email
from privacy.site.policy_publishing import policy_check, policy_publish


class PolicyVersionForm(forms.ModelForm):
    class Meta:
        model = PolicyVersion
        fields = ["version", "effective_date", "substantial", "summary"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and not self.errors:
            try:
                policy_check(
                    version=data["version"],
                    effective_date=data["effective_date"],
                    substantial=data["substantial"],
                    summary=data.get("summary", ""),
                )
            except ValidationError as error:
                raise forms.ValidationError(error.messages) from None
        return data


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    form = PolicyVersionForm
    list_display = ["version", "effective_date", "substantial", "notices_sent", "notices_done_at"]
    readonly_fields = ["published_at", "notices_sent", "notices_done_at"]

    def get_readonly_fields(self, request, obj=None):
        # A published version is a record of what was promised: it is never edited.
        if obj is not None:
            return ["version", "effective_date", "substantial", "summary", *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        published = policy_publish(
            version=obj.version,
            effective_date=obj.effective_date,
            substantial=obj.substantial,
            summary=obj.summary,
        )
        obj.pk = published.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ContactMessage)
class ContactMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "subject", "gdpr_right", "language", "handled"]
    list_filter = ["subject", "handled", "language"]
    fields = ["received_at", "subject", "gdpr_right", "language", "sender", "text", "handled"]
    readonly_fields = ["received_at", "subject", "gdpr_right", "language", "sender", "text"]
    actions = ["mark_handled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("From"))
    def sender(self, obj: ContactMessage) -> str:
        opened = contact_open(obj)
        return f"{opened['name']} <{opened['email']}>"

    @admin.display(description=_("Message"))
    def text(self, obj: ContactMessage) -> str:
        return contact_open(obj)["message"]

    @admin.action(description=_("Mark as handled"))
    def mark_handled(self, request, queryset) -> None:
        queryset.update(handled=True)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["joined_at", "audience", "language"]
    list_filter = ["audience", "language"]
    fields = ["joined_at", "audience", "language", "address"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("Email address"))
    def address(self, obj: WaitlistEntry) -> str:
        return waitlist_email(obj)
