from django.http import HttpRequest


def workspace(request: HttpRequest) -> dict:
    """The active workspace and the others the user can switch to, for the navigation."""
    current = getattr(request, "workspace", None)
    if current is None:
        return {"workspace": None, "membership": None, "other_memberships": []}
    # Read by the middleware with the active one, in the same query.
    memberships = getattr(request, "memberships", [])
    others = [m for m in memberships if m.workspace_id != current.pk]
    return {
        "workspace": current,
        "membership": request.membership,  # type: ignore[attr-defined]
        "other_memberships": sorted(others, key=lambda m: (m.workspace.name.casefold(), m.pk)),
    }
