"""Contacts over the API, read from the contacts app (sealed, found by blind tokens): a
search with keyset pages, and a conversation's people (`api.conversations`)."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.keys import keys_for
from api import schemas
from api.cursor import cursor_decode, cursor_encode
from api.errors import ApiError
from contacts.selectors import ContactView, contacts_page

router = Router(tags=["contacts"])


def contacts_as_json(views: list[ContactView]) -> list[dict]:
    return [
        {
            "id": view.id,
            "name": view.name,
            "address": view.addresses[0] if view.addresses else "",
            "addresses": view.addresses,
            "organisation": (
                {
                    "id": view.organisation.id,
                    "name": view.organisation.name,
                    "domain": view.organisation.domain,
                }
                if view.organisation
                else None
            ),
        }
        for view in views
    ]


class ContactFilters(Schema):
    q: str = Field(default="", max_length=200, description="words of a name or an address")
    cursor: str | None = Field(default=None, max_length=64)


@router.get(
    "/contacts",
    response=schemas.ContactPage,
    url_name="api_contacts",
    summary="List or search contacts",
)
def contact_list(request: HttpRequest, filters: Query[ContactFilters]):
    """A page of contacts, newest first; with `q`, those whose name or addresses hold every
    word of it. Follow `next_cursor` for the next page."""
    q = filters.q.strip()
    if "\x00" in q:
        raise ApiError(400, _("The search contains a NUL character."))
    after = None
    decoded = cursor_decode(filters.cursor)
    if decoded:
        prefix, _sep, number = decoded.partition("_")
        if prefix != "c" or not number.isdigit() or len(number) > 18:
            raise ApiError(400, _("This cursor is not one the API gave."), code="bad_cursor")
        after = int(number)
    page = contacts_page(keys_for(request.workspace), request.workspace, query=q, after=after)
    return {
        "contacts": contacts_as_json(page.rows),
        "next_cursor": cursor_encode(f"c_{page.after}" if page.after else ""),
    }
