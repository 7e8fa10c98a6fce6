"""Object storage for sealed blobs (raw messages, attachments, exports).

`object_store()` gives an S3-compatible store (Cloudflare R2) when R2_BUCKET is set, else a
folder under DATA_DIR/objects. Both hold only ciphertext: seal with `put_sealed` (or
`trupeo.crypto.seal_stream`) before storing. Object names reveal nothing: `new_object_key`
is random, with no content hash and no file name.
"""

import contextlib
import os
import re
import secrets
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from trupeo import crypto
from trupeo.crypto import WorkspaceKeys

MiB = 1024 * 1024
READ_CHUNK = MiB

# Opaque keys only: url-safe segments, no dots, so no "..", no file names, no extensions.
_KEY_RE = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*")
_PREFIX_RE = re.compile(r"(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_-]*")


class ObjectNotFound(LookupError):
    """No object under that key."""


class StorageError(Exception):
    """The store failed in a way the caller should not ignore."""


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise ValueError(f"invalid object key {key!r}: '/'-separated [A-Za-z0-9_-] segments")
    return key


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"invalid object key prefix {prefix!r}")
    return prefix


def new_object_key(workspace_id: int) -> str:
    """A fresh random key in the workspace's namespace: ws/<id>/<128-bit token>."""
    return f"{workspace_prefix(workspace_id)}{secrets.token_urlsafe(16)}"


def workspace_prefix(workspace_id: int) -> str:
    """The prefix of every object of a workspace (for `delete_prefix` when it is deleted)."""
    if isinstance(workspace_id, bool) or not isinstance(workspace_id, int):
        raise TypeError("workspace_id must be an int")
    return f"ws/{workspace_id}/"


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: datetime  # aware, UTC: when the object was last written


class ObjectStore(ABC):
    """Bytes under opaque keys. Writes are all-or-nothing; deletes are idempotent."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def put_stream(self, key: str, chunks: Iterable[bytes], *, durable: bool = True) -> None:
        """Store an object of any size, holding about one part of it in memory.

        `durable=False` is for a new key that nothing reads before `flush()`: the store may
        defer making it durable (and whole) until then, so a batch of many small objects
        pays for one flush instead of one per object.
        """

    def flush(self) -> None:  # noqa: B027 — a no-op unless the store defers durability
        """Make every object written with `durable=False` durable (no-op where writes are)."""

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    @abstractmethod
    def open_stream(self, key: str) -> Iterator[bytes]:
        """Chunks of the object; raises ObjectNotFound now, not at the first chunk."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; returns how many."""

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete these objects (a missing one is no error); returns how many were asked."""
        count = 0
        for key in keys:
            self.delete(key)
            count += 1
        return count

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix` (plain string prefix, as in S3); order unspecified."""

    @abstractmethod
    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        """Like `iter_keys`, with when each object was written (for sweeps by age)."""

    @staticmethod
    def _check_delete_prefix(prefix: str) -> str:
        # "ws/1" would also match "ws/10/…": a whole-namespace delete must end with "/".
        if not prefix or not prefix.endswith("/"):
            raise ValueError(
                f"delete_prefix needs a non-empty prefix ending in '/', not {prefix!r}"
            )
        return _check_prefix(prefix)


# ---------------------------------------------------------------------------- local files

_SUFFIX = ".obj"  # files end in ".obj", directories never contain a dot: no clash possible


def _shard(name: str) -> str:
    # The first character of a random token: 64 sub-folders per namespace, a few hundred
    # files each at 10,000 messages. (Two characters made a mkdir per object on a first sync,
    # as slow as writing the object itself.)
    return name[:1]


def _iter_file(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(READ_CHUNK):
            yield chunk


class LocalObjectStore(ObjectStore):
    """Files under `root`: key "ws/12/AbCd…" is stored at root/ws/12/Ab/AbCd….obj."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._unsynced = False
        self._made_dirs: set[Path] = set()  # mkdir costs as much as writing a small object

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        *dirs, name = _check_key(key).split("/")
        return self.root.joinpath(*dirs, _shard(name), name + _SUFFIX)

    def _key_of(self, path: Path) -> str | None:
        """Inverse of `_path`, or None for anything that is not an object (temp files…)."""
        parts = path.relative_to(self.root).parts
        if len(parts) < 2 or not parts[-1].endswith(_SUFFIX) or parts[-1].startswith("."):
            return None
        name = parts[-1][: -len(_SUFFIX)]
        if parts[-2] != _shard(name):
            return None
        key = "/".join((*parts[:-2], name))
        return key if _KEY_RE.fullmatch(key) else None

    def put(self, key: str, data: bytes) -> None:
        self.put_stream(key, (data,))

    def _create(self, path: Path, *, temporary: bool) -> tuple[int, str]:
        """A new file for `path`: a temporary one beside it, or `path` itself."""
        # A concurrent delete_prefix may prune the empty folder between mkdir and open.
        for attempt in range(3):
            if attempt or path.parent not in self._made_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made_dirs.add(path.parent)
            try:
                if temporary:
                    return tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
                return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), str(path)
            except FileNotFoundError:
                self._made_dirs.discard(path.parent)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def put_stream(self, key: str, chunks: Iterable[bytes], *, durable: bool = True) -> None:
        path = self._path(key)
        # A deferred write is a new key nobody reads before flush(): it goes straight to its
        # place (half the file-system work of a temp file and a rename). Otherwise atomic:
        # readers see the old object or the whole new one, never a partial file.
        fd, written = self._create(path, temporary=durable)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
                else:
                    self._unsynced = True
            if durable:
                os.replace(written, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(written)
            raise

    def flush(self) -> None:
        # One sync(2) for a whole batch: an fsync per small file costs more than the rest
        # of ingesting a message.
        if self._unsynced:
            self._unsynced = False  # before: a write during the sync asks for another one
            os.sync()

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def open_stream(self, key: str) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        return _iter_file(handle)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def delete_prefix(self, prefix: str) -> int:
        self._check_delete_prefix(prefix)
        count = 0
        for key in list(self.iter_keys(prefix)):
            with contextlib.suppress(FileNotFoundError):
                self._path(key).unlink()
                count += 1
        self._prune(self.root.joinpath(*prefix.rstrip("/").split("/")))
        return count

    def _prune(self, top: Path) -> None:
        """Remove the empty folders left under `top` (and `top` itself if empty)."""
        if not top.is_dir():
            return
        for dirpath, _dirnames, _filenames in os.walk(top, topdown=False):
            with contextlib.suppress(OSError):  # not empty: a write raced us; keep it
                os.rmdir(dirpath)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        for key in self.iter_keys(prefix):
            try:
                mtime = self._path(key).stat().st_mtime
            except FileNotFoundError:
                continue  # deleted meanwhile
            yield StoredObject(key, datetime.fromtimestamp(mtime, UTC))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        _check_prefix(prefix)
        # Walk only the folder of the prefix's complete segments, then filter by string.
        top = self.root.joinpath(*prefix.split("/")[:-1])
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for filename in sorted(filenames):
                key = self._key_of(Path(dirpath, filename))
                if key is not None and key.startswith(prefix):
                    yield key


# ------------------------------------------------------------------------- S3 / R2


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class S3ObjectStore(ObjectStore):
    """An S3-compatible bucket (Cloudflare R2 in production, moto in tests).

    A deferred write (`durable=False`) of a small object is uploaded in the background, up to
    UPLOADS_IN_FLIGHT at a time, and `flush()` waits for them: a sync writes two objects a
    message, and one PUT after the other would make it as slow as the network's round trips.
    """

    MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
    MAX_PARTS = 10_000
    UPLOADS_IN_FLIGHT = 16
    BYTES_IN_FLIGHT = 32 * MiB  # per thread: memory stays bounded whatever the objects

    def __init__(self, *, client: Any, bucket: str, part_size: int = 8 * MiB) -> None:
        if part_size < self.MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {self.MIN_PART_SIZE} bytes")
        self.client = client
        self.bucket = bucket
        self.part_size = part_size
        self._uploader: ThreadPoolExecutor | None = None
        self._uploader_lock = threading.Lock()
        # Each thread flushes what it deferred itself, and hears only of its own failures.
        self._deferred = threading.local()

    def __repr__(self) -> str:
        return f"S3ObjectStore(bucket={self.bucket!r})"

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=_check_key(key), Body=bytes(data))

    def put_stream(self, key: str, chunks: Iterable[bytes], *, durable: bool = True) -> None:
        _check_key(key)  # an S3 PUT is durable when it returns: nothing to defer
        buf = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            for chunk in chunks:
                buf += chunk
                # Parts of exactly part_size (R2 wants equal parts), so memory stays ~1 part.
                while len(buf) >= self.part_size:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=key
                        )["UploadId"]
                    part = bytes(buf[: self.part_size])
                    del buf[: self.part_size]
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, part))
            if upload_id is None:
                if durable:
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buf))
                else:
                    self._defer(key, bytes(buf))
                return
            if buf:
                parts.append(self._upload_part(key, upload_id, len(parts) + 1, bytes(buf)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            if upload_id is not None:
                # Unfinished uploads are invisible but billed: abort, and never hide the cause.
                with contextlib.suppress(Exception):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
            raise

    def _pending(self) -> list[tuple[Future, int]]:
        if not hasattr(self._deferred, "uploads"):
            self._deferred.uploads = []
        return self._deferred.uploads

    def _defer(self, key: str, body: bytes) -> None:
        pending = self._pending()
        while pending and (
            len(pending) >= self.UPLOADS_IN_FLIGHT
            or sum(size for _, size in pending) + len(body) > self.BYTES_IN_FLIGHT
        ):
            upload, _size = pending.pop(0)
            upload.result()  # a failure surfaces now, before more is sent
        with self._uploader_lock:
            if self._uploader is None:
                self._uploader = ThreadPoolExecutor(
                    self.UPLOADS_IN_FLIGHT, thread_name_prefix="object-upload"
                )
        upload = self._uploader.submit(
            self.client.put_object, Bucket=self.bucket, Key=key, Body=body
        )
        pending.append((upload, len(body)))

    def flush(self) -> None:
        pending = self._pending()
        failure: BaseException | None = None
        while pending:  # every upload finished, even after a failure: none left running
            upload, _size = pending.pop(0)
            try:
                upload.result()
            except BaseException as error:  # the first one is raised below
                failure = failure or error
        if failure is not None:
            raise failure

    def _upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        if number > self.MAX_PARTS:
            raise StorageError(f"object {key!r} needs more than {self.MAX_PARTS} parts")
        response = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def _get_object(self, key: str) -> dict[str, Any]:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=_check_key(key))
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(key) from None

    def get(self, key: str) -> bytes:
        body = self._get_object(key)["Body"]
        with contextlib.closing(body):
            return body.read()

    def open_stream(self, key: str) -> Iterator[bytes]:
        body = self._get_object(key)["Body"]

        def chunks() -> Iterator[bytes]:
            with contextlib.closing(body):
                yield from body.iter_chunks(READ_CHUNK)

        return chunks()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=_check_key(key))

    def delete_prefix(self, prefix: str) -> int:
        self._check_delete_prefix(prefix)
        count = 0
        batch: list[str] = []
        for key in self.iter_keys(prefix):
            batch.append(key)
            if len(batch) == 1000:  # the DeleteObjects maximum
                count += self._delete_batch(batch)
                batch = []
        if batch:
            count += self._delete_batch(batch)
        return count

    def delete_many(self, keys: Iterable[str]) -> int:
        # DeleteObjects, a thousand at a time: one request instead of one per object.
        wanted = [_check_key(k) for k in keys]
        return sum(self._delete_batch(wanted[n : n + 1000]) for n in range(0, len(wanted), 1000))

    def _delete_batch(self, keys: list[str]) -> int:
        response = self.client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
        )
        if errors := response.get("Errors"):
            first = errors[0]
            raise StorageError(
                f"could not delete {len(errors)} object(s), e.g. {first.get('Key')!r}: "
                f"{first.get('Code')} {first.get('Message')}"
            )
        return len(keys)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=_check_key(key))
        except self.client.exceptions.ClientError as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        for obj in self.iter_objects(prefix):
            yield obj.key

    def iter_objects(self, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=_check_prefix(prefix)):
            for obj in page.get("Contents", ()):
                yield StoredObject(obj["Key"], obj["LastModified"].astimezone(UTC))


# ------------------------------------------------------------------------ selection


def object_store() -> ObjectStore:
    """The configured store: R2/S3 when R2_BUCKET is set, else DATA_DIR/objects."""
    if settings.R2_BUCKET:
        return _s3_store(
            settings.R2_BUCKET,
            settings.R2_ENDPOINT_URL or None,
            settings.R2_ACCESS_KEY_ID or None,
            settings.R2_SECRET_ACCESS_KEY or None,
            settings.R2_REGION or None,
        )
    return _local_store(str(Path(settings.DATA_DIR) / "objects"))


def object_stores_forget() -> None:
    """Drop the cached stores, so the next `object_store()` builds fresh clients (in a
    forked process: an S3 client's pooled connections must not be shared across fork)."""
    _local_store.cache_clear()
    _s3_store.cache_clear()


@lru_cache(maxsize=4)
def _local_store(root: str) -> LocalObjectStore:
    return LocalObjectStore(root)


@lru_cache(maxsize=4)  # a boto3 client is costly to build and safe to share across threads
def _s3_store(
    bucket: str,
    endpoint_url: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    region: str | None,
) -> S3ObjectStore:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=S3ObjectStore.UPLOADS_IN_FLIGHT,  # the deferred uploads
            # S3-compatible stores differ on the newer default checksums; AES-GCM
            # already authenticates every byte we read back.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    return S3ObjectStore(client=client, bucket=bucket)


# --------------------------------------------------------------------- sealed objects


def put_sealed(
    keys: WorkspaceKeys,
    chunks: Iterable[bytes],
    *,
    field: str,
    row: str | int,
    store: ObjectStore | None = None,
    durable: bool = True,
) -> str:
    """Encrypt `chunks` as it streams into a new object of the workspace; returns its key."""
    key = new_object_key(keys.workspace_id)
    (store or object_store()).put_stream(
        key, crypto.seal_stream(keys, chunks, field=field, row=row), durable=durable
    )
    return key


def open_sealed(
    key: str,
    keys: WorkspaceKeys,
    *,
    field: str,
    row: str | int,
    store: ObjectStore | None = None,
) -> Iterator[bytes]:
    """Decrypted chunks of a sealed object (CryptoError on damage; see crypto.BlobCipher)."""
    return crypto.open_stream(
        keys, (store or object_store()).open_stream(key), field=field, row=row
    )


def read_sealed(
    key: str,
    keys: WorkspaceKeys,
    *,
    field: str,
    row: str | int,
    store: ObjectStore | None = None,
) -> bytes:
    """The whole decrypted object, verified to the end (for objects that fit in memory)."""
    return b"".join(open_sealed(key, keys, field=field, row=row, store=store))
