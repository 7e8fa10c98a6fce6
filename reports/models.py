"""Anonymous figures behind the reports: no content, and no foreign key to a conversation,
message, mailbox, tag or user, so retention (or a deleted mailbox) never takes them away.

Ids are kept as plain integers to filter by; the workspace is the only foreign key, so that
deleting a workspace deletes its figures too.
"""

from django.db import models

from accounts.models import Workspace


class ConversationFact(models.Model):
    """One conversation as the reports see it: when it came, was answered, was closed."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    conversation_id = models.BigIntegerField(unique=True)
    mailbox_id = models.BigIntegerField()
    assignee_id = models.BigIntegerField(null=True)
    # False when the team started it (not "received") or it is spam: it counts in no total.
    counted = models.BooleanField(default=True)
    spam = models.BooleanField(default=False)
    received_at = models.DateTimeField()
    # Day and hour in the workspace's time zone when counted: the rollups are taken back by
    # these, whatever the calendar's zone has become since.
    received_day = models.DateField()
    received_hour = models.SmallIntegerField(default=0)
    closed_day = models.DateField(null=True)
    first_reply_at = models.DateTimeField(null=True)
    closed_at = models.DateTimeField(null=True)
    first_reply_seconds = models.BigIntegerField(null=True)  # business seconds
    resolution_seconds = models.BigIntegerField(null=True)
    first_reply_within_goal = models.BooleanField(null=True)
    resolution_within_goal = models.BooleanField(null=True)
    tag_ids = models.JSONField(default=list)  # the tags its figures were last counted under

    class Meta:
        indexes = [
            models.Index(
                fields=["workspace", "received_day"],
                # Every column a report reads or filters on: the durations are an index-only scan.
                include=[
                    "counted",
                    "mailbox_id",
                    "assignee_id",
                    "first_reply_seconds",
                    "resolution_seconds",
                    "first_reply_within_goal",
                    "resolution_within_goal",
                ],
                name="fact_period",
            ),
        ]


class FactTag(models.Model):
    """The tags of a fact, to filter durations by tag in SQL."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation_id = models.BigIntegerField()
    tag_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation_id", "tag_id"], name="fact_tag_unique")
        ]
        indexes = [models.Index(fields=["tag_id", "conversation_id"])]


class ReplyFact(models.Model):
    """One reply that left (a sent message), and who wrote it when Trupeo sent it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    message_id = models.BigIntegerField(unique=True)
    conversation_id = models.BigIntegerField(db_index=True)
    author_id = models.BigIntegerField(null=True)  # None: sent from another mail client
    sent_at = models.DateTimeField()
    day = models.DateField()  # local, when counted


# Rollups: one row per (day, mailbox, assignee, tag). `tag_id` 0 is the row that counts every
# conversation once; a conversation also counts in the row of each of its tags. `assignee_id` 0:
# nobody. A conversation's counts follow its current assignee and tags (moved on a change).


class Rollup(models.Model):
    """The key every rollup shares; each adds its own counts, key columns and indexes."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    mailbox_id = models.BigIntegerField()
    assignee_id = models.BigIntegerField()
    tag_id = models.BigIntegerField()

    class Meta:
        abstract = True


class DailyCount(Rollup):
    received = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "mailbox_id", "assignee_id", "tag_id"],
                name="daily_count_key",
            )
        ]
        # What a report reads: one tag's rows (0: all) of a period, index-only.
        indexes = [
            models.Index(
                fields=["workspace", "tag_id", "day"],
                include=["mailbox_id", "assignee_id", "received", "closed"],
                name="daily_count_report",
            )
        ]


class HourCount(Rollup):
    """Conversations received per local hour of a day: the heat map of busy hours."""

    hour = models.SmallIntegerField()
    received = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "hour", "mailbox_id", "assignee_id", "tag_id"],
                name="hour_count_key",
            )
        ]
        # What a report reads: one tag's rows (0: all) of a period, index-only.
        indexes = [
            models.Index(
                fields=["workspace", "tag_id", "day"],
                include=["hour", "mailbox_id", "assignee_id", "received"],
                name="hour_count_report",
            )
        ]


class ReplyCount(Rollup):
    """Replies sent per day and author (0: from another mail client)."""

    author_id = models.BigIntegerField()
    replies = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "mailbox_id", "assignee_id", "tag_id", "author_id"],
                name="reply_count_key",
            )
        ]
        # What a report reads: one tag's rows (0: all) of a period, index-only.
        indexes = [
            models.Index(
                fields=["workspace", "tag_id", "day"],
                include=["mailbox_id", "assignee_id", "author_id", "replies"],
                name="reply_count_report",
            )
        ]
