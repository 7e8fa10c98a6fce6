"""Endpoints an admin registered, and every delivery made to them (the log they read).

The URL (Slack's and Teams' carry their own secret in the path), the signing secret and each
payload are sealed with the workspace key, like everything else the workspace owns.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace


class Event(models.TextChoices):
    CONVERSATION_CREATED = "conversation.created", _("Conversation created")
    MESSAGE_RECEIVED = "message.received", _("Message received")
    CONVERSATION_ASSIGNED = "conversation.assigned", _("Conversation assigned")
    STATUS_CHANGED = "conversation.status_changed", _("Status changed")
    NOTE_ADDED = "note.added", _("Note added")
    REPLY_SENT = "reply.sent", _("Reply sent")
    PING = "ping", _("Test delivery")


class Preset(models.TextChoices):
    GENERIC = "generic", _("Signed JSON (any service)")
    SLACK = "slack", _("Slack incoming webhook")
    TEAMS = "teams", _("Microsoft Teams incoming webhook")


class Endpoint(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    url_sealed = models.BinaryField()
    preset = models.CharField(max_length=10, choices=Preset.choices, default=Preset.GENERIC)
    events = models.JSONField(default=list)  # Event values
    # Off by default: with it, subjects, senders and text leave Trupeo's encryption.
    include_content = models.BooleanField(default=False)
    secret_sealed = models.BinaryField()
    is_enabled = models.BooleanField(default=True)
    # Since when every delivery fails (cleared by a success); a day of it disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "is_enabled"])]


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Gave up")


class Delivery(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    payload_sealed = models.BinaryField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while one runs, a lease (a crashed worker's is retried).
    next_attempt_at = models.DateTimeField(null=True)
    last_status = models.PositiveIntegerField(null=True)  # the receiver's HTTP status
    last_error = models.CharField(max_length=300, blank=True)  # a sentence, never an address
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["endpoint", "-id"]),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="webhook_delivery_due",
            ),
        ]
