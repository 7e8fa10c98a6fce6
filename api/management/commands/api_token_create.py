"""Create an API token for a workspace from the command line; the token is the last line.

It acts as the workspace's owner, with the admin role (an operator's token for setting up an
integration). The secret is printed once and never stored.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Membership, Role, Workspace
from api.models import TokenRole, TokenScope
from api.tokens import DEFAULT_LIFETIME, token_create


class Command(BaseCommand):
    help = "Create an API token for a workspace; prints the token as the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="The workspace's slug.")
        parser.add_argument("--name", required=True, help="What uses the token.")
        parser.add_argument("--scope", required=True, choices=TokenScope.values)
        parser.add_argument(
            "--days", type=int, default=DEFAULT_LIFETIME, help="Days until it expires."
        )

    def handle(self, *args, slug: str, name: str, scope: str, days: int, **options) -> None:
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug {slug!r}.")
        owner = Membership.objects.filter(workspace=workspace, role=Role.OWNER).first()
        if owner is None:
            raise CommandError("This workspace has no owner for the token to act as.")
        try:
            created = token_create(
                workspace=workspace,
                created_by=owner.user,
                name=name,
                role=TokenRole.ADMIN,
                scope=scope,
                lifetime_days=days,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        token = created.token
        self.stdout.write(
            f"Token {token} for {workspace.slug}: {scope}, acting as {owner.user.email}, "
            f"expires {token.expires_at:%Y-%m-%d}. Shown once; store it now."
        )
        self.stdout.write(created.secret)
