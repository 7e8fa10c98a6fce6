from django.contrib import admin

from inbox.models import Mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    """Sync health for staff: no content is shown here, only states, dates and counts."""

    list_display = [
        "address",
        "workspace",
        "provider",
        "sync_state",
        "last_success_at",
        "consecutive_failures",
        "messages_synced",
    ]
    list_filter = ["provider", "sync_state"]
    search_fields = ["address", "workspace__name"]
    readonly_fields = [
        "last_attempt_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
        "messages_synced",
    ]
    exclude = ["credentials_sealed"]
