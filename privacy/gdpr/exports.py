"""Exports asked for from the "Your data" pages and the admin: queueing a workspace or person
export (built by `privacy.gdpr.export_archive`), naming its file, and a user's own account
data (GDPR access and portability), built at once.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import Membership, User, Workspace
from privacy import tasks
from privacy.gdpr.export_archive import iso_or_none
from privacy.models import DataExport, ExportKind, ExportState, SecurityEvent, TermsAcceptance
from trupeo.crypto import CryptoError
from trupeo.queueing import enqueue, enqueue_on_commit

# A queued export no task has started this long after it was asked for is queued again (its
# task was lost: the broker was down).
REQUEUE_AFTER = timedelta(minutes=5)


def export_start(
    *,
    workspace: Workspace,
    user: User | None,
    kind: str = ExportKind.WORKSPACE,
    gdpr_request=None,
) -> DataExport:
    """Queue an export; a workspace has at most one export being built at a time."""
    with transaction.atomic():
        running = (
            DataExport.objects.select_for_update()
            .filter(workspace=workspace, kind=kind, state__in=[ExportState.QUEUED, "running"])
            .filter(gdpr_request=gdpr_request)
            .first()
        )
        if running is not None:
            return running
        export = DataExport.objects.create(
            workspace=workspace, kind=kind, requested_by=user, gdpr_request=gdpr_request
        )
        enqueue_on_commit(tasks.build_export, export.pk)  # or `export_requeue_stale`, later
    return export


def export_filename(export: DataExport) -> str:
    stamp = timezone.localtime(export.finished_at or export.created_at).strftime("%Y-%m-%d")
    suffix = "" if export.kind == ExportKind.WORKSPACE else f"-demande-{export.gdpr_request_id}"
    return f"trupeo-{export.workspace.slug}{suffix}-{stamp}.zip"


def export_requeue_stale(*, now: datetime | None = None) -> int:
    """Run periodically (beat): queue again the exports whose task never started."""
    now = now or timezone.now()
    stale = DataExport.objects.filter(
        state=ExportState.QUEUED, created_at__lt=now - REQUEUE_AFTER
    ).values_list("pk", flat=True)
    return sum(enqueue(tasks.build_export, pk) for pk in stale.order_by("pk")[:100])


def account_data(user: User) -> dict:
    """Everything Trupeo holds about a user as a person (GDPR access and portability).

    Notes are included for the workspaces the user still belongs to: their text is sealed
    under that workspace's key, and the workspace controls its content.
    """
    from allauth.account.models import EmailAddress

    from inbox.mail.sealing import note_row
    from inbox.models import Activity, Note

    memberships = list(
        Membership.objects.filter(user=user).select_related("workspace").order_by("joined_at")
    )
    notes = []
    for membership in memberships:
        try:
            keys = keys_for(membership.workspace)
        except CryptoError:
            continue
        for note in Note.objects.filter(workspace=membership.workspace, author=user).order_by(
            "created_at", "id"
        ):
            notes.append(
                {
                    "workspace": membership.workspace.name,
                    "conversation": note.conversation_id,
                    "created_at": iso_or_none(note.created_at),
                    "body": keys.open_text(
                        note.body_sealed, field="note.body", row=note_row(note.pk)
                    ),
                }
            )
    workspace_ids = [m.workspace_id for m in memberships]
    return {
        "profile": {
            "email": user.email,
            "name": user.name,
            "language": user.language,
            "date_joined": iso_or_none(user.date_joined),
            "last_login": iso_or_none(user.last_login),
        },
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user).order_by("id")
        ],
        "memberships": [
            {"workspace": m.workspace.name, "role": m.role, "joined_at": iso_or_none(m.joined_at)}
            for m in memberships
        ],
        "notes": notes,
        "activity": [
            {
                "workspace_id": a.workspace_id,
                "conversation": a.conversation_id,
                "kind": a.kind,
                "status": a.status,
                "at": iso_or_none(a.created_at),
            }
            for a in Activity.objects.filter(actor=user, workspace_id__in=workspace_ids).order_by(
                "created_at", "id"
            )
        ],
        "security_log": [
            {"kind": e.kind, "ip": e.ip, "user_agent": e.user_agent, "at": iso_or_none(e.at)}
            for e in SecurityEvent.objects.filter(user=user).order_by("at", "id")
        ],
        "processor_terms": [
            {"workspace_id": t.workspace_id, "version": t.version, "at": iso_or_none(t.accepted_at)}
            for t in TermsAcceptance.objects.filter(user=user)
        ],
    }
