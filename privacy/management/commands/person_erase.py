"""Erase one person's mail for an operator: `manage.py person_erase SLUG ADDRESS --yes`."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from inbox.erasure import person_mail_find, person_reference
from privacy.gdpr.deletion import person_erase


class Command(BaseCommand):
    help = (
        "Erase every message from or to ADDRESS (From, To, Cc, Bcc) in the workspace SLUG, "
        "with its attachments and stored files, and the outgoing mail addressed to them: "
        "the GDPR erasure staff run from the admin. Recorded in the deletion ledger as a "
        "keyed digest (never the address), so restoring a backup erases them again. "
        "Without --yes, says what would be erased and erases nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The workspace's slug.")
        parser.add_argument("address", help="The person's email address.")
        parser.add_argument(
            "--yes", action="store_true", help="Confirm: without it, nothing is erased."
        )

    def handle(self, *args, slug: str, address: str, yes: bool, **options):
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace has the slug {slug!r}.")
        if workspace.wrapped_key is None:
            raise CommandError(f"Workspace {slug!r} has no key (being deleted): nothing to erase.")
        try:
            person = person_reference(workspace=workspace, address=address)
        except ValueError:
            raise CommandError(f"{address!r} is not an email address.") from None
        if not yes:
            found = person_mail_find(workspace=workspace, person=person)
            raise CommandError(
                f"This would erase {len(found.message_ids)} message(s) and "
                f"{len(found.outgoing_ids)} outgoing mail(s) from or to {address} in "
                f"{workspace.name!r} for good. Run again with --yes to confirm."
            )
        result = person_erase(workspace=workspace, address=address)
        if not (result.messages or result.outgoing):
            self.stdout.write(
                f"Nothing to erase: no message in {workspace.name!r} ({slug}) is from or to "
                f"{address}, and no outgoing mail is addressed to it."
            )
            return
        self.stdout.write(
            f"Erased from {workspace.name!r} ({slug}): {result.messages} message(s), "
            f"{result.attachments} attachment(s), {result.objects} stored file(s), "
            f"{result.outgoing} outgoing mail(s); {result.conversations_deleted} "
            f"conversation(s) left empty and deleted, {result.conversations_rebuilt} rebuilt."
        )
        self.stdout.write(
            "Recorded in the deletion ledger (a keyed digest, not the address): "
            "restoring an earlier backup erases this person again."
        )
