"""Create a workspace for a client: `manage.py workspace_create NAME --owner EMAIL`.

The operator creates workspaces for clients who signed the data-processing terms outside the
application (a signed order). The command records that acceptance as what it is — made by the
operator, on behalf of the owner, for the version in force — and says so; the owner is still
asked to accept in person in the application (when joining by the invitation, or by the
banner on first login).
"""

import getpass
import os

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from accounts import services
from accounts.models import Role, User, Workspace
from accounts.signals import processor_terms_accepted


def _operator() -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        who = "unknown"
    return f"manage.py workspace_create, run by {who}"


class Command(BaseCommand):
    help = (
        "Create a workspace. With TRUPEO_OWNER_PASSWORD set, the owner can log in at once; "
        "otherwise an invitation link is printed. The last line printed is the workspace's slug."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="The owner's email address.")
        parser.add_argument("--slug", help="Short name; made from the name when omitted.")

    def handle(self, *args, name: str, owner: str, slug: str | None, **options):
        email = owner.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{owner!r} is not a valid email address.") from None
        password = os.environ.get("TRUPEO_OWNER_PASSWORD", "")
        with transaction.atomic():
            slug = slug or services.unique_slug(name)
            user = User.objects.filter(email__iexact=email).first()
            if password:
                if user is None:
                    user = User.objects.create_user(email, password)
                    self.stdout.write(f"Created the user {email} with the given password.")
                else:
                    self.stdout.write(f"{email} already has an account; its password is unchanged.")
                EmailAddress.objects.update_or_create(
                    user=user, email=email, defaults={"verified": True, "primary": True}
                )
                workspace = services.workspace_create(name=name, slug=slug, owner=user)
                self.stdout.write(f"{email} owns {workspace.name} and can log in now.")
            else:
                workspace = services.workspace_create(name=name, slug=slug, owner=None)
                invitation = services.invitation_create(
                    workspace=workspace, email=email, role=Role.OWNER, invited_by=None
                )
                self.stdout.write(f"Invitation sent to {email}. The link, valid 7 days:")
                self.stdout.write(invitation.link)
            version = settings.TRUPEO_DPA_VERSION
            processor_terms_accepted.send(
                sender=Workspace,
                workspace=workspace,
                user=user if password else None,
                email=email,
                terms_version=version,
                operator=_operator(),
            )
            self.stdout.write(
                f"Recorded: data-processing terms {version} accepted on behalf of {email} "
                "by the operator; the owner is asked to accept them in person on first login."
            )
        self.stdout.write(workspace.slug)
