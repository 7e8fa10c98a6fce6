from django.http import HttpRequest

# The URL names of the pages under the "Settings" menu (templates/base.html marks it current).
SETTINGS_PAGES = frozenset(
    {
        "mailboxes",
        "mailbox_add",
        "mailbox_edit",
        "mailbox_automatic",
        "sla_mailbox",
        "members",
        "saved_replies",
        "sla_calendar",
        "portal_admin",
        "webhook_list",
        "webhook_add",
        "webhook_edit",
        "webhook_deliveries",
        "api_tokens",
        "billing",
    }
)


def workspace(request: HttpRequest) -> dict:
    """The active workspace and the others the user can switch to, for the navigation."""
    current = getattr(request, "workspace", None)
    if current is None:
        return {
            "workspace": None,
            "membership": None,
            "other_memberships": [],
            "settings_pages": SETTINGS_PAGES,
        }
    # Read by the middleware with the active one, in the same query.
    memberships = getattr(request, "memberships", [])
    others = [m for m in memberships if m.workspace_id != current.pk]
    return {
        "workspace": current,
        "membership": request.membership,  # type: ignore[attr-defined]
        "other_memberships": sorted(others, key=lambda m: (m.workspace.name.casefold(), m.pk)),
        "settings_pages": SETTINGS_PAGES,
    }
