"""Export archives: a whole workspace (owner or admin) or one person's messages (staff, for a
GDPR access request), built by a Celery task (`privacy.tasks.build_export`).

The archive never exists in clear at rest: `inbox.export` writes it into a pipe, a second
thread seals what comes out (`trupeo.storage.put_sealed`, under the workspace's key) and
streams it to object storage, so memory stays around one ZIP chunk plus one sealed segment.
Downloading decrypts it on the fly. It can be downloaded for EXPORT_DAYS, then a beat task
deletes it (`export_purge_expired`). Exports are queued by `privacy.gdpr.exports`.
"""

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import Membership, Workspace
from contacts.gdpr import contacts_export, person_contacts_export
from inbox.erasure import messages_involving
from inbox.export import ExportOptions, ExtraFile, workspace_export_write
from privacy.gdpr.requesters import requester
from privacy.models import DataExport, ExportKind, ExportState
from trupeo.storage import ObjectStore, object_store, open_sealed, put_sealed

logger = logging.getLogger(__name__)

EXPORT_DAYS = 7
_FIELD = "privacy.export"


def export_row(export_id: int) -> str:
    return f"export:{export_id}"


class _Pipe:
    """A write-only stream whose bytes another thread reads as an iterator of chunks."""

    CHUNK = 256 * 1024

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self._buffer = bytearray()
        self.failed = threading.Event()
        self.size = 0

    def write(self, data) -> int:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= self.CHUNK:
            self._put(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def flush(self) -> None:
        pass

    def _put(self, item) -> None:
        while True:
            if self.failed.is_set():
                raise OSError("the sealed upload failed")
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self, error: BaseException | None = None) -> None:
        if error is None and self._buffer:
            self._put(bytes(self._buffer))
            self._buffer.clear()
        self._put(error or _END)

    def chunks(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise OSError("the archive could not be built")  # aborts the upload
            yield item


_END = object()


def export_build(*, export_id: int, store: ObjectStore | None = None) -> DataExport:
    """Build the ZIP of an export and seal it into object storage."""
    export = DataExport.objects.select_related("workspace", "gdpr_request").get(pk=export_id)
    if export.state not in (ExportState.QUEUED, ExportState.RUNNING):
        return export  # a retried task after success or failure: nothing to do
    store = store or object_store()
    workspace = export.workspace
    DataExport.objects.filter(pk=export.pk).update(state=ExportState.RUNNING, progress=0)
    keys = keys_for(workspace)
    options = _options(export)
    pipe = _Pipe()
    result: dict = {}

    def upload() -> None:
        try:
            result["key"] = put_sealed(
                keys, pipe.chunks(), field=_FIELD, row=export_row(export.pk), store=store
            )
        except BaseException as exc:  # reported by the building thread
            result["error"] = exc
            pipe.failed.set()

    uploader = threading.Thread(target=upload, name=f"export-{export.pk}-upload", daemon=True)
    uploader.start()
    try:
        workspace_export_write(workspace=workspace, stream=pipe, store=store, options=options)
        pipe.close()
    except BaseException as exc:
        # Hand the failure to the uploader so it aborts (no partial object is kept); if it
        # already failed itself, there is nobody to tell.
        with contextlib.suppress(OSError):
            pipe.close(exc)
        uploader.join()
        _fail(export, exc)
        raise
    uploader.join()
    if "error" in result:
        _fail(export, result["error"])
        raise result["error"]
    now = timezone.now()
    DataExport.objects.filter(pk=export.pk).update(
        state=ExportState.READY,
        progress=100,
        object_key=result["key"],
        size=pipe.size,
        finished_at=now,
        expires_at=now + timedelta(days=EXPORT_DAYS),
    )
    export.refresh_from_db()
    if export.kind == ExportKind.WORKSPACE and export.requested_by is not None:
        _announce(export)
    return export


def _fail(export: DataExport, exc: BaseException) -> None:
    logger.error("export %s failed: %s", export.pk, type(exc).__name__)
    DataExport.objects.filter(pk=export.pk).update(
        state=ExportState.FAILED, error=type(exc).__name__, finished_at=timezone.now()
    )


def _options(export: DataExport) -> ExportOptions:
    def progress(done: int, total: int) -> None:
        percent = min(99, int(done * 100 / total)) if total else 99
        DataExport.objects.filter(pk=export.pk, progress__lt=percent).update(progress=percent)

    if export.kind == ExportKind.PERSON:
        address = requester(export.gdpr_request)[1]
        return ExportOptions(
            mbox=True,
            attachments=True,
            message_ids=messages_involving(workspace=export.workspace, address=address),
            extra=[
                ExtraFile(
                    "contact.json",
                    person_contacts_export(workspace=export.workspace, address=address),
                    "La fiche de contact de la personne : nom, adresses, organisation, "
                    "note de l’équipe et conversations.",
                )
            ],
            progress=progress,
        )
    return ExportOptions(
        mbox=True,
        attachments=True,
        extra=[
            ExtraFile(
                "members.json",
                _members(export.workspace),
                "Les membres de l’espace : nom, adresse, rôle et date d’arrivée.",
            ),
            ExtraFile(
                "contacts.json",
                contacts_export(workspace=export.workspace),
                "Les contacts de l’espace : nom, adresses, organisation et note de l’équipe.",
            ),
            ExtraFile(
                "billing.json",
                _billing(export.workspace),
                "Les données de facturation de l’espace (abonnement, factures).",
            ),
        ],
        progress=progress,
    )


def _members(workspace: Workspace) -> list[dict]:
    return [
        {
            "name": m.user.name,
            "email": m.user.email,
            "role": m.role,
            "joined_at": iso_or_none(m.joined_at),
        }
        for m in Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("joined_at", "id")
    ]


def _optional(module: str, name: str):
    """A public function of another app, if it exists yet (apps land independently)."""
    try:
        return getattr(import_module(module), name, None)
    except ImportError:
        return None


def _billing(workspace: Workspace) -> list:
    records = _optional("billing.records", "workspace_billing_records")
    return list(records(workspace)) if records else []


def iso_or_none(moment: datetime | None) -> str | None:
    """A moment in ISO 8601 for the JSON files of an export, or None."""
    return moment.isoformat() if moment else None


def _announce(export: DataExport) -> None:
    user = export.requested_by
    context = {
        "user": user,
        "workspace": export.workspace,
        "url": settings.SITE_URL + reverse("privacy_data"),
        "expires_at": export.expires_at,
        "days": EXPORT_DAYS,
    }
    subject = render_to_string("privacy/account/email/export_ready_subject.txt", context).strip()
    body = render_to_string("privacy/account/email/export_ready_message.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email]))


def export_open(export: DataExport, *, store: ObjectStore | None = None) -> Iterator[bytes]:
    """The decrypted ZIP, chunk by chunk (CryptoError if the object was tampered with)."""
    return open_sealed(
        export.object_key,
        keys_for(export.workspace),
        field=_FIELD,
        row=export_row(export.pk),
        store=store,
    )


def export_purge_expired(*, now: datetime | None = None, store: ObjectStore | None = None) -> int:
    """Delete the archives past their expiry date (and any failed leftovers)."""
    now = now or timezone.now()
    store = store or object_store()
    count = 0
    for export in DataExport.objects.filter(state=ExportState.READY, expires_at__lte=now):
        if export.object_key:
            store.delete(export.object_key)
        DataExport.objects.filter(pk=export.pk).update(state=ExportState.EXPIRED, object_key="")
        count += 1
    return count
