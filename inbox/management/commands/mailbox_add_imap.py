"""`manage.py mailbox_add_imap`: connect an IMAP + SMTP mailbox from the operator's shell.

Passwords are read from environment variables named on the command line, never from
arguments (which end up in the shell history and the process list). The same validation
as the admin's form applies; the connection is tested before anything is saved.
"""

import argparse
import os

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    no_translations,
)
from django.db import IntegrityError

from accounts.models import Workspace
from inbox.actions.mailboxes import mailbox_connect_imap
from inbox.forms.mailboxes import ImapMailboxForm
from inbox.mail.connection import connection_test
from inbox.models import Security

SECURITY_VALUES = tuple(Security.values)
# Form field -> the option that sets it, to name the right option in errors.
OPTIONS = {
    "address": "--address",
    "name": "--name",
    "imap_host": "--imap-host",
    "imap_port": "--imap-port",
    "imap_security": "--imap-security",
    "imap_username": "--username",
    "imap_password": "--password-env",
    "smtp_host": "--smtp-host",
    "smtp_port": "--smtp-port",
    "smtp_security": "--smtp-security",
    "smtp_username": "--smtp-username",
    "smtp_password": "--smtp-password-env",
}


def security(value: str) -> str:
    value = value.strip().lower()
    if value in SECURITY_VALUES:
        return value
    hint = " (“ssl” is called “tls” here)" if value in {"ssl", "ssl/tls", "imaps"} else ""
    raise argparse.ArgumentTypeError(
        f"unknown security {value!r}: choose one of {', '.join(SECURITY_VALUES)}{hint}"
    )


def port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port (a number from 1 to 65535)")
    return number


class Command(BaseCommand):
    help = (
        "Connect an IMAP + SMTP mailbox to a workspace. Passwords are read from the "
        "environment variables named by --password-env and --smtp-password-env."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, metavar="SLUG")
        parser.add_argument("--address", required=True, metavar="ADDR")
        parser.add_argument("--name", default="", help="display name (optional)")
        parser.add_argument("--imap-host", required=True, metavar="H")
        parser.add_argument("--imap-port", required=True, type=port, metavar="P")
        parser.add_argument(
            "--imap-security", required=True, type=security, metavar="{tls,starttls,none}"
        )
        parser.add_argument("--username", required=True, metavar="U", help="IMAP username")
        parser.add_argument(
            "--password-env",
            required=True,
            metavar="VAR",
            help="environment variable holding the IMAP password",
        )
        parser.add_argument("--smtp-host", required=True, metavar="H")
        parser.add_argument("--smtp-port", required=True, type=port, metavar="P")
        parser.add_argument(
            "--smtp-security", required=True, type=security, metavar="{tls,starttls,none}"
        )
        parser.add_argument("--smtp-username", default="", metavar="U", help="default: --username")
        parser.add_argument(
            "--smtp-password-env",
            default="",
            metavar="VAR",
            help="environment variable holding the SMTP password (default: the IMAP one)",
        )
        parser.add_argument(
            "--no-test", action="store_true", help="save without testing the connection first"
        )

    @no_translations  # an operator's tool: English, like the rest of manage.py
    def handle(self, *args, **options) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace has the short name {options['workspace']!r}.")
        imap_password = self._password(options["password_env"], "--password-env")
        smtp_password = (
            self._password(options["smtp_password_env"], "--smtp-password-env")
            if options["smtp_password_env"]
            else ""
        )
        form = ImapMailboxForm(
            data={
                "address": options["address"],
                "name": options["name"],
                "imap_host": options["imap_host"],
                "imap_port": options["imap_port"],
                "imap_security": options["imap_security"],
                "imap_username": options["username"],
                "imap_password": imap_password,
                "smtp_host": options["smtp_host"],
                "smtp_port": options["smtp_port"],
                "smtp_security": options["smtp_security"],
                "smtp_username": options["smtp_username"],
                "smtp_password": smtp_password,
            },
            # Private addresses follow TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS, as every connection
            # (sync, sending) checks it again: a mailbox saved here would never sync.
            workspace=workspace,
        )
        if not form.is_valid():
            raise CommandError(
                "\n".join(
                    f"{OPTIONS.get(field, field)}: {' '.join(errors)}"
                    for field, errors in form.errors.items()
                )
            )

        report = None
        if not options["no_test"]:
            report = connection_test(imap=form.imap_server(), smtp=form.smtp_server())
            for check in report.checks:
                status = "works" if check.ok else "fails"
                line = f"{check.protocol} {status}: {check.message}"
                self.stdout.write(self.style.SUCCESS(line) if check.ok else self.style.ERROR(line))
            if not report.ok:
                raise CommandError(
                    "The connection test failed, so nothing was saved. Fix the settings, or "
                    "add --no-test to save anyway."
                )
        try:
            mailbox = mailbox_connect_imap(
                workspace=workspace,
                address=form.cleaned_data["address"],
                name=form.cleaned_data["name"],
                credentials=form.credentials(),
                server_fields=form.server_fields(),
                report=report,
            )
        except IntegrityError as error:
            raise CommandError(
                f"{form.cleaned_data['address']} is already connected in this workspace."
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Mailbox {mailbox.pk} created: {mailbox.address} in workspace "
                f"{workspace.slug} (passwords sealed)."
            )
        )

    def _password(self, variable: str, option: str) -> str:
        value = os.environ.get(variable)
        if not value:
            state = "is empty" if value == "" else "is not set"
            raise CommandError(
                f"The environment variable {variable} ({option}) {state}. Put the password in it, "
                f"for example: read -rs {variable} && export {variable}"
            )
        return value
