"""Object storage, run against the local folder store and a real S3 endpoint (moto server)."""

import os
import re
import threading
import uuid
from collections.abc import Iterator

import boto3
import pytest

from trupeo.crypto import SEGMENT_SIZE, CryptoError, WorkspaceKeys
from trupeo.storage import (
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    S3ObjectStore,
    new_object_key,
    object_store,
    open_sealed,
    put_sealed,
    read_sealed,
    workspace_prefix,
)

MiB = 1024 * 1024


def _admin_client(endpoint: str):
    # moto refuses CreateBucket with R2's region "auto"; the store itself uses "auto".
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


@pytest.fixture(params=["local", "s3"])
def store(request, settings, tmp_path) -> ObjectStore:
    if request.param == "local":
        settings.R2_BUCKET = ""
        settings.DATA_DIR = tmp_path
        result = object_store()
        assert isinstance(result, LocalObjectStore)
        assert result.root == tmp_path / "objects"
        return result
    endpoint = request.getfixturevalue("s3_server")
    bucket = f"trupeo-test-{uuid.uuid4().hex[:12]}"
    _admin_client(endpoint).create_bucket(Bucket=bucket)
    settings.R2_BUCKET = bucket
    settings.R2_ENDPOINT_URL = endpoint
    settings.R2_ACCESS_KEY_ID = "test"
    settings.R2_SECRET_ACCESS_KEY = "test"
    settings.R2_REGION = "auto"
    result = object_store()
    assert isinstance(result, S3ObjectStore) and result.bucket == bucket
    return result


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


# --------------------------------------------------------------------------- keys


def test_new_object_key_reveals_nothing():
    key = new_object_key(12)
    assert re.fullmatch(r"ws/12/[A-Za-z0-9_-]{22}", key)
    assert len({new_object_key(12) for _ in range(1000)}) == 1000
    assert workspace_prefix(12) == "ws/12/"
    with pytest.raises(TypeError):
        new_object_key("12")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key", ["", "/abs", "a//b", "a/../b", "..", "a/b/", "a/./b", "x.pdf", "a\\b", "é", "a\0b"]
)
def test_invalid_keys_are_refused(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")
    with pytest.raises(ValueError):
        store.get(key)


# ------------------------------------------------------------------------ basic API


def test_put_get_exists_delete(store):
    key = new_object_key(1)
    assert not store.exists(key)
    store.put(key, b"sealed bytes")
    assert store.exists(key)
    assert store.get(key) == b"sealed bytes"
    store.put(key, b"replaced")
    assert store.get(key) == b"replaced"
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # idempotent


def test_empty_object(store):
    key = new_object_key(1)
    store.put(key, b"")
    assert store.exists(key) and store.get(key) == b""
    assert b"".join(store.open_stream(key)) == b""


def test_missing_object_raises_object_not_found(store):
    key = new_object_key(1)
    with pytest.raises(ObjectNotFound):
        store.get(key)
    with pytest.raises(ObjectNotFound):
        store.open_stream(key)  # eagerly, not at the first chunk


def test_put_stream_and_open_stream(store):
    data = os.urandom(3 * MiB + 17)
    key = new_object_key(1)
    store.put_stream(key, chunks_of(data, 100_000))
    assert store.get(key) == data
    chunks = list(store.open_stream(key))
    assert len(chunks) >= 2 and b"".join(chunks) == data


def test_put_stream_big_object(store):
    data = os.urandom(11 * MiB + 3)
    key = new_object_key(1)
    if isinstance(store, S3ObjectStore):
        store = S3ObjectStore(client=store.client, bucket=store.bucket, part_size=5 * MiB)
    store.put_stream(key, chunks_of(data, 1_000_000))
    assert b"".join(store.open_stream(key)) == data
    if isinstance(store, S3ObjectStore):
        etag = store.client.head_object(Bucket=store.bucket, Key=key)["ETag"]
        assert etag.strip('"').endswith("-3")  # three parts: multipart upload was used


def test_failed_put_stream_leaves_nothing(store, tmp_path):
    key = new_object_key(1)
    if isinstance(store, S3ObjectStore):
        store = S3ObjectStore(client=store.client, bucket=store.bucket, part_size=5 * MiB)

    def broken() -> Iterator[bytes]:
        yield os.urandom(6 * MiB)  # enough to start a multipart upload on S3
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        store.put_stream(key, broken())
    assert not store.exists(key)
    assert list(store.iter_keys("")) == []
    if isinstance(store, S3ObjectStore):
        uploads = store.client.list_multipart_uploads(Bucket=store.bucket)
        assert not uploads.get("Uploads")  # aborted, not left to be billed
    else:
        leftovers = [p for p in store.root.rglob("*") if p.is_file()]
        assert leftovers == []


def test_failed_overwrite_keeps_the_old_object(store):
    key = new_object_key(1)
    store.put(key, b"old")

    def broken() -> Iterator[bytes]:
        yield b"new"
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError):
        store.put_stream(key, broken())
    assert store.get(key) == b"old"


def test_deferred_writes_are_all_there_after_flush(store):
    objects = {new_object_key(1): os.urandom(n * 1000) for n in range(40)}
    objects[new_object_key(1)] = os.urandom(6 * MiB)  # bigger than the S3 bytes in flight
    for key, data in objects.items():
        store.put_stream(key, chunks_of(data or b"", 64 * 1024), durable=False)
    store.flush()
    assert {key: store.get(key) for key in objects} == objects


class _GatedClient:
    """An S3 client whose put_object waits for a gate, and fails for one key."""

    def __init__(self, client, failing_key: str = ""):
        self._client, self._failing = client, failing_key
        self.gate = threading.Event()

    def put_object(self, **kwargs):
        assert self.gate.wait(10)
        if kwargs["Key"] == self._failing:
            raise RuntimeError("the bucket refused it")
        return self._client.put_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_s3_deferred_writes_upload_in_the_background(s3_server):
    bucket = f"trupeo-test-{uuid.uuid4().hex[:12]}"
    _admin_client(s3_server).create_bucket(Bucket=bucket)
    client = _GatedClient(_admin_client(s3_server))
    store = S3ObjectStore(client=client, bucket=bucket)
    keys = [new_object_key(1) for _ in range(5)]
    for key in keys:  # returns at once although no upload can finish yet
        store.put_stream(key, [key.encode()], durable=False)
    assert not any(store.exists(key) for key in keys)
    client.gate.set()
    store.flush()
    assert [store.get(key) for key in keys] == [key.encode() for key in keys]


def test_s3_a_failed_deferred_write_fails_the_flush_after_the_others(s3_server):
    bucket = f"trupeo-test-{uuid.uuid4().hex[:12]}"
    _admin_client(s3_server).create_bucket(Bucket=bucket)
    keys = [new_object_key(1) for _ in range(6)]
    client = _GatedClient(_admin_client(s3_server), failing_key=keys[2])
    store = S3ObjectStore(client=client, bucket=bucket)
    for key in keys:
        store.put_stream(key, [b"x"], durable=False)
    client.gate.set()
    with pytest.raises(RuntimeError, match="refused"):
        store.flush()
    assert [store.exists(key) for key in keys] == [True, True, False, True, True, True]
    store.flush()  # nothing left pending: a later flush has nothing to report


# -------------------------------------------------------------- listing and prefixes


def test_iter_keys_and_delete_prefix(store):
    ws1 = {new_object_key(1) for _ in range(5)}
    ws10 = {new_object_key(10) for _ in range(3)}
    other = {"exports/abc", "ws/1"}  # "ws/1" is a key, not inside ws/1/
    for key in ws1 | ws10 | other:
        store.put(key, key.encode())
    assert set(store.iter_keys("ws/1/")) == ws1
    assert set(store.iter_keys("ws/10/")) == ws10
    assert set(store.iter_keys("ws/1")) == ws1 | ws10 | {"ws/1"}  # plain string prefix
    assert set(store.iter_keys()) == ws1 | ws10 | other

    with pytest.raises(ValueError):
        store.delete_prefix("ws/1")  # would also hit ws/10/
    with pytest.raises(ValueError):
        store.delete_prefix("")
    assert store.delete_prefix(workspace_prefix(1)) == 5
    assert set(store.iter_keys()) == ws10 | other
    assert store.get("ws/1") == b"ws/1"
    assert store.delete_prefix(workspace_prefix(1)) == 0


def test_iter_objects_tells_when_each_object_was_written(store):
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=2)  # S3 dates are to the second
    keys = {new_object_key(4) for _ in range(3)}
    for key in keys:
        store.put(key, b"x")
    store.put("ws/40/other", b"y")
    found = list(store.iter_objects("ws/4/"))
    assert {o.key for o in found} == keys
    assert all(before <= o.modified_at <= datetime.now(UTC) + timedelta(seconds=2) for o in found)
    assert all(o.modified_at.utcoffset() == timedelta(0) for o in found)


def test_delete_prefix_many(store):
    keys = {new_object_key(3) for _ in range(1005)} if isinstance(store, S3ObjectStore) else set()
    if not keys:
        keys = {new_object_key(3) for _ in range(50)}
    for key in keys:
        store.put(key, b"x")
    assert store.delete_prefix("ws/3/") == len(keys)
    assert list(store.iter_keys("ws/3/")) == []


def test_local_store_layout_is_sharded_and_clean(settings, tmp_path):
    settings.R2_BUCKET = ""
    settings.DATA_DIR = tmp_path
    store = object_store()
    assert isinstance(store, LocalObjectStore)
    key = new_object_key(4)
    store.put(key, b"data")
    token = key.rsplit("/", 1)[1]
    path = tmp_path / "objects" / "ws" / "4" / token[:1] / f"{token}.obj"
    assert path.read_bytes() == b"data"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    store.put("a", b"short name")
    assert (tmp_path / "objects" / "a" / "a.obj").exists()
    assert set(store.iter_keys()) == {key, "a"}
    store.delete_prefix("ws/4/")
    assert not (tmp_path / "objects" / "ws" / "4").exists()  # empty folders pruned


# ------------------------------------------------------------------- sealed objects


def test_sealed_objects_round_trip_and_hold_no_plaintext(store):
    keys = WorkspaceKeys(os.urandom(32), 21)
    plaintext = b"From: alice@example.fr\r\nSubject: Devis 2026\r\n\r\n" * 5000
    key = put_sealed(keys, chunks_of(plaintext, 10_000), field="raw", row="msg-1", store=store)
    assert key.startswith("ws/21/")
    stored = store.get(key)
    assert b"alice@example.fr" not in stored and b"Devis" not in stored
    assert len(stored) > len(plaintext)
    assert read_sealed(key, keys, field="raw", row="msg-1", store=store) == plaintext
    assert b"".join(open_sealed(key, keys, field="raw", row="msg-1", store=store)) == plaintext
    with pytest.raises(CryptoError):
        read_sealed(key, keys, field="raw", row="msg-2", store=store)
    with pytest.raises(CryptoError):
        read_sealed(key, WorkspaceKeys(os.urandom(32), 21), field="raw", row="msg-1", store=store)


def test_sealed_object_truncated_in_storage_fails(store):
    keys = WorkspaceKeys(os.urandom(32), 22)
    key = put_sealed(keys, [os.urandom(2 * SEGMENT_SIZE + 9)], field="raw", row="1", store=store)
    stored = store.get(key)
    store.put(key, stored[: len(stored) - (9 + 16)])  # drop exactly the last segment
    with pytest.raises(CryptoError):
        read_sealed(key, keys, field="raw", row="1", store=store)


def test_sealed_helpers_use_the_configured_store(store):
    keys = WorkspaceKeys(os.urandom(32), 23)
    key = put_sealed(keys, [b"hello"], field="attachment", row="9")
    assert store.exists(key)
    assert read_sealed(key, keys, field="attachment", row="9") == b"hello"
