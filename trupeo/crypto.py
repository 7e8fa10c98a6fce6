"""Encryption at rest: master keys, workspace keys, sealed values and sealed streams.

The layers (README.md, "Encryption at rest"):

- master keys (KEKs) come from TRUPEO_MASTER_KEYS, newest first: the newest wraps, all unwrap;
- each workspace has its own random 32-byte key, stored wrapped by a master key (only
  `accounts.keys` touches that column), so destroying the wrapped key crypto-shreds the workspace;
- purpose keys (content, search, blob, person) are derived from the workspace key with HKDF-SHA256;
- every ciphertext starts with a version byte and is bound by its associated data to the
  workspace, field and row it belongs to: moved elsewhere, it fails to open.

Pure library: no models and no database. Anything that cannot be opened raises `CryptoError`;
nothing here ever returns garbage.

Run `python -m trupeo.crypto` to print a fresh master key without loading Django settings.
"""

import base64
import binascii
import hmac
import itertools
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12  # 96-bit GCM nonce
TAG_SIZE = 16

WRAP_VERSION = 1
SEAL_VERSION = 1
STREAM_VERSION = 1

Bytes = bytes | bytearray | memoryview  # BinaryField gives memoryview on PostgreSQL


class CryptoError(Exception):
    """A key or ciphertext could not be used: tampered, truncated, misplaced or unknown."""


# --------------------------------------------------------------------------- master keys

# Ids end up in every wrapped key and in log lines: short, printable, no separators.
_KEY_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_URLSAFE_TO_STD = str.maketrans("-_", "+/")


@dataclass(frozen=True, slots=True, repr=False)
class MasterKey:
    id: str
    key: bytes

    def __repr__(self) -> str:  # never print key material
        return f"MasterKey(id={self.id!r})"


class MasterKeyRing:
    """The configured master keys, newest first: the newest wraps, every one unwraps."""

    __slots__ = ("_by_id", "_keys")

    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise ImproperlyConfigured("TRUPEO_MASTER_KEYS lists no master key.")
        by_id: dict[str, MasterKey] = {}
        for key in keys:
            if not _KEY_ID_RE.fullmatch(key.id):
                raise ImproperlyConfigured(f"Master key id {key.id!r} is not a valid id.")
            if len(key.key) != KEY_SIZE:
                raise ImproperlyConfigured(f"Master key {key.id!r} is not {KEY_SIZE} bytes long.")
            if key.id in by_id:
                raise ImproperlyConfigured(f"TRUPEO_MASTER_KEYS lists the id {key.id!r} twice.")
            by_id[key.id] = key
        self._keys = tuple(keys)
        self._by_id = by_id

    @classmethod
    def parse(cls, spec: str) -> "MasterKeyRing":
        """Parse "id:base64key,id:base64key" (newest first). Errors never show key material."""
        spec = (spec or "").strip()
        if not spec:
            raise ImproperlyConfigured(
                "TRUPEO_MASTER_KEYS is empty. Generate a key with "
                "`python manage.py generate_master_key`."
            )
        keys: list[MasterKey] = []
        for position, entry in enumerate(spec.split(","), start=1):
            entry = entry.strip()
            where = f"TRUPEO_MASTER_KEYS entry {position}"
            if not entry:
                raise ImproperlyConfigured(f"{where} is empty (stray comma?).")
            key_id, sep, encoded = entry.partition(":")
            key_id, encoded = key_id.strip(), encoded.strip()
            if not sep or not key_id or not encoded:
                raise ImproperlyConfigured(f"{where} is not of the form 'id:base64key'.")
            if not _KEY_ID_RE.fullmatch(key_id):
                raise ImproperlyConfigured(
                    f"{where}: id {key_id!r} must be 1-64 letters, digits, '.', '_' or '-'."
                )
            try:
                # Accept the url-safe alphabet too: both are common ways to print 32 bytes.
                raw = base64.b64decode(encoded.translate(_URLSAFE_TO_STD), validate=True)
            except (binascii.Error, ValueError):
                raise ImproperlyConfigured(
                    f"{where} (id {key_id!r}): the key is not valid base64."
                ) from None
            if len(raw) != KEY_SIZE:
                raise ImproperlyConfigured(
                    f"{where} (id {key_id!r}): the key decodes to {len(raw)} bytes, "
                    f"expected {KEY_SIZE}."
                )
            if any(k.id == key_id for k in keys):
                raise ImproperlyConfigured(f"TRUPEO_MASTER_KEYS lists the id {key_id!r} twice.")
            keys.append(MasterKey(key_id, raw))
        return cls(keys)

    @property
    def newest(self) -> MasterKey:
        return self._keys[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self._keys)

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise CryptoError(
                f"master key {key_id!r} is not in TRUPEO_MASTER_KEYS (retired or never "
                f"configured); configured ids: {', '.join(self.ids)}"
            ) from None

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._by_id

    def __repr__(self) -> str:
        return f"MasterKeyRing(ids={self.ids!r})"


def master_key_ring() -> MasterKeyRing:
    """The ring from settings; re-parsed only when the setting's value changes."""
    return _ring_from_spec(settings.TRUPEO_MASTER_KEYS)


@lru_cache(maxsize=8)
def _ring_from_spec(spec: str) -> MasterKeyRing:
    return MasterKeyRing.parse(spec)


def default_master_key_id(existing: Iterable[str] = ()) -> str:
    """A date-based id ("k20260214"), suffixed when that id is already in use."""
    base = f"k{datetime.now(UTC):%Y%m%d}"
    taken = set(existing)
    key_id, n = base, 1
    while key_id in taken:
        n += 1
        key_id = f"{base}-{n}"
    return key_id


def new_master_key(key_id: str) -> str:
    """A fresh "id:base64key" entry for TRUPEO_MASTER_KEYS."""
    if not _KEY_ID_RE.fullmatch(key_id):
        raise ValueError(f"master key id {key_id!r} must be 1-64 letters, digits, '.', '_' or '-'.")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode('ascii')}"


# ------------------------------------------------------------------ wrapped workspace keys

_WRAP_AAD = b"trupeo/workspace-key"


def wrap_workspace_key(raw_key: Bytes, *, ring: MasterKeyRing | None = None) -> bytes:
    """Wrap a 32-byte workspace key under the newest master key (see `wrap_key`)."""
    return wrap_key(raw_key, purpose=_WRAP_AAD, ring=ring)


def wrap_key(raw_key: Bytes, *, purpose: bytes, ring: MasterKeyRing | None = None) -> bytes:
    """Wrap a 32-byte key under the newest master key, bound to `purpose` (what it is for).

    Layout: version (1) | id length (1) | master key id | nonce (12) | ciphertext+tag (48).
    The header is part of the AAD, so editing the version or the id fails to unwrap.
    """
    raw_key = bytes(raw_key)
    if len(raw_key) != KEY_SIZE:
        raise ValueError(f"a wrapped key is {KEY_SIZE} bytes, not {len(raw_key)}")
    master = (ring or master_key_ring()).newest
    key_id = master.id.encode("ascii")
    header = bytes([WRAP_VERSION, len(key_id)]) + key_id
    nonce = os.urandom(NONCE_SIZE)
    return header + nonce + AESGCM(master.key).encrypt(nonce, raw_key, purpose + header)


def _split_wrapped(blob: Bytes) -> tuple[str, bytes, bytes, bytes]:
    """(master key id, header, nonce, ciphertext) of a wrapped key, or CryptoError."""
    blob = bytes(blob)
    if not blob:
        raise CryptoError("wrapped workspace key is empty")
    if blob[0] != WRAP_VERSION:
        raise CryptoError(f"wrapped workspace key has unsupported version {blob[0]}")
    if len(blob) < 2:
        raise CryptoError("wrapped workspace key is truncated")
    id_end = 2 + blob[1]
    expected = id_end + NONCE_SIZE + KEY_SIZE + TAG_SIZE
    if len(blob) != expected:
        raise CryptoError(
            f"wrapped workspace key is {len(blob)} bytes, expected {expected} (truncated or padded)"
        )
    try:
        key_id = blob[2:id_end].decode("ascii")
    except UnicodeDecodeError:
        raise CryptoError("wrapped workspace key has a corrupt master key id") from None
    return key_id, blob[:id_end], blob[id_end : id_end + NONCE_SIZE], blob[id_end + NONCE_SIZE :]


def wrapped_key_id(blob: Bytes) -> str:
    """The id of the master key that wrapped `blob` (no decryption)."""
    return _split_wrapped(blob)[0]


def unwrap_workspace_key(blob: Bytes, *, ring: MasterKeyRing | None = None) -> bytes:
    return unwrap_key(blob, purpose=_WRAP_AAD, ring=ring)


def unwrap_key(blob: Bytes, *, purpose: bytes, ring: MasterKeyRing | None = None) -> bytes:
    key_id, header, nonce, ciphertext = _split_wrapped(blob)
    master = (ring or master_key_ring()).get(key_id)
    try:
        return AESGCM(master.key).decrypt(nonce, ciphertext, purpose + header)
    except InvalidTag:
        raise CryptoError(
            f"wrapped key failed authentication under master key {key_id!r}: "
            "tampered with, moved from another use, or that id now names a different key"
        ) from None


def rewrap(blob: Bytes, *, ring: MasterKeyRing | None = None) -> bytes:
    """`blob` re-wrapped under the newest master key; unchanged if it already is."""
    ring = ring or master_key_ring()
    blob = bytes(blob)
    if wrapped_key_id(blob) == ring.newest.id:
        return blob  # idempotent: a second rotation run writes nothing
    return wrap_workspace_key(unwrap_workspace_key(blob, ring=ring), ring=ring)


# ------------------------------------------------------------------------ workspace keys


def _lp(*parts: bytes) -> bytes:
    """Length-prefixed concatenation, so ("ab", "c") and ("a", "bc") never collide."""
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def _derive(raw_key: bytes, *, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=info).derive(raw_key)


TOKEN_CACHE_SIZE = 20_000  # words, per workspace key in memory: about 3 MB at most


class WorkspaceKeys:
    """The purpose keys of one workspace, and the operations that use them.

    Get one with `accounts.keys.keys_for(workspace)`; never store it.
    `field` names what is sealed ("message.subject") and `row` which row holds it (its id):
    both go into the AAD with the workspace id, so a ciphertext copied to another place
    fails to open. The row id must therefore be known (and stable) when sealing.
    """

    __slots__ = (
        "_blob_key",
        "_content",
        "_person_key",
        "_search_key",
        "_tokens",
        "_ws",
        "workspace_id",
    )

    def __init__(self, raw_key: Bytes, workspace_id: int) -> None:
        raw_key = bytes(raw_key)
        if len(raw_key) != KEY_SIZE:
            raise CryptoError(f"a workspace key is {KEY_SIZE} bytes, not {len(raw_key)}")
        if isinstance(workspace_id, bool) or not isinstance(workspace_id, int):
            raise TypeError(f"workspace_id must be an int, not {type(workspace_id).__name__}")
        self.workspace_id = workspace_id
        self._ws = str(workspace_id).encode("ascii")
        # The workspace id salts HKDF: even a key reused by mistake gives distinct keys.
        salt = b"trupeo/workspace/" + self._ws
        self._content = AESGCM(_derive(raw_key, salt=salt, info=b"trupeo/content"))
        self._search_key = _derive(raw_key, salt=salt, info=b"trupeo/search")
        self._blob_key = _derive(raw_key, salt=salt, info=b"trupeo/blob")
        # Its own key, so a person's digest (kept outside the database, in the deletion
        # ledger) shares nothing with the search tokens and dies with the workspace key.
        self._person_key = _derive(raw_key, salt=salt, info=b"trupeo/person")
        # Tokens already computed: mail repeats its words, so a sync mostly hits this.
        self._tokens: dict[str, int] = {}

    def __repr__(self) -> str:  # never print key material
        return f"WorkspaceKeys(workspace_id={self.workspace_id})"

    def _aad(self, purpose: bytes, field: str, row: str | int, version: int) -> bytes:
        if not field:
            raise ValueError("field must name what is sealed")
        return _lp(purpose, bytes([version]), self._ws, field.encode(), str(row).encode())

    def seal(self, plaintext: Bytes, *, field: str, row: str | int) -> bytes:
        """version (1) | nonce (12) | ciphertext+tag. A fresh random nonce every time."""
        nonce = os.urandom(NONCE_SIZE)
        aad = self._aad(b"trupeo/seal", field, row, SEAL_VERSION)
        return bytes([SEAL_VERSION]) + nonce + self._content.encrypt(nonce, bytes(plaintext), aad)

    def open(self, blob: Bytes, *, field: str, row: str | int) -> bytes:
        blob = bytes(blob)
        if len(blob) < 1 + NONCE_SIZE + TAG_SIZE:
            raise CryptoError(f"sealed value is truncated ({len(blob)} bytes)")
        if blob[0] != SEAL_VERSION:
            raise CryptoError(f"sealed value has unsupported version {blob[0]}")
        aad = self._aad(b"trupeo/seal", field, row, SEAL_VERSION)
        try:
            return self._content.decrypt(blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :], aad)
        except InvalidTag:
            raise CryptoError(
                f"sealed value failed authentication (workspace {self.workspace_id}, "
                f"field {field!r}, row {str(row)!r}): tampered with, or it belongs to another "
                "workspace, field or row"
            ) from None

    def seal_text(self, text: str | None, *, field: str, row: str | int) -> bytes | None:
        return None if text is None else self.seal(text.encode("utf-8"), field=field, row=row)

    def open_text(self, blob: Bytes | None, *, field: str, row: str | int) -> str | None:
        return None if blob is None else self.open(blob, field=field, row=row).decode("utf-8")

    def search_token(self, word: str) -> int:
        """Blind index token: deterministic per workspace, meaningless elsewhere.

        A signed 63-bit int (in [-2**62, 2**62)), so it fits a PostgreSQL bigint with room
        to spare. Normalising the word (case, accents) is the caller's job.
        """
        token = self._tokens.get(word)
        if token is None:
            digest = hmac.digest(self._search_key, word.encode("utf-8"), "sha256")  # one C call
            token = int.from_bytes(digest[:8], "big", signed=True) >> 1
            if len(self._tokens) >= TOKEN_CACHE_SIZE:
                self._tokens.clear()  # bounded: a big vocabulary starts over
            self._tokens[word] = token
        return token

    def person_digest(self, address: str) -> str:
        """A full keyed digest (HMAC-SHA256, hex) of a normalised address: the same address
        gives the same digest in this workspace only, and the address cannot be read back."""
        return hmac.digest(self._person_key, address.encode("utf-8"), "sha256").hex()

    def blob_cipher(self, *, field: str, row: str | int) -> "BlobCipher":
        """Chunked cipher for large objects (raw mail, attachments, exports)."""
        return BlobCipher(self._blob_key, self._aad(b"trupeo/blob", field, row, STREAM_VERSION))


# ---------------------------------------------------------------------- sealed streams

SEGMENT_SIZE = 64 * 1024  # plaintext bytes per segment
_SALT_SIZE = 16
_PREFIX_SIZE = 7  # nonce = prefix (7) | counter (4) | last flag (1)
STREAM_HEADER_SIZE = 1 + _SALT_SIZE + _PREFIX_SIZE
_MAX_SEGMENTS = 2**32 - 1


def _segments(chunks: Iterable[Bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """Cut a byte stream into `size`-byte segments; the last (flagged) may be short or empty.

    A segment is released only once more bytes follow it, since only then is it known not to
    be the last. The buffer is compacted once per input chunk, never once per segment, so a
    huge chunk costs linear time.
    """
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        if len(buf) > size:
            full = (len(buf) - 1) // size
            with memoryview(buf) as view:
                for i in range(full):
                    # A copy, not a view: a view kept by the caller would pin `buf`.
                    yield bytes(view[i * size : (i + 1) * size]), False
            del buf[: full * size]
    yield bytes(buf), True


class BlobCipher:
    """Chunked AES-256-GCM (the STREAM construction) for objects too big to hold twice.

    Stream: header = version (1) | salt (16) | nonce prefix (7), then segments of
    SEGMENT_SIZE plaintext bytes (+16-byte tag each), the last one possibly shorter.
    Each object gets its own key (HKDF of the blob key with the random salt), so random
    nonce prefixes never collide across objects. The segment counter in the nonce detects
    reordering, and the last segment carries a flag, so truncation at any point fails.

    `open` yields each segment once it is authenticated; only the end of the iteration
    proves the object is complete. Act on the whole (parse, send) only after that.
    """

    __slots__ = ("_aad", "_blob_key")

    def __init__(self, blob_key: bytes, aad: bytes) -> None:
        self._blob_key = blob_key
        self._aad = aad

    def _aead(self, salt: bytes) -> AESGCM:
        return AESGCM(_derive(self._blob_key, salt=salt, info=b"trupeo/blob-object"))

    @staticmethod
    def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
        if counter > _MAX_SEGMENTS:
            raise CryptoError("sealed stream is too long")
        return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")

    def seal(self, chunks: Iterable[Bytes]) -> Iterator[bytes]:
        salt, prefix = os.urandom(_SALT_SIZE), os.urandom(_PREFIX_SIZE)
        header = bytes([STREAM_VERSION]) + salt + prefix
        aead, aad = self._aead(salt), self._aad + header
        yield header
        # Always a final segment (possibly empty), so even an empty object proves its end.
        for counter, (segment, last) in enumerate(_segments(chunks, SEGMENT_SIZE)):
            yield aead.encrypt(self._nonce(prefix, counter, last), segment, aad)

    def open(self, chunks: Iterable[Bytes]) -> Iterator[bytes]:
        source = iter(chunks)
        head = b""
        rest: Iterable[Bytes] = ()
        for chunk in source:
            # Peel the header off without copying the (possibly huge) chunk it arrives in.
            need = STREAM_HEADER_SIZE - len(head)
            view = memoryview(chunk)
            head += bytes(view[:need])
            if len(head) == STREAM_HEADER_SIZE:
                rest = itertools.chain((view[need:],), source)
                break
        if len(head) < STREAM_HEADER_SIZE:
            raise CryptoError("sealed stream is truncated: incomplete header")
        state = self._start(head)
        for counter, (segment, last) in enumerate(_segments(rest, SEGMENT_SIZE + TAG_SIZE)):
            if last and len(segment) < TAG_SIZE:
                raise CryptoError(f"sealed stream is truncated after segment {counter - 1}")
            plaintext = self._open_segment(state, counter, last, segment)
            if plaintext:
                yield plaintext

    def _start(self, header: bytes) -> tuple[AESGCM, bytes, bytes]:
        if header[0] != STREAM_VERSION:
            raise CryptoError(f"sealed stream has unsupported version {header[0]}")
        salt, prefix = header[1 : 1 + _SALT_SIZE], header[1 + _SALT_SIZE :]
        return self._aead(salt), prefix, self._aad + header

    def _open_segment(
        self, state: tuple[AESGCM, bytes, bytes], counter: int, last: bool, segment: bytes
    ) -> bytes:
        aead, prefix, aad = state
        try:
            return aead.decrypt(self._nonce(prefix, counter, last), segment, aad)
        except InvalidTag:
            raise CryptoError(
                f"sealed stream segment {counter} failed authentication: tampered with, "
                "truncated, reordered, or it belongs to another workspace, field or row"
            ) from None


def seal_stream(
    keys: WorkspaceKeys, chunks: Iterable[Bytes], *, row: str | int, field: str
) -> Iterator[bytes]:
    """Encrypt an iterable of chunks lazily; memory stays around one segment plus one chunk."""
    return keys.blob_cipher(field=field, row=row).seal(chunks)


def open_stream(
    keys: WorkspaceKeys, chunks: Iterable[Bytes], *, row: str | int, field: str
) -> Iterator[bytes]:
    """Decrypt what `seal_stream` produced; raises CryptoError on any damage (see BlobCipher)."""
    return keys.blob_cipher(field=field, row=row).open(chunks)


if __name__ == "__main__":
    # Works before any settings exist (generate_master_key needs a configured Django).
    print(new_master_key(default_master_key_id()))
