"""Workspace keys: the only module that reads or writes `Workspace.wrapped_key`.

- `workspace_key_create` gives a new workspace its random key (wrapped by the newest master key);
- `keys_for` unwraps it into `WorkspaceKeys` (cached per process);
- `workspace_key_destroy` crypto-shreds the workspace: without its key nothing sealed opens;
- `master_key_rotate` re-wraps every key under the newest master key, with no downtime.
"""

import logging
import secrets
from functools import lru_cache

from django.db import transaction

from accounts.models import Workspace
from accounts.signals import master_key_rotated
from trupeo.crypto import (
    KEY_SIZE,
    CryptoError,
    MasterKeyRing,
    WorkspaceKeys,
    master_key_ring,
    rewrap,
    unwrap_workspace_key,
    wrap_workspace_key,
)

logger = logging.getLogger(__name__)


class WorkspaceKeyMissing(CryptoError):
    """The workspace has no key: never created, or destroyed (crypto-shredded)."""


class WorkspaceKeyExists(CryptoError):
    """Refused to replace a workspace key: that would make its data unreadable."""


class KeyRotationError(CryptoError):
    """Some wrapped keys could not be re-wrapped; the others were."""

    def __init__(self, rotated: int, failed: list[int]) -> None:
        self.rotated = rotated
        self.failed = failed
        shown = ", ".join(map(str, failed[:20])) + (" …" if len(failed) > 20 else "")
        super().__init__(
            f"re-wrapped {rotated} workspace key(s), but {len(failed)} could not be unwrapped "
            f"(workspaces {shown}); see the log"
        )


def workspace_key_create(*, workspace: Workspace) -> WorkspaceKeys:
    """Give a saved workspace its random key; refuses if it already has one."""
    if workspace.pk is None:
        raise ValueError("save the workspace before creating its key")
    raw = secrets.token_bytes(KEY_SIZE)
    blob = wrap_workspace_key(raw)
    # Conditional update: two concurrent calls cannot both win, and an existing key
    # (whose loss would make the workspace's data unreadable) is never overwritten.
    updated = Workspace.objects.filter(pk=workspace.pk, wrapped_key__isnull=True).update(
        wrapped_key=blob
    )
    if not updated:
        raise WorkspaceKeyExists(
            f"workspace {workspace.pk} already has a key (or no longer exists); not replaced"
        )
    workspace.wrapped_key = blob
    return WorkspaceKeys(raw, workspace.pk)


def keys_for(workspace: Workspace) -> WorkspaceKeys:
    """The workspace's keys, unwrapped from the instance's `wrapped_key`."""
    blob = workspace.wrapped_key
    if blob is None:
        raise WorkspaceKeyMissing(
            f"workspace {workspace.pk} has no key: it was never created, or it was destroyed "
            "(crypto-shredded) and its sealed data can no longer be read"
        )
    return _unwrapped(workspace.pk, bytes(blob), master_key_ring())


# Keyed by the wrapped blob itself: a rotation or a shred changes the blob, so a stale entry
# is never used for fresh data. The ring is in the key so retiring a master key takes effect.
@lru_cache(maxsize=256)
def _unwrapped(workspace_id: int, blob: bytes, ring: MasterKeyRing) -> WorkspaceKeys:
    try:
        raw = unwrap_workspace_key(blob, ring=ring)
    except CryptoError as exc:
        raise CryptoError(f"workspace {workspace_id}: {exc}") from None
    return WorkspaceKeys(raw, workspace_id)


def clear_key_cache() -> None:
    _unwrapped.cache_clear()


def workspace_key_destroy(*, workspace: Workspace) -> None:
    """Crypto-shred: forget the wrapped key. Call it first when deleting a workspace.

    Database backups still hold the wrapped key until they expire; retiring the master keys
    older than the backup retention window makes those copies unreadable too.
    """
    Workspace.objects.filter(pk=workspace.pk).update(wrapped_key=None)
    workspace.wrapped_key = None
    clear_key_cache()  # lru_cache cannot drop one entry; shredding is rare
    logger.info("workspace %s: key destroyed (crypto-shredded)", workspace.pk)


def master_key_rotate(*, batch_size: int = 500) -> int:
    """Re-wrap every workspace key under the newest master key; returns how many changed.

    Idempotent (keys already under the newest master key are skipped) and safe while the
    site runs: old master keys still unwrap meanwhile, and each row is replaced only if it
    still holds the blob read, so a key shredded during the rotation is never brought back.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    ring = master_key_ring()
    rotated = 0
    failed: list[int] = []
    last_pk: int | None = None
    while True:
        # Keyset pagination: stable and cheap however many workspaces there are.
        qs = Workspace.objects.filter(wrapped_key__isnull=False).order_by("pk")
        if last_pk is not None:
            qs = qs.filter(pk__gt=last_pk)
        batch = list(qs.values_list("pk", "wrapped_key")[:batch_size])
        if not batch:
            break
        last_pk = batch[-1][0]
        with transaction.atomic():
            for pk, stored in batch:
                old = bytes(stored)
                try:
                    new = rewrap(old, ring=ring)
                except CryptoError as exc:
                    logger.error("workspace %s: cannot re-wrap its key: %s", pk, exc)
                    failed.append(pk)
                    continue
                if new != old:
                    rotated += Workspace.objects.filter(pk=pk, wrapped_key=old).update(
                        wrapped_key=new
                    )
    logger.info("re-wrapped %d workspace key(s) under master key %r", rotated, ring.newest.id)
    master_key_rotated.send(sender=Workspace)
    if failed:
        raise KeyRotationError(rotated, failed)
    return rotated
