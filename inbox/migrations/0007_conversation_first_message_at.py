"""Conversations know when their first message arrived (searches with `before:` use it)."""

from django.db import migrations, models

FILL = """
UPDATE inbox_conversation AS c SET first_message_at = m.first
FROM (SELECT conversation_id, MIN(received_at) AS first FROM inbox_message
      GROUP BY conversation_id) AS m
WHERE m.conversation_id = c.id
"""
# A conversation without messages (none is created so, but be safe): its one date.
FILL_EMPTY = "UPDATE inbox_conversation SET first_message_at = last_message_at WHERE first_message_at IS NULL"


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0006_triage_collaboration_rules"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="first_message_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.RunSQL(FILL_EMPTY, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="conversation",
            name="first_message_at",
            field=models.DateTimeField(),
        ),
        # Only searches by date used it; they walk conversations now.
        migrations.AlterField(
            model_name="message",
            name="received_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                fields=["workspace", "-last_message_at", "-id", "first_message_at"],
                name="conversation_search_walk",
            ),
        ),
    ]
