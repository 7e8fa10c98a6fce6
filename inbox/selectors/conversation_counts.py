"""How many conversations each list holds, and unread notifications: the sidebar's counts."""

from accounts.models import User
from inbox.models import Notification


def unread_count(*, user: User, workspace_id: int) -> int:
    return Notification.objects.filter(
        recipient=user, workspace_id=workspace_id, read_at__isnull=True
    ).count()
