"""Workspaces created before billing existed start their free trial now."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def start_trials(apps, schema_editor):
    Workspace = apps.get_model("accounts", "Workspace")
    Subscription = apps.get_model("billing", "Subscription")
    ends = timezone.now() + timedelta(days=settings.BILLING_TRIAL_DAYS)
    Subscription.objects.bulk_create(
        [
            Subscription(
                workspace=workspace,
                workspace_name=workspace.name,
                workspace_slug=workspace.slug,
                status="trialing",
                trial_ends_at=ends,
            )
            for workspace in Workspace.objects.filter(subscription__isnull=True).iterator()
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_subscriptions_events_invoices"),
        ("accounts", "0003_workspace_read_only_since"),
    ]

    operations = [migrations.RunPython(start_trials, migrations.RunPython.noop)]
