"""`manage.py seed_demo`: a demo workspace with realistic French conversations. Idempotent."""

import os

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.keys import keys_for
from accounts.models import Membership, Role, User, Workspace
from inbox.actions.rules import rule_create
from inbox.actions.saved_replies import saved_reply_create
from inbox.actions.tags import conversation_tag_add, tag_get_or_create
from inbox.demo import DEMO_DOMAIN, demo_mail
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.search import fold
from inbox.models import (
    Conversation,
    FolderRole,
    Mailbox,
    RuleField,
    RuleKind,
    SavedReply,
    Security,
    Status,
    SyncState,
    TagColor,
)
from inbox.selectors.conversation_rows import conversation_summary
from trupeo.local_smtp import HOST as LOCAL_SMTP_HOST
from trupeo.local_smtp import local_smtp_port

DEMO_SLUG = "lycee-demo"
DEMO_PASSWORD = os.environ.get("TRUPEO_DEMO_PASSWORD", "demo-trupeo-2026")
SAVED_REPLIES = [
    (
        "Absence bien notée",
        "Bonjour {{ customer.name }},\n\nC'est bien noté : l'absence est enregistrée et le "
        "professeur principal est prévenu.\n\nBonne journée,\n{{ agent.first_name }}, "
        "vie scolaire",
    ),
    (
        "Certificat de scolarité",
        "Bonjour {{ customer.first_name }},\n\nVous trouverez le certificat de scolarité en "
        "pièce jointe.\n\nCordialement,\n{{ agent.name }}\n{{ mailbox.address }}",
    ),
    (
        "Pièces pour une inscription",
        "Bonjour,\n\nPour l'inscription, il nous faut le dernier bulletin, un justificatif de "
        "domicile et la fiche d'inscription complétée.\n\nCordialement,\n{{ agent.name }}",
    ),
]
PEOPLE = [
    (f"camille@{DEMO_DOMAIN}", "Camille Bernard", Role.OWNER),
    (f"julien@{DEMO_DOMAIN}", "Julien Morel", Role.AGENT),
]


class Command(BaseCommand):
    help = "Create (or complete) the demo workspace, its team and its conversations."

    def handle(self, *args, **options):
        with transaction.atomic():
            users = [self._user(email, name) for email, name, _role in PEOPLE]
            workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
            if workspace is None:
                workspace = services.workspace_create(
                    name="Lycée Demo", slug=DEMO_SLUG, owner=users[0]
                )
            for user, (_email, _name, role) in zip(users, PEOPLE, strict=True):
                Membership.objects.get_or_create(
                    workspace=workspace, user=user, defaults={"role": role}
                )
            address = f"scolarite@{DEMO_DOMAIN}"
            mailbox = Mailbox.objects.filter(workspace=workspace, address=address).first()
            if mailbox is None:
                # A demo mailbox has no server to sync with.
                mailbox = mailbox_create(
                    workspace=workspace,
                    address=address,
                    name="Vie scolaire",
                    sync_state=SyncState.PAUSED,
                )
            self._send_through_local_catcher(mailbox)
            if not SavedReply.objects.filter(workspace=workspace).exists():
                for title, body in SAVED_REPLIES:
                    saved_reply_create(
                        workspace=workspace,
                        mailbox=None,
                        title=title,
                        body=body,
                        created_by=users[0],
                    )
        folders = {f.role: f for f in mailbox.folders.all()}
        created = 0
        for mail in demo_mail(shared_address=address, now=timezone.now()):
            result = ingest_batch(
                mailbox=mailbox,
                folder=folders[FolderRole.SENT if mail.folder == "sent" else FolderRole.INBOX],
                mails=[
                    RawMail(provider_key=mail.key, raw=mail.raw, received_at=mail.date, seen=True)
                ],
            )
            created += result.created
        if created:
            self._triage(workspace, users)
        self.stdout.write(f"Demo workspace {workspace.name}: {created} new messages.")
        for email, _name, role in PEOPLE:
            self.stdout.write(f"  log in as {email} / {DEMO_PASSWORD} ({role})")
        if mailbox.smtp_host == LOCAL_SMTP_HOST:
            self.stdout.write(
                f"  replies from {address} go to the local SMTP catcher on "
                f"{LOCAL_SMTP_HOST}:{mailbox.smtp_port} (printed by `make run`, never delivered)"
            )

    def _send_through_local_catcher(self, mailbox: Mailbox) -> None:
        """Replies leave through `make run`'s SMTP catcher on loopback (plaintext is allowed
        there and only there), which prints them; the copy is filed in the demo's Sent."""
        if mailbox.smtp_host not in ("", LOCAL_SMTP_HOST):
            return  # someone pointed the demo at a real server: theirs to keep
        mailbox.smtp_host = LOCAL_SMTP_HOST
        mailbox.smtp_port = local_smtp_port()
        mailbox.smtp_security = Security.NONE
        mailbox.smtp_username = ""
        mailbox.save(update_fields=["smtp_host", "smtp_port", "smtp_security", "smtp_username"])

    def _user(self, email: str, name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, DEMO_PASSWORD, name=name)
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def _triage(self, workspace: Workspace, users: list[User]) -> None:
        """Some conversations already handled, as in a team's real morning."""
        conversations = list(
            Conversation.objects.filter(workspace=workspace).order_by("-last_message_at")
        )
        for n, conversation in enumerate(conversations):
            if n % 4 == 1:
                conversation.assignee = users[1]
            elif n % 4 == 2:
                conversation.assignee = users[0]
            if n % 5 == 4:
                conversation.status = Status.PENDING
            if n >= len(conversations) - 2:
                conversation.status = Status.CLOSED
                conversation.closed_at = conversation.last_message_at
        Conversation.objects.bulk_update(conversations, ["assignee", "status", "closed_at"])
        self._tags_and_rules(workspace, conversations)

    def _tags_and_rules(self, workspace: Workspace, conversations: list[Conversation]) -> None:
        """Tags on the conversations whose subject calls for one, and the rule that would
        have put them there."""
        keys = keys_for(workspace)
        wanted = {
            "absence": ("Absences", TagColor.BLUE),
            "factur": ("Facturation", TagColor.ORANGE),
            "devis": ("Facturation", TagColor.ORANGE),
            "inscription": ("Inscriptions", TagColor.GREEN),
        }
        for conversation in conversations:
            subject = fold(conversation_summary(keys, conversation).get("subject") or "")
            for needle, (name, color) in wanted.items():
                if needle in subject:
                    tag = tag_get_or_create(workspace=workspace, name=name)
                    if tag.color != color:
                        tag.color = color
                        tag.save(update_fields=["color"])
                    conversation_tag_add(conversation=conversation, tag=tag, actor=None)
        mailbox = conversations[0].mailbox if conversations else None
        if mailbox is not None and not mailbox.rules.exists():
            rule_create(
                mailbox=mailbox,
                kind=RuleKind.MATCH,
                field=RuleField.SUBJECT,
                pattern="absence",
                tag=tag_get_or_create(workspace=workspace, name="Absences"),
            )
