"""Mailboxes, conversations, messages and what hangs off them.

Content (subjects, bodies, addresses, file names, folder names, notes, credentials) is
stored sealed (`*_sealed` binary columns, see `trupeo.crypto`); dates, sizes, statuses,
assignees and provider ids stay in clear so the database can sort and filter.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from inbox.fields import TokenArrayField


class Provider(models.TextChoices):
    IMAP = "imap", _("IMAP / SMTP")
    GOOGLE = "google", _("Google")
    MICROSOFT = "microsoft", _("Microsoft 365")


class Security(models.TextChoices):
    TLS = "tls", _("TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (unencrypted)")


class SyncState(models.TextChoices):
    ACTIVE = "active", _("Syncing")
    ERROR = "error", _("Failing")
    RECONNECT = "reconnect", _("Reconnection needed")
    PAUSED = "paused", _("Paused")


class Mailbox(models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="mailboxes", verbose_name=_("Workspace")
    )
    address = models.EmailField(_("address"))
    name = models.CharField(_("display name"), max_length=120, blank=True)
    provider = models.CharField(
        max_length=12, choices=Provider.choices, default=Provider.IMAP, verbose_name=_("Provider")
    )

    imap_host = models.CharField(max_length=255, blank=True, verbose_name=_("IMAP server"))
    imap_port = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("IMAP port"))
    imap_security = models.CharField(
        max_length=10,
        choices=Security.choices,
        default=Security.TLS,
        verbose_name=_("IMAP security"),
    )
    imap_username = models.CharField(max_length=255, blank=True, verbose_name=_("IMAP username"))
    smtp_host = models.CharField(max_length=255, blank=True, verbose_name=_("SMTP server"))
    smtp_port = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("SMTP port"))
    smtp_security = models.CharField(
        max_length=10,
        choices=Security.choices,
        default=Security.TLS,
        verbose_name=_("SMTP security"),
    )
    smtp_username = models.CharField(max_length=255, blank=True, verbose_name=_("SMTP username"))
    # Passwords or OAuth tokens, as sealed JSON.
    credentials_sealed = models.BinaryField(
        null=True, editable=False, verbose_name=_("Credentials (encrypted)")
    )
    # The signature (legal footer) appended to replies sent from this address, sealed text.
    signature_sealed = models.BinaryField(
        null=True, editable=False, verbose_name=_("Signature (encrypted)")
    )

    sync_state = models.CharField(
        max_length=10,
        choices=SyncState.choices,
        default=SyncState.ACTIVE,
        verbose_name=_("Sync state"),
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Last attempt"))
    last_success_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Last success"))
    last_error = models.TextField(blank=True, verbose_name=_("Last error"))
    last_error_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Last error at"))
    consecutive_failures = models.PositiveIntegerField(
        default=0, verbose_name=_("Consecutive failures")
    )
    messages_synced = models.PositiveIntegerField(default=0, verbose_name=_("Messages synced"))
    # One sync at a time per mailbox, across workers: a lease renewed after every batch.
    sync_lease_owner = models.CharField(
        max_length=32, blank=True, editable=False, verbose_name=_("Sync lease owner")
    )
    sync_lease_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Sync lease until")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("Created at"))

    # Automatic mail to requesters (inbox.actions.automatic), all off until an admin turns it on.
    auto_ack = models.BooleanField(
        _("acknowledge new conversations"), default=False, editable=False
    )
    auto_language = models.CharField(
        _("language of automatic mail"),
        max_length=2,
        choices=[("fr", "Français"), ("en", "English")],
        default="fr",
        editable=False,
    )
    expected_reply_hours = models.PositiveSmallIntegerField(
        _("expected reply time (hours)"), null=True, blank=True, editable=False
    )
    auto_portal_link = models.BooleanField(
        _("link to the requester portal"), default=False, editable=False
    )
    notify_closed = models.BooleanField(
        _("tell the requester when the conversation is closed"), default=False, editable=False
    )
    notify_answered = models.BooleanField(
        _("tell the requester when the conversation is answered"), default=False, editable=False
    )
    satisfaction = models.BooleanField(
        _("ask for a rating after closing"), default=False, editable=False
    )
    # The acknowledgement's texts as the admins wrote them ({"fr": …, "en": …}), sealed JSON.
    auto_templates_sealed = models.BinaryField(
        null=True, editable=False, verbose_name=_("Acknowledgement templates (sealed)")
    )

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "address"], name="mailbox_address_unique")
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def label(self) -> str:
        return self.name or self.address


class PushSubscription(models.Model):
    """A provider's promise to tell Trupeo about new mail in a mailbox (Gmail `users.watch`,
    a Graph subscription), renewed before it expires. Polling stays on beside it."""

    class Kind(models.TextChoices):
        GMAIL = "gmail", "Gmail Pub/Sub"
        GRAPH = "graph", "Microsoft Graph"

    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="push")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Graph's subscription id (the notifications name it); empty for Gmail.
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    # SHA-256 of Graph's clientState: the secret itself is only ever in Graph and in transit.
    secret_hash = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True)
    renewed_at = models.DateTimeField(null=True)
    last_notified_at = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)


class WatchLease(models.Model):
    """Which IDLE watcher process holds a mailbox's connection, until when.

    A watcher claims mailboxes whose lease expired, renews its own every few seconds, and a
    dead watcher's mailboxes are claimed by another once their leases run out."""

    mailbox = models.OneToOneField(
        Mailbox, on_delete=models.CASCADE, primary_key=True, related_name="watch_lease"
    )
    holder = models.CharField(max_length=100, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, db_index=True)


class WatcherPresence(models.Model):
    """A live IDLE watcher process (renewed with its leases): each takes its fair share of
    the mailboxes, the number of live watchers being counted here."""

    holder = models.CharField(max_length=100, unique=True)
    expires_at = models.DateTimeField(db_index=True)


class FolderRole(models.TextChoices):
    INBOX = "inbox", _("Inbox")
    SENT = "sent", _("Sent")


class MailboxFolder(models.Model):
    """One synced folder and its durable cursor."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    role = models.CharField(max_length=10, choices=FolderRole.choices)
    name_sealed = models.BinaryField()
    # IMAP cursor. The provider cursor (Gmail historyId, Graph deltaLink) is sealed in `cursor`.
    uidvalidity = models.BigIntegerField(null=True)
    last_uid = models.BigIntegerField(default=0)
    highestmodseq = models.BigIntegerField(null=True)
    cursor_sealed = models.BinaryField(null=True)
    last_synced_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "role"], name="folder_role_unique")
        ]


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    CLOSED = "closed", _("Closed")
    SPAM = "spam", _("Spam")


class Conversation(models.Model):
    # Every index below starts with the workspace: one of its own would only slow writes.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="conversations", db_index=False
    )
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Out of every view but "Snoozed" until then; a reply or the time wakes it (inbox.actions.snooze).
    snoozed_until = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField("Tag", through="ConversationTag", related_name="conversations")
    # What the list shows, sealed: subject, the customer's name and address, a preview.
    summary_sealed = models.BinaryField()
    # Blind token of the normalised subject, for the guarded subject fallback of threading.
    subject_token = models.BigIntegerField(null=True)
    provider_thread_id = models.CharField(max_length=255, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    has_attachments = models.BooleanField(default=False)
    last_message_at = models.DateTimeField(db_index=True)
    # With last_message_at, the span of its messages: a search "before:" a day skips, in the
    # index, every conversation that started after it (see `conversation_search_walk`).
    first_message_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # When it was last closed (None while not closed): the retention policy counts from it.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "status", "-last_message_at", "-id"]),
            # The daily retention run and its preview count closed conversations by this.
            models.Index(
                fields=["workspace", "closed_at", "id"],
                condition=models.Q(closed_at__isnull=False),
                name="conversation_closed",
            ),
            # Searches walk a workspace's conversations newest first; the last column lets a
            # date range filter them in the index, without reading the rows.
            models.Index(
                fields=["workspace", "-last_message_at", "-id", "first_message_at"],
                name="conversation_search_walk",
            ),
            models.Index(fields=["workspace", "assignee", "status", "-last_message_at", "-id"]),
            # The sidebar's counts read only this (an index-only scan): the conversations not
            # closed, a fraction of a workspace's, with every column the counts read.
            models.Index(
                fields=["workspace", "status", "assignee", "snoozed_until"],
                include=["mailbox", "id"],
                condition=~models.Q(status=Status.CLOSED),
                name="conversation_live",
            ),
            models.Index(fields=["workspace", "subject_token"]),
            # Gmail and Graph messages join their provider's thread (inbox.mail.threads).
            models.Index(
                fields=["mailbox", "provider_thread_id"],
                condition=~models.Q(provider_thread_id=""),
                name="conversation_provider_thread",
            ),
            models.Index(
                fields=["snoozed_until"],
                condition=models.Q(snoozed_until__isnull=False),
                name="conversation_snoozed",
            ),
        ]


class Direction(models.TextChoices):
    INBOUND = "in", _("Received")
    OUTBOUND = "out", _("Sent")


class ThreadReason(models.TextChoices):
    NEW = "new", _("Started the conversation")
    REFERENCES = "references", _("Its References header names a message here")
    IN_REPLY_TO = "in_reply_to", _("It replies to a message here")
    PROVIDER = "provider", _("The provider puts it in the same thread")
    SUBJECT = "subject", _("Same subject and participants, within a few days")
    OUTBOUND = "outbound", _("Sent from this conversation")
    MANUAL = "manual", _("Moved here by hand")


class Message(models.Model):
    # Mailbox, conversation and folder have no index of their own: the unique constraint and
    # the composite indexes below start with them, and every index costs each synced message.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    folder = models.ForeignKey(
        MailboxFolder, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The provider's identity of this message (IMAP: "folder:uidvalidity:uid"), unique per
    # mailbox: two different messages sharing a Message-ID stay two messages.
    provider_key = models.CharField(max_length=255)
    # The provider key the message arrived under. Its sealed values and objects are bound to
    # it for good: the provider key itself can change (a UIDVALIDITY change, a sent copy found
    # in the Sent folder later) without making them unreadable.
    sealed_as = models.CharField(max_length=255)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    thread_reason = models.CharField(max_length=12, choices=ThreadReason.choices)
    # Blind token of the Message-ID, to find replies' parents without storing it in clear.
    message_id_token = models.BigIntegerField(null=True, db_index=True)
    # Subject, addresses, Message-ID, In-Reply-To, References, snippet, parse problems.
    envelope_sealed = models.BinaryField()
    text_sealed = models.BinaryField(null=True)
    html_sealed = models.BinaryField(null=True)
    raw_object = models.CharField(max_length=120)
    raw_size = models.PositiveIntegerField()
    sent_at = models.DateTimeField(null=True)
    received_at = models.DateTimeField()
    is_seen = models.BooleanField(default=False)
    is_flagged = models.BooleanField(default=False)
    expunged_at = models.DateTimeField(null=True, blank=True)
    has_parse_problems = models.BooleanField(default=False)
    # Blind index: truncated HMACs of the normalised words (see inbox.mail.search).
    search_tokens = TokenArrayField(null=True, editable=False)
    # Blind fingerprint of the raw bytes: recognises a message again after a UIDVALIDITY change.
    raw_digest = models.BigIntegerField(null=True)
    # What its headers said (inbox.mail.auto_submitted): an out-of-office, a list or newsletter,
    # and why nothing automatic may answer it ("" when something may).
    is_auto_reply = models.BooleanField(default=False)
    is_bulk = models.BooleanField(default=False)
    no_autoreply_reason = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "provider_key"], name="message_provider_unique"
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "received_at", "id"]),
            models.Index(fields=["folder", "raw_digest"]),
        ]


class Attachment(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    # Its place among the message's parts: part of the row its sealed values are bound to.
    position = models.PositiveSmallIntegerField(default=0)
    # File name and Content-ID, sealed together.
    meta_sealed = models.BinaryField()
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    is_inline = models.BooleanField(default=False)
    object_key = models.CharField(max_length=120)


class Note(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body_sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)


class SendState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Not sent")


class OutgoingKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    REPLY_ALL = "reply_all", _("Reply all")
    FORWARD = "forward", _("Forward")
    NEW = "new", _("New message")
    # Sent by Trupeo itself (an acknowledgement, a notification): Auto-Submitted, no quote.
    AUTO = "auto", _("Automatic message")


class Outgoing(models.Model):
    """A message we send from a shared address: draft → queued → sending → sent / failed.

    The MIME is composed and sealed once, before the first attempt, so a retry sends the same
    bytes with the same Message-ID; a send interrupted after the server may have accepted it is
    never retried blindly (see inbox.mail.sending).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="outgoing")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="outgoing"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=10, choices=OutgoingKind.choices, default=OutgoingKind.REPLY)
    state = models.CharField(max_length=10, choices=SendState.choices, default=SendState.DRAFT)
    # To, Cc, Bcc, subject, body, In-Reply-To, References, Message-ID — sealed JSON.
    content_sealed = models.BinaryField(null=True)
    message_id_token = models.BigIntegerField(null=True, db_index=True)
    raw_object = models.CharField(max_length=120, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # When the first attempt since queueing (or a person's Retry) was made: temporary
    # failures are retried for a day from here, then the outgoing fails.
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    # The last attempt may have been taken (a provider API's server error): the next one looks
    # in Sent by Message-ID before sending again.
    check_sent_first = models.BooleanField(default=False)
    # "Remind me if no answer by": the conversation was snoozed until then with this message
    # (inbox.actions.holding); undoing the send takes the reminder back too.
    follow_up_until = models.DateTimeField(null=True, blank=True)
    # A forward's internal note, added to the conversation when it was queued (inbox.actions.forwarding);
    # undoing the forward removes it with the draft coming back.
    note = models.ForeignKey(
        Note, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="outgoing"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "lease_until"])]


class ActivityKind(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned")
    STATUS = "status", _("Status changed")
    NOTE = "note", _("Note added")
    TAGGED = "tagged", _("Tag added")
    UNTAGGED = "untagged", _("Tag removed")
    SNOOZED = "snoozed", _("Snoozed")
    WOKE = "woke", _("Woke up")
    MERGED = "merged", _("Merged")
    SPLIT = "split", _("Split")


class Activity(models.Model):
    """The trail of a conversation: who assigned, changed the status or wrote a note, when.

    Holds no content: a status value or a teammate's id, never text from the mail or a note.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="activities"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tag = models.ForeignKey(
        "Tag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # The other conversation of a merge or a split (an id only: a merged one is gone).
    other_conversation_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at"])]


class TagColor(models.TextChoices):
    GREY = "grey", _("Grey")
    BLUE = "blue", _("Blue")
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    ORANGE = "orange", _("Orange")
    RED = "red", _("Red")
    PURPLE = "purple", _("Purple")


class Tag(models.Model):
    """A label the team puts on conversations. Its name is sealed like every label."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tags")
    name_sealed = models.BinaryField()
    # Blind token of the normalised name: one tag per name, and `tag:` finds it.
    name_token = models.BigIntegerField()
    color = models.CharField(max_length=10, choices=TagColor.choices, default=TagColor.GREY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name_token"], name="tag_name_unique")
        ]


class ConversationTag(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "tag"], name="conversation_tag_unique")
        ]
        indexes = [models.Index(fields=["tag", "conversation"])]


class Follow(models.Model):
    """Someone who wants to hear about replies on a conversation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "conversation"], name="follow_unique")
        ]


class ConversationRead(models.Model):
    """When a teammate last opened a conversation: newer mail makes it unread for them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "conversation"], name="conversation_read_unique"
            )
        ]


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to you")
    MENTIONED = "mentioned", _("Mentioned in a note")
    REPLY = "reply", _("New reply on a conversation you follow")
    WOKE = "woke", _("A snoozed conversation woke up")
    # Reply-time goals (sla): the assignee hears of "at risk", the admin's choice of "late".
    AT_RISK = "at_risk", _("A conversation is close to its reply-time goal")
    LATE = "late", _("A conversation missed its reply-time goal")


class Notification(models.Model):
    """An in-app notification; mailed too when the person's preferences say so."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Its email is still to be considered (sent, or skipped by the preferences): the outbox a
    # periodic sweep reads when the task queued at creation was lost (a broker outage).
    email_due = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "workspace", "read_at", "-created_at"]),
            models.Index(
                fields=["created_at"],
                name="notification_email_due",
                condition=models.Q(email_due=True),
            ),
        ]


class NotificationPreference(models.Model):
    """Which notifications also come by email, per person and workspace (all on by default)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    email_assigned = models.BooleanField(_("when a conversation is assigned to me"), default=True)
    email_mentioned = models.BooleanField(_("when someone mentions me in a note"), default=True)
    email_reply = models.BooleanField(_("when a conversation I follow gets a reply"), default=True)
    email_woke = models.BooleanField(_("when a conversation I snoozed wakes up"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="notification_pref_unique")
        ]


class SavedReply(models.Model):
    """A canned answer with variables ({{ customer.first_name }}…), sealed."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # Offered for every mailbox when empty.
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.CASCADE)
    title_sealed = models.BinaryField()
    body_sealed = models.BinaryField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class TrustedSender(models.Model):
    """A sender whose remote images the team chose to always show."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # Blind token of the lower-cased address: no address in clear.
    address_token = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "address_token"], name="trusted_sender_unique"
            )
        ]


class RuleKind(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin assignment")
    MATCH = "match", _("When a message matches")


class RuleField(models.TextChoices):
    FROM = "from", _("Sender contains")
    TO = "to", _("Recipient contains")
    SUBJECT = "subject", _("Subject contains")


class Rule(models.Model):
    """Applied at ingestion to new conversations of one mailbox, in position order."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=12, choices=RuleKind.choices)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    field = models.CharField(max_length=10, choices=RuleField.choices, blank=True)
    # What the field must contain, sealed (it can be an address).
    pattern_sealed = models.BinaryField(null=True)
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Round-robin: who takes turns, and who had the last one.
    agents = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]


class AutomaticKind(models.TextChoices):
    ACK = "ack", _("Acknowledgement")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class AutomaticMail(models.Model):
    """One automatic message to a requester, recorded before it is queued.

    The constraints are the loop guard two workers cannot both pass: at most one
    acknowledgement per requester and day in a workspace, and per conversation; at most one
    notification of each kind per conversation, requester and day. No content: the requester
    is a blind token of their address.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=AutomaticKind.choices)
    address_token = models.BigIntegerField()
    day = models.DateField()
    outgoing = models.OneToOneField(
        Outgoing, null=True, blank=True, on_delete=models.SET_NULL, related_name="automatic"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "address_token", "day"],
                condition=models.Q(kind="ack"),
                name="automatic_ack_once_a_day",
            ),
            models.UniqueConstraint(
                fields=["conversation", "address_token"],
                condition=models.Q(kind="ack"),
                name="automatic_ack_once_a_conversation",
            ),
            models.UniqueConstraint(
                fields=["conversation", "kind", "address_token", "day"],
                name="automatic_once_a_day",
            ),
        ]


class SatisfactionRequest(models.Model):
    """The rating link mailed when a conversation closed: only the SHA-256 of its token."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="satisfaction_requests"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)


class SatisfactionLevel(models.TextChoices):
    GOOD = "good", _("Good")
    AVERAGE = "average", _("Average")
    BAD = "bad", _("Not good")


class SatisfactionRating(models.Model):
    """A requester's rating of a closed conversation. It outlives the conversation (retention
    deletes it, the reports keep counting): the links are SET_NULL, the comment is sealed."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, null=True, on_delete=models.SET_NULL, related_name="+")
    conversation = models.ForeignKey(
        Conversation, null=True, on_delete=models.SET_NULL, related_name="satisfaction_ratings"
    )
    rating = models.CharField(max_length=8, choices=SatisfactionLevel.choices)
    rated_at = models.DateTimeField()
    comment_sealed = models.BinaryField(null=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "rated_at"])]
        constraints = [models.UniqueConstraint(fields=["conversation"], name="satisfaction_once")]
