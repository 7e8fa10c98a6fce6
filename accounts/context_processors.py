from django.http import HttpRequest

from accounts.models import Membership


def workspace(request: HttpRequest) -> dict:
    """The active workspace and the others the user can switch to, for the navigation."""
    current = getattr(request, "workspace", None)
    if current is None:
        return {"workspace": None, "membership": None, "other_memberships": []}

    def others():
        return (
            Membership.objects.filter(user=request.user)
            .exclude(workspace=current)
            .select_related("workspace")
            .order_by("workspace__name")
        )

    return {
        "workspace": current,
        "membership": request.membership,  # type: ignore[attr-defined]
        "other_memberships": others,  # evaluated only by templates that show the switcher
    }
