"""“Télécharger mes données”: a ZIP, streamed as it is built, of the messages the requester
sees (each as the .eml it arrived as, decrypted on the fly) and a JSON summary.

Nothing is written anywhere in clear: the archive goes straight to the response. The raw
objects are opened as `inbox.export` opens them (`open_sealed`, field "message.raw").
"""

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC

from django.utils import timezone

from inbox.mail.sealing import stored_message_row
from portal.selectors import STATUS_WORDS, Viewer, envelope_of, reference, visible_messages
from trupeo.storage import object_store, open_sealed


class _Drain:
    """A write-only stream the generator empties after each step (ZipFile needs no seek)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def portal_archive(viewer: Viewer) -> Iterator[bytes]:
    """The requester's own conversations (not those delegated to them): their data."""
    drain = _Drain()
    store = object_store()
    summary: dict = {
        "address": viewer.address,
        "exported_at": timezone.now().isoformat(),
        "conversations": {},
    }
    with zipfile.ZipFile(drain, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for message in visible_messages(viewer, own_only=True):
            envelope = envelope_of(viewer.keys, message)
            stamp = message.received_at.astimezone(UTC).strftime("%Y-%m-%d-%H%M%S")
            name = f"conversations/{reference(message.conversation)}/{stamp}-{message.pk}.eml"
            with archive.open(zipfile.ZipInfo(name, date_time=_zip_time(message)), "w") as entry:
                for chunk in open_sealed(
                    message.raw_object,
                    viewer.keys,
                    field="message.raw",
                    row=stored_message_row(message),
                    store=store,
                ):
                    entry.write(chunk)
                    yield drain.take()
            conversation = message.conversation
            item = summary["conversations"].setdefault(
                reference(conversation),
                {"status": str(STATUS_WORDS.get(conversation.status, "")), "messages": []},
            )
            item["messages"].append(
                {
                    "file": name,
                    "subject": envelope.get("subject") or "",
                    "from": envelope.get("from") or {},
                    "to": envelope.get("to") or [],
                    "cc": envelope.get("cc") or [],
                    "date": message.received_at.isoformat(),
                }
            )
            yield drain.take()
        archive.writestr("summary.json", json.dumps(summary, ensure_ascii=False, indent=2))
    yield drain.take()


def _zip_time(message) -> tuple[int, int, int, int, int, int]:
    moment = timezone.localtime(message.received_at)
    if moment.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
