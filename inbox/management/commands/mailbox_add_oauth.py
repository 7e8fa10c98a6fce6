"""`manage.py mailbox_add_oauth`: connect a Gmail or Microsoft 365 mailbox from an existing
refresh token (a migration from another tool, or support).

The token is read from the environment variable named on the command line, never from an
argument (shell history, process list), checked against the provider before anything is
saved (a refresh, then the mailbox's address: Gmail's profile, Graph's /me must be the one
given) and sealed at once.
`sync_mailboxes --once` then syncs it like any other.
"""

import os

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from accounts.models import Workspace
from inbox.mail.providers import ProviderError
from inbox.mail.providers.connect import (
    ConnectError,
    address_of,
    is_configured,
    mailbox_connect_oauth,
)
from inbox.mail.providers.oauth import refresh_grant, tokens_from
from inbox.models import Provider


class Command(BaseCommand):
    help = (
        "Connect a Gmail or Microsoft 365 mailbox from a refresh token read from the "
        "environment variable named by --refresh-token-env."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, metavar="SLUG")
        parser.add_argument("--provider", required=True, choices=["google", "microsoft"])
        parser.add_argument("--address", required=True, metavar="ADDR")
        parser.add_argument(
            "--refresh-token-env",
            required=True,
            metavar="VAR",
            help="environment variable holding the refresh token",
        )

    @no_translations
    def handle(self, *args, **options) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace has the short name {options['workspace']!r}.")
        provider = options["provider"]
        if not is_configured(provider):
            names = (
                "GOOGLE_CLIENT_ID/SECRET"
                if provider == Provider.GOOGLE
                else ("MICROSOFT_CLIENT_ID/SECRET")
            )
            raise CommandError(f"{names} are not set: the token cannot be used without them.")
        variable = options["refresh_token_env"]
        token = os.environ.get(variable, "").strip()
        if not token:
            state = "is empty" if variable in os.environ else "is not set"
            raise CommandError(
                f"The environment variable {variable} {state}. Put the refresh token in it, "
                f"for example: read -rs {variable} && export {variable}"
            )
        address = options["address"].strip().lower()
        if "@" not in address:
            raise CommandError(f"--address: {address!r} is not an email address.")
        try:
            # Checked before anything is saved: the token works and is this mailbox's.
            credentials = tokens_from(refresh_grant(provider, token), {"refresh_token": token})
            named = address_of(provider, credentials["access_token"])
            if named != address:
                raise ConnectError(f"this token belongs to {named}, not to {address}")
            mailbox, created = mailbox_connect_oauth(
                workspace=workspace, provider=provider, address=address, credentials=credentials
            )
        except (ConnectError, ProviderError) as error:
            raise CommandError(f"Nothing was saved: {error}") from error
        verb = "created" if created else "updated with the new token"
        self.stdout.write(
            self.style.SUCCESS(
                f"Mailbox {mailbox.pk} {verb}: {mailbox.address} ({provider}) in workspace "
                f"{workspace.slug} (token sealed). Sync it with: manage.py sync_mailboxes "
                f"--once --mailbox {mailbox.pk}"
            )
        )
