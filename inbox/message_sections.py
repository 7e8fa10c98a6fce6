"""The messages of a conversation page, rendered in Python.

A conversation shows tens of messages, each with its head, why it joined, its images notice,
its frame or text and its attachments; through Django's template engine they took about a
third of the page's server time (an include, a dozen tags and filters per message). The
markup is here instead, once. Every value that comes from mail goes through `escape`.
"""

from collections.abc import Iterable
from html import escape

from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from inbox.mail.parsing import describe_problems
from inbox.selectors.conversation_page import MessageView, id_url


class Sections:
    """Renders the message sections of one page (what every section shares, built once)."""

    def __init__(self, *, triage_url: str, csrf_token: str, trusted: Iterable[str]) -> None:
        self.trusted = set(trusted)
        self.triage = escape(triage_url)
        self.csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
        self.frame_url = id_url("message_html")
        self.download_url = id_url("attachment_download")

    def render(self, m: MessageView, *, first: bool) -> SafeString:
        sender = m.sender.get("address", "")
        name = escape(m.sender.get("name") or sender)
        when = timezone.localtime(m.date)
        label = escape(_("Message from %(name)s") % {"name": m.sender.get("name") or sender})
        parts = [
            f'<section class="message message-{escape(m.direction)}" aria-label="{label}">'
            f'<div class="message-head"><span><strong>{name}</strong>'
            f' <span class="muted">&lt;{escape(sender)}&gt;</span></span>'
            f'<time class="muted" datetime="{escape(when.isoformat())}">'
            f"{escape(formats.date_format(when, 'DATETIME_FORMAT'))}</time></div>",
            f'<div class="muted message-why">{escape(str(m.thread_reason))}',
            "" if first else self._split(m),
            "</div>",
        ]
        # Only damage the reader should know of, in their language; a missing Message-ID or
        # Date stays recorded for diagnostics but is not worth a warning.
        problems = describe_problems(m.parse_problems)
        if problems:
            damaged = _("This message is damaged; it is shown as well as it could be read.")
            parts.append(
                f'<p class="notice message-problem">{escape(damaged)}'
                f" {escape(' '.join(problems))}</p>"
            )
        if m.has_html:
            if m.has_remote_images:
                parts.append(self._images(m, trusted=sender.lower() in self.trusted))
            parts.append(
                f'<iframe class="message-frame" name="mail-{int(m.id)}"'
                f' src="{escape(self.frame_url.format(int(m.id)))}"'
                ' sandbox="allow-popups allow-popups-to-escape-sandbox"'
                f' title="{label}"></iframe>'
            )
        else:
            parts.append(f'<div class="message-body">{escape(m.text)}</div>')
        files = [a for a in m.attachments if not a["is_inline"]]
        if files:
            # Strings to translate stay outside f-strings: makemessages does not see in them.
            nameless = _("attachment")
            parts.append('<ul class="attachments">')
            parts += [
                f'<li><a href="{escape(self.download_url.format(int(a["id"])))}?download=1"'
                f" download>{escape(a['filename'] or nameless)}</a>"
                f' <span class="muted">{escape(filesizeformat(a["size"]))}</span></li>'
                for a in files
            ]
            parts.append("</ul>")
        parts.append("</section>")
        return mark_safe("".join(parts))  # noqa: S308  (every value above is escaped)

    def _split(self, m: MessageView) -> str:
        confirm = _("Split? This message and the ones after it become a new conversation.")
        split = _("Split from here")
        return (
            f' · <form method="post" action="{self.triage}" class="inline-form">{self.csrf}'
            '<input type="hidden" name="action" value="split">'
            f'<input type="hidden" name="message" value="{int(m.id)}">'
            f'<button type="submit" class="link-button" data-confirm="{escape(confirm)}">'
            f"{escape(split)}</button></form>"
        )

    def _images(self, m: MessageView, *, trusted: bool) -> str:
        if trusted:
            said, action, button = (
                _("Images from this sender are always shown."),
                "distrust_sender",
                _("Block them again"),
            )
            show = ""
        else:
            said, action, button = (
                _("Remote images are blocked: they can tell the sender that you read the message."),
                "trust_sender",
                _("Always show images from this sender"),
            )
            show_images = _("Show images")
            show = (
                f' <a href="{escape(self.frame_url.format(int(m.id)))}?images=1"'
                f' target="mail-{int(m.id)}">{escape(show_images)}</a> ·'
            )
        return (
            f'<div class="notice message-images">{escape(said)}{show}'
            f' <form method="post" action="{self.triage}" class="inline-form"'
            f' hx-post="{self.triage}" hx-target="#conv-live" hx-swap="outerHTML">{self.csrf}'
            f'<input type="hidden" name="action" value="{action}">'
            f'<input type="hidden" name="message" value="{int(m.id)}">'
            f'<button type="submit" class="link-button">{escape(button)}</button></form></div>'
        )
