"""What a caller needs to name things: the token itself, the members (for assign), the tags."""

from django.http import HttpRequest
from ninja import Router

from accounts.access import in_workspace
from accounts.models import Membership
from api import schemas
from inbox.selectors.tags import tags_listed

router = Router(tags=["workspace"])


@router.get("/me", response=schemas.TokenInfo, url_name="api_me", summary="The token in use")
def me(request: HttpRequest):
    caller = request.api_caller
    return {
        "workspace": caller.workspace.name,
        "acting_as": {
            "id": caller.user.pk,
            "name": caller.user.display_name,
            "email": caller.user.email,
        },
        "role": caller.membership.role,
        "scope": caller.token.scope,
        "expires_at": caller.token.expires_at,
    }


@router.get("/members", response=list[schemas.Member], url_name="api_members", summary="The team")
def member_list(request: HttpRequest):
    rows = in_workspace(request, Membership).select_related("user")
    return [
        {"id": m.user_id, "name": m.user.display_name, "email": m.user.email}
        for m in rows.order_by("user__name", "user__email")
    ]


@router.get("/tags", response=list[schemas.TagOut], url_name="api_tags", summary="Every tag")
def tag_list(request: HttpRequest):
    return [{"id": t.id, "name": t.name, "color": t.color} for t in tags_listed(request.workspace)]
