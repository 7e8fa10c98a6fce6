"""GIN index on the blind search tokens, where the database has one (PostgreSQL)."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS inbox_message_search_tokens_gin "
            "ON inbox_message USING gin (search_tokens)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS inbox_message_search_tokens_gin")


class Migration(migrations.Migration):
    dependencies = [("inbox", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]
