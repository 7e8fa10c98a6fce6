"""The site key: seals what public visitors send, who belong to no workspace.

One random 256-bit key, stored wrapped by the newest master key exactly like a workspace key,
so `site_key_rotate` re-wraps it when the master key changes and nothing sealed is lost.
Purpose keys come from `WorkspaceKeys` with the reserved id 0 (no workspace has id 0).
"""

import secrets
from functools import lru_cache

from django.db import IntegrityError, transaction

from privacy.models import SiteKey
from trupeo.crypto import (
    KEY_SIZE,
    MasterKeyRing,
    WorkspaceKeys,
    master_key_ring,
    rewrap,
    unwrap_workspace_key,
    wrap_workspace_key,
)

SITE_KEY_ROW = 1
SITE_WORKSPACE_ID = 0


def site_keys() -> WorkspaceKeys:
    """The site's keys, created on first use (two first uses at once agree on one key)."""
    row = SiteKey.objects.filter(pk=SITE_KEY_ROW).first()
    if row is None:
        try:
            with transaction.atomic():
                row = SiteKey.objects.create(
                    pk=SITE_KEY_ROW, wrapped_key=wrap_workspace_key(secrets.token_bytes(KEY_SIZE))
                )
        except IntegrityError:
            row = SiteKey.objects.get(pk=SITE_KEY_ROW)
    return _unwrapped(bytes(row.wrapped_key), master_key_ring())


@lru_cache(maxsize=4)
def _unwrapped(blob: bytes, ring: MasterKeyRing) -> WorkspaceKeys:
    return WorkspaceKeys(unwrap_workspace_key(blob, ring=ring), SITE_WORKSPACE_ID)


def site_key_rotate() -> bool:
    """Re-wrap the site key under the newest master key; True when it changed."""
    with transaction.atomic():
        row = SiteKey.objects.select_for_update().filter(pk=SITE_KEY_ROW).first()
        if row is None:
            return False
        blob = rewrap(bytes(row.wrapped_key))
        if blob == bytes(row.wrapped_key):
            return False
        SiteKey.objects.filter(pk=SITE_KEY_ROW).update(wrapped_key=blob)
        return True
