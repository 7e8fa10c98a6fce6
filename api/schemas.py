"""What the API reads and writes, as Pydantic schemas (they make the OpenAPI document).

Text fields refuse NUL characters (no field of ours holds one, and PostgreSQL refuses them)
and have a length bound, so hostile input is a 422 in words, never a 500."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, Field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def text(max_length: int):
    return Annotated[str, Field(max_length=max_length), AfterValidator(_no_nul)]


Address = text(320)


# --- reading -------------------------------------------------------------------------------


class Person(Schema):
    name: str
    address: str


class Member(Schema):
    id: int
    name: str
    email: str


class TagOut(Schema):
    id: int
    name: str
    color: str


class ConversationSummary(Schema):
    id: int
    subject: str
    contact: Person
    snippet: str
    status: str
    assignee: Member | None
    mailbox_id: int
    tags: list[TagOut]
    message_count: int
    has_attachments: bool
    unread: bool
    last_message_at: datetime
    snoozed_until: datetime | None


class ConversationPage(Schema):
    conversations: list[ConversationSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class Attachment(Schema):
    id: int
    filename: str
    size: int
    is_inline: bool


class MessageOut(Schema):
    id: int
    direction: str
    subject: str
    sender: Person
    to: list[Person]
    cc: list[Person]
    date: datetime
    text: str
    attachments: list[Attachment]


class NoteOut(Schema):
    author: str
    created_at: datetime
    body: str


class ConversationDetail(ConversationSummary):
    messages: list[MessageOut]
    notes: list[NoteOut]
    seen: str = Field(
        description="What this answer showed; pass it back with a reply so that it is refused "
        "(409) if a message or note arrived since."
    )


class Organisation(Schema):
    id: int
    name: str
    domain: str


class Contact(Schema):
    id: int
    name: str
    address: str = Field(description="their first address")
    addresses: list[str] = Field(description="every address of this person (merged contacts)")
    organisation: Organisation | None


class ContactPage(Schema):
    contacts: list[Contact]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class TokenInfo(Schema):
    workspace: str
    acting_as: Member
    role: str
    scope: str
    expires_at: datetime


# --- writing -------------------------------------------------------------------------------


class AssignIn(Schema):
    assignee: int | Literal["me"] | None = Field(
        description="A member's id (see /members), \"me\" (the token's creator) or null."
    )


class StatusIn(Schema):
    status: Literal["open", "pending", "closed", "spam"]


class TagsIn(Schema):
    add: list[text(40)] = Field(
        default=[], max_length=20, description="Tag names; new ones are created."
    )
    remove: list[text(40)] = Field(default=[], max_length=20)


class NoteIn(Schema):
    body: text(20_000)


class NoteCreated(Schema):
    id: int
    created_at: datetime


class ReplyIn(Schema):
    body: text(100_000)
    kind: Literal["reply", "reply_all"] = "reply"
    to: list[Address] | None = Field(
        default=None, max_length=2000, description="Defaults to who the answered message asks."
    )
    cc: list[Address] | None = Field(default=None, max_length=2000)
    bcc: list[Address] = Field(default=[], max_length=2000)
    subject: text(998) | None = None
    message_id: int | None = Field(
        default=None, description="The message answered; defaults to the newest received one."
    )
    seen: text(64) | None = Field(
        default=None,
        description="The `seen` of the conversation as you read it: refused (409) if "
        "something arrived since.",
    )
    confirm_recipients: bool = Field(
        default=False,
        description="Required (true) when a recipient is new to the conversation and outside "
        "the team, or the requester is copied on a message to a third party; without it such "
        "a reply is refused (409) with the addresses to confirm.",
    )


class ReplyOut(Schema):
    id: int
    state: str
    conversation_id: int


class Error(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: Error
