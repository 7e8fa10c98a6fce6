"""The list's keyset cursor, opaque to clients: the inbox's own cursor ("<µs>_<id>",
inbox.selectors.conversation_list) in URL-safe base64, so nobody builds one by hand and it can
change shape later."""

import base64
import binascii

from django.utils.translation import gettext as _

from api.errors import ApiError


def cursor_encode(cursor: str) -> str | None:
    return base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=") if cursor else None


def cursor_decode(opaque: str | None) -> str:
    """The inbox's cursor ("" for the first page); a cursor we did not give is a 400."""
    if not opaque:
        return ""
    broken = ApiError(400, _("This cursor is not one the API gave."), code="bad_cursor")
    if len(opaque) > 64 or not opaque.isascii():
        raise broken
    try:
        decoded = base64.urlsafe_b64decode(opaque + "=" * (-len(opaque) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise broken from None
    if not decoded or "_" not in decoded:
        raise broken
    return decoded
