"""The portal's forms: sign-in, reply, new request, profile; and the admins' settings."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from inbox.actions.satisfaction import MAX_COMMENT
from inbox.models import Mailbox, SatisfactionLevel
from portal.addresses import is_address, normalise
from portal.models import COLOR, MAX_REMEMBER_DAYS
from trupeo.params import parse_id

MAX_FILES = 5
MAX_FILE_SIZE = 10 * 1024 * 1024
MAX_TOTAL_SIZE = 20 * 1024 * 1024
MAX_LOGO_SIZE = 200 * 1024
MAX_BODY = 50_000


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(FilesField, self).clean(f, initial) for f in files]


def _check_files(files: list) -> list:
    if len(files) > MAX_FILES:
        raise ValidationError(_("Attach at most %(count)d files.") % {"count": MAX_FILES})
    if any(f.size > MAX_FILE_SIZE for f in files):
        raise ValidationError(_("Each file must be 10 MB at most."))
    if sum(f.size for f in files) > MAX_TOTAL_SIZE:
        raise ValidationError(_("The files must be 20 MB at most in all."))
    return files


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=254)

    def clean_email(self) -> str:
        return normalise(self.cleaned_data["email"])


class LinkForm(forms.Form):
    remember = forms.BooleanField(label=_("Remember me on this device"), required=False)


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), widget=forms.Textarea, max_length=MAX_BODY)
    files = FilesField(label=_("Attachments"), required=False)

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not body.strip():
            raise ValidationError(_("Write your message."))
        return body

    def clean_files(self) -> list:
        return _check_files(self.cleaned_data.get("files") or [])


class NewRequestForm(ReplyForm):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Your message"), widget=forms.Textarea, max_length=MAX_BODY)

    field_order = ["subject", "body", "files"]

    def clean_subject(self) -> str:
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise ValidationError(_("Give your request a subject."))
        return subject


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=120, required=False)

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())


# --- Admins ---------------------------------------------------------------------------------


class MailboxField(forms.ModelChoiceField):
    """A mailbox of the workspace by id; an id no database column holds is just invalid."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if parse_id(value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class MailboxesField(forms.ModelMultipleChoiceField):
    def clean(self, value):
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        if any(parse_id(v) is None for v in values):
            raise ValidationError(self.error_messages["invalid_list"], code="invalid_list")
        return super().clean(value)


_LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class PortalSettingsForm(forms.Form):
    mailboxes = MailboxesField(
        label=_("Mailboxes shown in the portal"),
        queryset=Mailbox.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    intake_mailbox = MailboxField(
        label=_("New requests land in"), queryset=Mailbox.objects.none(), required=False
    )
    remember_days = forms.IntegerField(
        label=_("Days a device stays signed in with “Remember me”"),
        min_value=1,
        max_value=MAX_REMEMBER_DAYS,
    )
    accent_color = forms.CharField(label=_("Accent colour"), max_length=7, validators=[COLOR])
    logo = forms.FileField(label=_("Logo (PNG or JPEG, 200 KB at most)"), required=False)
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        boxes = Mailbox.objects.filter(workspace=workspace).order_by("address")
        self.fields["mailboxes"].queryset = boxes
        self.fields["intake_mailbox"].queryset = boxes

    def clean_logo(self) -> tuple[bytes, str] | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        if upload.size > MAX_LOGO_SIZE:
            raise ValidationError(_("The logo must be 200 KB at most."))
        data = upload.read()
        for magic, content_type in _LOGO_TYPES.items():
            if data.startswith(magic):
                return data, content_type
        raise ValidationError(_("The logo must be a PNG or JPEG image."))


class DelegationForm(forms.Form):
    delegate = forms.EmailField(label=_("Address that gets access"), max_length=254)
    target = forms.CharField(
        label=_("Conversations of (an address, or @domain for a whole domain)"), max_length=254
    )
    can_reply = forms.BooleanField(label=_("May reply"), required=False)

    def __init__(self, *args, own: frozenset[str] = frozenset(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.own = own  # the workspace's shared addresses: never a delegate nor a target

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in ("delegate", "target"):
            if (cleaned.get(name) or "").strip().lower() in self.own:
                self.add_error(
                    name, _("This is one of the workspace's own addresses, not a requester's.")
                )
        return cleaned

    def clean_target(self) -> str:
        target = self.cleaned_data["target"].strip().lower()
        if target.startswith("@"):
            if not is_address("x" + target):
                raise ValidationError(_("Enter an address or a domain such as @example.fr."))
            return target
        if not is_address(target):
            raise ValidationError(_("Enter an address or a domain such as @example.fr."))
        return normalise(target)


class ErasureAnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer sent to the requester"), widget=forms.Textarea, max_length=5000
    )
    refused = forms.BooleanField(label=_("Refused (say why in the answer)"), required=False)


class RatingForm(forms.Form):
    """The requester's rating of a closed conversation (the closing mail's three choices)."""

    rating = forms.ChoiceField(
        label=_("How was our answer?"), choices=SatisfactionLevel.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("A comment (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_COMMENT,
        required=False,
    )
