"""The triage forms: one per action of the conversation page and of the list's bulk bar.

Each form reads what its action needs and `arguments` gives the action function's keyword
arguments (inbox.views.triage holds the table from action name to form and function). Ids are
read as `trupeo.params.parse_id` reads them: one that does not parse (not digits, beyond 64
bits) is an error in words; a well-formed one that is not the workspace's own is
`NOT_IN_WORKSPACE`, which the views answer with the same 404 as any other id of another
workspace.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.access import WorkspaceRequest, in_workspace
from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.actions.snooze import PRESETS, preset_time
from inbox.actions.tags import tag_get_or_create
from inbox.models import Conversation, Message, Tag
from inbox.selectors.conversation_page import message_view
from trupeo.params import parse_id, parse_moment

NOT_IN_WORKSPACE = "not_in_workspace"


class WorkspaceChoiceField(forms.ModelChoiceField):
    """One of the workspace's rows (the queryset, scoped by the form) by its id."""

    def __init__(self, queryset, *, invalid: str, **kwargs) -> None:
        super().__init__(queryset, required=False, **kwargs)
        self.error_messages["invalid"] = invalid

    def clean_id(self, value: str) -> int | None:
        """The id typed or posted; overridden where a number is written "#1234" or a link."""
        return parse_id(value)

    def to_python(self, value):
        pk = self.clean_id(value if isinstance(value, str) else "")
        if pk is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return self.queryset.get(**{self.to_field_name or "pk": pk})
        except self.queryset.model.DoesNotExist:
            raise ValidationError("Not in this workspace.", code=NOT_IN_WORKSPACE) from None


class MemberField(WorkspaceChoiceField):
    """A teammate by user id, "me" (`me`, set by the form) or "" (nobody)."""

    me: User | None = None

    def to_python(self, value) -> User | None:
        if value == "me":
            return self.me
        if value in ("", None):
            return None
        return super().to_python(value).user


class ConversationNumberField(WorkspaceChoiceField):
    """A conversation or message by its number, "#1234" as the page shows it."""

    def clean_id(self, value: str) -> int | None:
        return parse_id(value.strip().lstrip("#"))


class ConversationLinkField(ConversationNumberField):
    """A conversation by its number ("#1234") or its link (".../c/1234/")."""

    def clean_id(self, value: str) -> int | None:
        value = value.strip().rstrip("/")
        return super().clean_id(value.rsplit("/", 1)[-1] if "/" in value else value)


class TriageForm(forms.Form):
    """What every triage form knows: the request (its workspace and member) and the
    conversation triaged (None in bulk)."""

    def __init__(
        self, data, *, request: WorkspaceRequest, conversation: Conversation | None = None
    ) -> None:
        super().__init__(data)
        self.request = request
        self.conversation = conversation

    def arguments(self, conversation: Conversation) -> dict:
        """The keyword arguments of the action on `conversation`."""
        return {"conversation": conversation, "actor": self.request.user, **self.cleaned_data}


class WakeForm(TriageForm):
    pass


class FollowForm(TriageForm):
    def arguments(self, conversation: Conversation) -> dict:
        return {"conversation": conversation, "user": self.request.user}


class AssignForm(TriageForm):
    assignee = MemberField(Membership.objects.none(), invalid=_("Unknown teammate."))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        field.queryset = in_workspace(self.request, Membership).select_related("user")
        field.to_field_name = "user_id"
        field.me = self.request.user


class StatusForm(TriageForm):
    # Checked by the action ("Unknown status."), as every other caller's is.
    status = forms.CharField(required=False, strip=False)


class TagForm(TriageForm):
    """The tag picked (`tag` id) or typed (`tag_name`, created when new)."""

    tag = WorkspaceChoiceField(Tag.objects.none(), invalid=_("Choose a tag."))
    tag_name = forms.CharField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.data.get("tag_name", "").strip():
            del self.fields["tag"]  # a typed name wins: the picked tag is not read
        else:
            self.fields["tag"].queryset = in_workspace(self.request, Tag)

    def clean(self) -> dict:
        if name := self.cleaned_data.get("tag_name", ""):
            # Typing a new name is how a tag is made from the conversation page and the list.
            return {"tag": tag_get_or_create(workspace=self.request.workspace, name=name)}
        return {"tag": self.cleaned_data.get("tag")}


class SnoozeForm(TriageForm):
    preset = forms.CharField(required=False, strip=False)
    until = forms.CharField(required=False, strip=False)

    def clean(self) -> dict:
        preset = self.cleaned_data.get("preset", "")
        if preset in PRESETS:
            return {"until": preset_time(preset)}
        until = parse_moment(self.cleaned_data.get("until", ""))
        if until is None:
            raise ValidationError(_("Choose when it should come back."))
        return {"until": until}


class NoteForm(TriageForm):
    # Checked by the action ("A note cannot be empty.").
    body = forms.CharField(required=False, strip=False)

    def arguments(self, conversation: Conversation) -> dict:
        return {"conversation": conversation, "author": self.request.user, **self.cleaned_data}


NUMBER = _("Give the number of a conversation, like #1234.")


class MergeForm(TriageForm):
    into = ConversationLinkField(Conversation.objects.none(), invalid=NUMBER)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = in_workspace(self.request, Conversation)

    def arguments(self, conversation: Conversation) -> dict:
        return {
            "source": conversation,
            "target": self.cleaned_data["into"],
            "actor": self.request.user,
        }


class SplitForm(TriageForm):
    """A message of this conversation, to become a conversation of its own."""

    message = ConversationNumberField(Message.objects.none(), invalid=NUMBER)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["message"].queryset = in_workspace(self.request, Message)

    def clean_message(self) -> Message:
        message = self.cleaned_data["message"]
        if message.conversation_id != self.conversation.pk:
            raise ValidationError(_("That message is not in this conversation."))
        return message

    def arguments(self, conversation: Conversation) -> dict:
        return {"message": self.cleaned_data["message"], "actor": self.request.user}


class SenderForm(TriageForm):
    """The sender of a message of this conversation, whose remote images the team trusts (or
    no longer)."""

    message = ConversationNumberField(Message.objects.none(), invalid=NUMBER)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["message"].queryset = in_workspace(self.request, Message).filter(
            conversation=self.conversation
        )

    def clean(self) -> dict:
        if "message" not in self.cleaned_data:
            return self.cleaned_data
        keys = keys_for(self.request.workspace)
        address = message_view(keys, self.cleaned_data["message"]).sender.get("address", "")
        if not address:
            raise ValidationError(_("This message has no sender address."))
        return {"keys": keys, "address": address}

    def arguments(self, conversation: Conversation) -> dict:
        return {"workspace": self.request.workspace, **self.cleaned_data}
