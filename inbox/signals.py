"""What triage tells the apps that keep figures about conversations (reply-time clocks,
reports), which inbox never imports. Sent inside the action's transaction: whatever a receiver
writes commits or rolls back with the change."""

from django.dispatch import Signal

# A conversation's status changed by hand: `conversation`, `status` (new), `previous`.
conversation_status_changed = Signal()
# A conversation was snoozed (`until` set) or woke (`until` None): `conversation`, `until`.
conversation_snooze_changed = Signal()
