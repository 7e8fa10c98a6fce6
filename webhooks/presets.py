"""The body each kind of endpoint expects: our signed JSON, or a chat message for Slack/Teams."""

import json

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from webhooks.models import Event, Preset


def chat_text(payload: dict) -> str:
    """One short message for a chat channel, in the workspace's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string(
            "webhooks/chat_message.txt",
            {
                "event": Event(payload["event"]).label,
                "workspace": payload["workspace"]["slug"],
                "data": payload["data"],
            },
        ).strip()


def chat_escaped(text: str) -> str:
    """Slack and Teams read <, > and & as markup (<!channel>, <url|a disguised link>): a
    customer's subject must stay text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body_for(preset: str, payload: dict) -> bytes:
    if preset == Preset.SLACK:
        message: dict = {"text": chat_escaped(chat_text(payload))}
    elif preset == Preset.TEAMS:
        # The "MessageCard" a Teams incoming webhook (and a Workflows webhook) accepts.
        text = chat_escaped(chat_text(payload))
        message = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": text.splitlines()[0] if text else "Trupeo",
            "text": text,
        }
    else:
        message = payload
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
