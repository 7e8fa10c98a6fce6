"""Forms of automatic mail: a mailbox's settings (admins) and a requester's rating comment."""

from django import forms
from django.utils.translation import gettext_lazy as _

from inbox.actions.automatic import MAX_TEMPLATE_CHARS
from inbox.actions.satisfaction import MAX_COMMENT
from inbox.models import SatisfactionLevel
from inbox.selectors.automatic import unknown_variables


class MailboxAutomaticForm(forms.Form):
    auto_ack = forms.BooleanField(
        label=_("Acknowledge every new conversation"),
        required=False,
        help_text=_(
            "Sent from the shared address to whoever opens a conversation, once a day at most "
            "per person; never to automatic mail, mailing lists, bounces, no-reply senders, "
            "spam or your own addresses."
        ),
    )
    auto_language = forms.ChoiceField(
        label=_("Language when the message does not say"),
        choices=[("fr", "Français"), ("en", "English")],
    )
    expected_reply_hours = forms.IntegerField(
        label=_("Expected reply time (hours)"),
        required=False,
        min_value=1,
        max_value=24 * 60,
        help_text=_("Shown as {{ expected_reply_time }}; left empty, that sentence is left out."),
    )
    auto_portal_link = forms.BooleanField(
        label=_("Include the link to the requester portal"), required=False
    )
    template_fr = forms.CharField(
        label=_("Acknowledgement in French"),
        required=False,
        max_length=MAX_TEMPLATE_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 9}),
    )
    template_en = forms.CharField(
        label=_("Acknowledgement in English"),
        required=False,
        max_length=MAX_TEMPLATE_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 9}),
    )
    notify_closed = forms.BooleanField(
        label=_("Tell the requester when their conversation is closed"), required=False
    )
    notify_answered = forms.BooleanField(
        label=_("Tell the requester when their conversation is answered on the portal"),
        required=False,
    )
    satisfaction = forms.BooleanField(
        label=_("Ask the requester to rate the conversation once it is closed"),
        required=False,
        help_text=_(
            "Three links in the closing message (Good, Average, Not good): no pixel, "
            "no third party."
        ),
    )

    def clean(self):
        data = super().clean()
        for name in ("template_fr", "template_en"):
            unknown = unknown_variables(data.get(name) or "")
            if unknown:
                self.add_error(
                    name,
                    _("Unknown variable: %(names)s.") % {"names": ", ".join(unknown)},
                )
        return data


class SatisfactionCommentForm(forms.Form):
    rating = forms.ChoiceField(choices=SatisfactionLevel.choices, required=False)
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        required=False,
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
