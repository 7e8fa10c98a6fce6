"""`{% reply_clock conversation %}`: the conversation page's sentence about its goal."""

from django import template

from sla.selectors import ClockView, conversation_clock, due_badges

register = template.Library()


@register.inclusion_tag("sla/_clock.html", takes_context=True)
def reply_clock(context, conversation) -> dict:
    workspace = getattr(context.get("request"), "workspace", None)
    if workspace is None:
        return {"clock": None}
    return {"clock": conversation_clock(conversation, workspace=workspace)}


@register.simple_tag(takes_context=True)
def list_due_badges(context, rows) -> dict:
    """`{% list_due_badges rows as due %}`: the list rows' running clocks, in one query."""
    workspace = getattr(context.get("request"), "workspace", None)
    return due_badges(workspace, rows) if workspace is not None else {}


@register.filter
def badge_of(badges: dict, conversation_id: int) -> ClockView | None:
    return badges.get(conversation_id)
