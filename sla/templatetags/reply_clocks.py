"""`{% reply_clock conversation %}`: the conversation page's sentence about its goal."""

from django import template

from sla.selectors import conversation_clock

register = template.Library()


@register.inclusion_tag("sla/_clock.html", takes_context=True)
def reply_clock(context, conversation) -> dict:
    workspace = getattr(context.get("request"), "workspace", None)
    if workspace is None:
        return {"clock": None}
    return {"clock": conversation_clock(conversation, workspace=workspace)}
