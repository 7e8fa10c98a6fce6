"""Encryption at rest: master keys, wrapped workspace keys, sealed values and streams."""

import base64
import os
import random
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts.keys import (
    WorkspaceKeyExists,
    WorkspaceKeyMissing,
    keys_for,
    master_key_rotate,
    workspace_key_create,
    workspace_key_destroy,
)
from accounts.models import Workspace
from trupeo.crypto import (
    SEGMENT_SIZE,
    STREAM_HEADER_SIZE,
    TAG_SIZE,
    CryptoError,
    MasterKeyRing,
    WorkspaceKeys,
    master_key_ring,
    new_master_key,
    open_stream,
    rewrap,
    seal_stream,
    unwrap_workspace_key,
    wrap_workspace_key,
    wrapped_key_id,
)

K1 = base64.b64encode(b"1" * 32).decode()
K2 = base64.b64encode(b"2" * 32).decode()
K3 = base64.b64encode(b"3" * 32).decode()


def flip(blob: bytes, index: int) -> bytes:
    out = bytearray(blob)
    out[index] ^= 0x01
    return bytes(out)


@pytest.fixture
def keys() -> WorkspaceKeys:
    return WorkspaceKeys(os.urandom(32), 7)


# ------------------------------------------------------------------------- master keys


def test_ring_parses_newest_first_and_tolerates_spaces():
    ring = MasterKeyRing.parse(f" new:{K2} , old:{K1}\n")
    assert ring.ids == ("new", "old")
    assert ring.newest.id == "new"
    assert ring.get("old").key == b"1" * 32
    assert "old" in ring and "gone" not in ring


def test_ring_accepts_urlsafe_base64():
    raw = bytes(range(250, 256)) * 5 + b"\xfb\xff"
    assert len(raw) == 32
    ring = MasterKeyRing.parse(f"a:{base64.urlsafe_b64encode(raw).decode()}")
    assert ring.newest.key == raw


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (f"a:{K1},", "entry 2 is empty"),
        (K1, "'id:base64key'"),
        (f":{K1}", "'id:base64key'"),
        ("a:", "'id:base64key'"),
        (f"bad id:{K1}", "id 'bad id'"),
        ("a:not base64!!", "not valid base64"),
        ("a:" + base64.b64encode(b"x" * 16).decode(), "16 bytes, expected 32"),
        ("a:" + base64.b64encode(b"x" * 33).decode(), "33 bytes, expected 32"),
        (f"a:{K1},a:{K2}", "twice"),
    ],
)
def test_ring_rejects_malformed_settings_clearly(spec, message):
    with pytest.raises(ImproperlyConfigured, match=message) as info:
        MasterKeyRing.parse(spec)
    assert K1 not in str(info.value) and K2 not in str(info.value)


def test_ring_repr_hides_key_material():
    ring = MasterKeyRing.parse(f"a:{K1}")
    assert K1 not in repr(ring) and "1111" not in repr(ring.newest)


def test_new_master_key_is_a_valid_ring_entry():
    entry = new_master_key("k20260101")
    ring = MasterKeyRing.parse(entry)
    assert ring.newest.id == "k20260101" and len(ring.newest.key) == 32
    assert new_master_key("k20260101") != entry
    with pytest.raises(ValueError):
        new_master_key("bad id")


def test_master_key_ring_follows_settings(settings):
    assert master_key_ring().ids == ("test2", "test1")  # from pytest-env
    settings.TRUPEO_MASTER_KEYS = f"x:{K3}"
    assert master_key_ring().ids == ("x",)


# --------------------------------------------------------------------- wrapped keys


def test_wrap_round_trip_and_layout():
    ring = MasterKeyRing.parse(f"new:{K2},old:{K1}")
    raw = os.urandom(32)
    blob = wrap_workspace_key(raw, ring=ring)
    assert blob[0] == 1 and blob[1] == 3 and blob[2:5] == b"new"
    assert len(blob) == 2 + 3 + 12 + 32 + 16
    assert raw not in blob
    assert unwrap_workspace_key(blob, ring=ring) == raw
    assert unwrap_workspace_key(memoryview(blob), ring=ring) == raw
    assert wrapped_key_id(blob) == "new"
    assert wrap_workspace_key(raw, ring=ring) != blob  # fresh nonce


def test_wrap_rejects_wrong_key_size():
    with pytest.raises(ValueError):
        wrap_workspace_key(b"short")


def test_every_tampered_byte_of_a_wrapped_key_fails():
    ring = MasterKeyRing.parse(f"ab:{K2},aa:{K1}")
    blob = wrap_workspace_key(os.urandom(32), ring=ring)
    for index in range(len(blob)):
        with pytest.raises(CryptoError):
            unwrap_workspace_key(flip(blob, index), ring=ring)


@pytest.mark.parametrize("cut", [0, 1, 2, 5, 17, -1])
def test_truncated_or_padded_wrapped_key_fails(cut):
    ring = MasterKeyRing.parse(f"new:{K2}")
    blob = wrap_workspace_key(os.urandom(32), ring=ring)
    with pytest.raises(CryptoError):
        unwrap_workspace_key(blob[:cut], ring=ring)
    with pytest.raises(CryptoError, match="expected"):
        unwrap_workspace_key(blob + b"\0", ring=ring)


def test_wrapped_key_wrong_version_unknown_id_and_replaced_key():
    ring = MasterKeyRing.parse(f"new:{K2}")
    blob = wrap_workspace_key(os.urandom(32), ring=ring)
    with pytest.raises(CryptoError, match="unsupported version 2"):
        unwrap_workspace_key(b"\x02" + blob[1:], ring=ring)
    with pytest.raises(CryptoError, match="'new' is not in TRUPEO_MASTER_KEYS"):
        unwrap_workspace_key(blob, ring=MasterKeyRing.parse(f"other:{K2}"))
    with pytest.raises(CryptoError, match="failed authentication"):
        unwrap_workspace_key(blob, ring=MasterKeyRing.parse(f"new:{K1}"))


def test_a_sealed_value_is_not_a_wrapped_key(keys):
    # Same cipher, different purpose: the AAD keeps them apart.
    ring = MasterKeyRing.parse(f"new:{K2}")
    with pytest.raises(CryptoError):
        unwrap_workspace_key(keys.seal(os.urandom(32), field="f", row="1"), ring=ring)


def test_rewrap_moves_to_newest_and_is_idempotent():
    old_ring = MasterKeyRing.parse(f"old:{K1}")
    raw = os.urandom(32)
    blob = wrap_workspace_key(raw, ring=old_ring)
    ring = MasterKeyRing.parse(f"new:{K2},old:{K1}")
    assert unwrap_workspace_key(blob, ring=ring) == raw  # old blobs still open
    moved = rewrap(blob, ring=ring)
    assert wrapped_key_id(moved) == "new"
    assert unwrap_workspace_key(moved, ring=MasterKeyRing.parse(f"new:{K2}")) == raw
    assert rewrap(moved, ring=ring) == moved


# ------------------------------------------------------------------- sealed values


def test_seal_round_trip(keys):
    for plaintext in (b"", b"x", "Réunion à 14h 📅".encode(), os.urandom(100_000)):
        blob = keys.seal(plaintext, field="message.subject", row="42")
        assert blob[0] == 1
        assert len(blob) == 1 + 12 + len(plaintext) + 16
        assert keys.open(blob, field="message.subject", row="42") == plaintext
        assert keys.open(memoryview(blob), field="message.subject", row=42) == plaintext


def test_seal_uses_a_fresh_nonce(keys):
    a = keys.seal(b"same", field="f", row="1")
    b = keys.seal(b"same", field="f", row="1")
    assert a != b and a[1:13] != b[1:13]


def test_seal_text_keeps_none(keys):
    assert keys.seal_text(None, field="f", row="1") is None
    assert keys.open_text(None, field="f", row="1") is None
    for text in ("", "Bonjour Élodie", "漢字"):
        blob = keys.seal_text(text, field="f", row="1")
        assert isinstance(blob, bytes)
        assert keys.open_text(blob, field="f", row="1") == text


def test_every_tampered_byte_of_a_sealed_value_fails(keys):
    blob = keys.seal(b"confidential subject", field="f", row="1")
    for index in range(len(blob)):
        with pytest.raises(CryptoError):
            keys.open(flip(blob, index), field="f", row="1")


def test_truncated_sealed_value_fails(keys):
    blob = keys.seal(b"confidential subject", field="f", row="1")
    for cut in range(len(blob)):
        with pytest.raises(CryptoError):
            keys.open(blob[:cut], field="f", row="1")
    with pytest.raises(CryptoError):
        keys.open(blob + b"\0", field="f", row="1")


def test_wrong_version_is_reported(keys):
    blob = keys.seal(b"x", field="f", row="1")
    with pytest.raises(CryptoError, match="unsupported version 9"):
        keys.open(b"\x09" + blob[1:], field="f", row="1")


def test_misplaced_ciphertext_fails(keys):
    raw = os.urandom(32)
    here = WorkspaceKeys(raw, 1)
    blob = here.seal(b"secret", field="message.subject", row="10")
    with pytest.raises(CryptoError, match="another workspace, field or row"):
        here.open(blob, field="message.body", row="10")
    with pytest.raises(CryptoError):
        here.open(blob, field="message.subject", row="11")
    with pytest.raises(CryptoError):
        WorkspaceKeys(raw, 2).open(blob, field="message.subject", row="10")  # same key, other ws
    with pytest.raises(CryptoError):
        keys.open(blob, field="message.subject", row="10")  # other key
    # Field/row boundaries are unambiguous: ("ab", "c") is not ("a", "bc").
    blob = here.seal(b"x", field="ab", row="c")
    with pytest.raises(CryptoError):
        here.open(blob, field="a", row="bc")


def test_workspace_keys_validate_inputs():
    with pytest.raises(CryptoError):
        WorkspaceKeys(b"short", 1)
    with pytest.raises(TypeError):
        WorkspaceKeys(os.urandom(32), "1")  # type: ignore[arg-type]
    keys = WorkspaceKeys(os.urandom(32), 1)
    with pytest.raises(ValueError):
        keys.seal(b"x", field="", row="1")
    assert repr(keys) == "WorkspaceKeys(workspace_id=1)"


# -------------------------------------------------------------------- search tokens


def test_search_token_deterministic_per_workspace(keys):
    token = keys.search_token("facture")
    assert token == keys.search_token("facture")
    assert isinstance(token, int) and -(2**62) <= token < 2**62
    assert keys.search_token("facture") != keys.search_token("factures")
    other = WorkspaceKeys(os.urandom(32), 8)
    assert other.search_token("facture") != token
    tokens = [keys.search_token(f"mot{i}") for i in range(2000)]
    assert len(set(tokens)) == 2000
    assert any(t < 0 for t in tokens) and any(t > 0 for t in tokens)


# ---------------------------------------------------------------------- sealed streams


def rechunk(data: bytes, rng: random.Random, biggest: int = 3 * SEGMENT_SIZE) -> list[bytes]:
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(1, biggest)
        chunks.append(data[i : i + n])
        i += n
    return chunks


def sealed(keys: WorkspaceKeys, data: bytes, **where) -> bytes:
    where = where or {"field": "raw", "row": "5"}
    return b"".join(seal_stream(keys, [data], **where))


def opened(keys: WorkspaceKeys, blob: bytes, **where) -> bytes:
    where = where or {"field": "raw", "row": "5"}
    return b"".join(open_stream(keys, [blob], **where))


@pytest.mark.parametrize(
    "size",
    [
        0,
        1,
        SEGMENT_SIZE - 1,
        SEGMENT_SIZE,
        SEGMENT_SIZE + 1,
        2 * SEGMENT_SIZE,
        3 * SEGMENT_SIZE + 5,
    ],
)
def test_stream_round_trip_any_size_and_chunking(keys, size):
    rng = random.Random(size)
    data = os.urandom(size)
    blob = b"".join(seal_stream(keys, rechunk(data, rng), field="raw", row="5"))
    segments = max(1, -(-size // SEGMENT_SIZE))
    assert len(blob) == STREAM_HEADER_SIZE + size + segments * TAG_SIZE
    out = b"".join(open_stream(keys, rechunk(blob, rng), field="raw", row="5"))
    assert out == data
    assert b"".join(open_stream(keys, [bytes([b]) for b in blob[:100]] + [blob[100:]],
                                field="raw", row="5")) == data  # fmt: skip


def test_stream_is_lazy_and_bounded(keys):
    # A generator of 40 segments is consumed segment by segment, never all at once.
    produced = []

    def source():
        for i in range(40):
            produced.append(i)
            yield bytes([i]) * SEGMENT_SIZE

    stream = seal_stream(keys, source(), field="raw", row="5")
    next(stream), next(stream)  # header, first segment
    assert len(produced) <= 2


def test_stream_truncation_is_detected_everywhere(keys):
    data = os.urandom(3 * SEGMENT_SIZE + 100)
    blob = sealed(keys, data)
    seg = SEGMENT_SIZE + TAG_SIZE
    cuts = [0, 5, STREAM_HEADER_SIZE, STREAM_HEADER_SIZE + 10]
    cuts += [STREAM_HEADER_SIZE + k * seg for k in (1, 2, 3)]  # exactly at segment boundaries
    cuts += [STREAM_HEADER_SIZE + k * seg + 7 for k in (1, 2)] + [len(blob) - 1]
    for cut in cuts:
        with pytest.raises(CryptoError):
            opened(keys, blob[:cut])


def test_stream_exact_multiple_cannot_lose_its_last_segment(keys):
    blob = sealed(keys, os.urandom(2 * SEGMENT_SIZE))
    with pytest.raises(CryptoError):
        opened(keys, blob[: STREAM_HEADER_SIZE + SEGMENT_SIZE + TAG_SIZE])


def test_stream_reordering_dropping_duplicating_appending_fail(keys):
    blob = sealed(keys, os.urandom(3 * SEGMENT_SIZE + 100))
    seg = SEGMENT_SIZE + TAG_SIZE
    header = blob[:STREAM_HEADER_SIZE]
    body = blob[STREAM_HEADER_SIZE:]
    s = [body[i : i + seg] for i in range(0, len(body), seg)]
    assert len(s) == 4
    for variant in (
        [s[1], s[0], s[2], s[3]],  # reordered
        [s[0], s[2], s[3]],  # middle dropped
        [s[0], s[0], s[1], s[2], s[3]],  # duplicated
        [s[0], s[1], s[2], s[3], s[3]],  # final segment replayed
    ):
        with pytest.raises(CryptoError):
            opened(keys, header + b"".join(variant))
    with pytest.raises(CryptoError):
        opened(keys, blob + b"extra")


def test_stream_tampering_and_misplacement_fail(keys):
    blob = sealed(keys, os.urandom(SEGMENT_SIZE + 10))
    for index in (0, 1, 10, STREAM_HEADER_SIZE - 1, STREAM_HEADER_SIZE, len(blob) // 2, -1):
        with pytest.raises(CryptoError):
            opened(keys, flip(blob, index % len(blob)))
    with pytest.raises(CryptoError, match="unsupported version"):
        opened(keys, b"\x07" + blob[1:])
    with pytest.raises(CryptoError):
        opened(keys, blob, field="attachment", row="5")
    with pytest.raises(CryptoError):
        opened(keys, blob, field="raw", row="6")
    with pytest.raises(CryptoError):
        opened(WorkspaceKeys(os.urandom(32), 7), blob)
    # A stream sealed for one workspace does not open under the small-value cipher either.
    with pytest.raises(CryptoError):
        keys.open(blob, field="raw", row="5")


def test_stream_error_comes_before_unverified_data(keys):
    # Segment 0 is released once verified; a bad segment 1 then raises.
    blob = bytearray(sealed(keys, os.urandom(3 * SEGMENT_SIZE)))
    blob[STREAM_HEADER_SIZE + SEGMENT_SIZE + TAG_SIZE + 3] ^= 1
    stream = open_stream(keys, [bytes(blob)], field="raw", row="5")
    assert len(next(stream)) == SEGMENT_SIZE
    with pytest.raises(CryptoError, match="segment 1"):
        next(stream)


# ---------------------------------------------------------------- workspace key store


def make_workspace(slug: str) -> Workspace:
    return Workspace.objects.create(name=slug.title(), slug=slug)


@pytest.mark.django_db
def test_workspace_key_create_and_keys_for():
    ws = make_workspace("alpha")
    created = workspace_key_create(workspace=ws)
    assert ws.wrapped_key is not None and wrapped_key_id(ws.wrapped_key) == "test2"
    fresh = Workspace.objects.get(pk=ws.pk)
    keys = keys_for(fresh)
    assert keys.workspace_id == ws.pk
    blob = created.seal(b"hello", field="f", row="1")
    assert keys.open(blob, field="f", row="1") == b"hello"
    assert keys_for(fresh) is keys  # cached per process
    with pytest.raises(WorkspaceKeyExists):
        workspace_key_create(workspace=fresh)
    assert keys_for(Workspace.objects.get(pk=ws.pk)).open(blob, field="f", row="1") == b"hello"


@pytest.mark.django_db
def test_workspace_keys_differ_between_workspaces():
    a, b = make_workspace("alpha"), make_workspace("beta")
    ka, kb = workspace_key_create(workspace=a), workspace_key_create(workspace=b)
    assert ka.search_token("devis") != kb.search_token("devis")
    with pytest.raises(CryptoError):
        kb.open(ka.seal(b"x", field="f", row="1"), field="f", row="1")


@pytest.mark.django_db
def test_workspace_without_key_is_a_clear_error():
    ws = make_workspace("nokey")
    with pytest.raises(WorkspaceKeyMissing, match="no key"):
        keys_for(ws)
    with pytest.raises(ValueError):
        workspace_key_create(workspace=Workspace(name="Unsaved", slug="unsaved"))


@pytest.mark.django_db
def test_shredding_makes_the_workspace_unreadable():
    ws = make_workspace("gone")
    keys = workspace_key_create(workspace=ws)
    blob = keys.seal(b"secret", field="f", row="1")
    keys_for(ws)  # warm the cache
    workspace_key_destroy(workspace=ws)
    assert ws.wrapped_key is None
    fresh = Workspace.objects.get(pk=ws.pk)
    assert fresh.wrapped_key is None
    with pytest.raises(WorkspaceKeyMissing, match="destroyed"):
        keys_for(fresh)
    # A new key (if one were ever created) opens nothing sealed before.
    new_keys = workspace_key_create(workspace=fresh)
    with pytest.raises(CryptoError):
        new_keys.open(blob, field="f", row="1")


@pytest.mark.django_db
def test_master_key_rotation(settings):
    workspaces = [make_workspace(f"ws{i}") for i in range(5)]
    sealed_values = {}
    for ws in workspaces:
        keys = workspace_key_create(workspace=ws)
        sealed_values[ws.pk] = keys.seal(f"ws {ws.pk}".encode(), field="f", row="1")
    shredded = make_workspace("shredded")
    workspace_key_create(workspace=shredded)
    workspace_key_destroy(workspace=shredded)
    old_spec = settings.TRUPEO_MASTER_KEYS

    # Step 1: deploy with a new master key in front; old blobs still open.
    settings.TRUPEO_MASTER_KEYS = f"k2099:{K3},{old_spec}"
    for ws in Workspace.objects.filter(pk__in=sealed_values):
        assert wrapped_key_id(ws.wrapped_key) == "test2"
        assert keys_for(ws).open(sealed_values[ws.pk], field="f", row="1")

    # Step 2: rotate, in small batches; a second run has nothing left to do.
    assert master_key_rotate(batch_size=2) == 5
    assert master_key_rotate(batch_size=2) == 0
    assert Workspace.objects.get(pk=shredded.pk).wrapped_key is None  # not resurrected

    # Step 3: retire the old master keys; everything still opens.
    settings.TRUPEO_MASTER_KEYS = f"k2099:{K3}"
    for ws in Workspace.objects.filter(pk__in=sealed_values):
        assert wrapped_key_id(ws.wrapped_key) == "k2099"
        plaintext = keys_for(ws).open(sealed_values[ws.pk], field="f", row="1")
        assert plaintext == f"ws {ws.pk}".encode()


@pytest.mark.django_db
def test_retired_master_key_without_rotation_fails_clearly(settings):
    ws = make_workspace("stale")
    workspace_key_create(workspace=ws)
    settings.TRUPEO_MASTER_KEYS = f"k2099:{K3}"
    with pytest.raises(CryptoError, match="'test2' is not in TRUPEO_MASTER_KEYS"):
        keys_for(Workspace.objects.get(pk=ws.pk))


@pytest.mark.django_db
def test_rotate_reports_unreadable_keys(settings):
    from accounts.keys import KeyRotationError

    ok, broken = make_workspace("ok"), make_workspace("broken")
    workspace_key_create(workspace=ok)
    workspace_key_create(workspace=broken)
    Workspace.objects.filter(pk=broken.pk).update(
        wrapped_key=wrap_workspace_key(os.urandom(32), ring=MasterKeyRing.parse(f"lost:{K1}"))
    )
    settings.TRUPEO_MASTER_KEYS = f"k2099:{K3},{settings.TRUPEO_MASTER_KEYS}"
    with pytest.raises(KeyRotationError) as info:
        master_key_rotate()
    assert info.value.rotated == 1 and info.value.failed == [broken.pk]


# ------------------------------------------------------------------ management commands


def test_generate_master_key_command():
    out, err = StringIO(), StringIO()
    call_command("generate_master_key", stdout=out, stderr=err)
    line = out.getvalue().strip()
    ring = MasterKeyRing.parse(line)
    assert ring.newest.id.startswith("k20") and len(ring.newest.key) == 32
    assert "TRUPEO_MASTER_KEYS" in err.getvalue()
    out = StringIO()
    call_command("generate_master_key", "--id", "custom-1", stdout=out, stderr=StringIO())
    assert out.getvalue().startswith("custom-1:")


def test_generate_master_key_avoids_an_id_in_use(settings):
    out = StringIO()
    call_command("generate_master_key", stdout=out, stderr=StringIO())
    first_id = out.getvalue().strip().split(":")[0]
    settings.TRUPEO_MASTER_KEYS = f"{first_id}:{K3}"
    out = StringIO()
    call_command("generate_master_key", stdout=out, stderr=StringIO())
    assert out.getvalue().startswith(f"{first_id}-2:")


@pytest.mark.django_db
def test_rotate_master_key_command(settings):
    ws = make_workspace("cmd")
    workspace_key_create(workspace=ws)
    settings.TRUPEO_MASTER_KEYS = f"k2099:{K3},{settings.TRUPEO_MASTER_KEYS}"
    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    assert "Re-wrapped 1 workspace key(s) under master key 'k2099'" in out.getvalue()
    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    assert "Re-wrapped 0" in out.getvalue()
