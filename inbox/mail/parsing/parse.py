"""`parse_message`: the pieces put together, and the promise that it never raises."""

from __future__ import annotations

import logging
import re
import traceback
from email import errors as email_errors

from inbox.mail.auto_submitted import AutoFacts, auto_facts
from inbox.mail.parsing.body import Body
from inbox.mail.parsing.header_repair import repair_header_block
from inbox.mail.parsing.headers import Headers, RawHeaders, read_headers
from inbox.mail.parsing.html import html_to_text
from inbox.mail.parsing.message import ParsedMessage
from inbox.mail.parsing.problems import NOT_AN_EMAIL, UNREADABLE, Problems
from inbox.mail.parsing.structure import read_structure

# What the standard library reports when it stopped reading headers early.
_HEADER_BLOCK_DEFECTS = {
    email_errors.MissingHeaderBodySeparatorDefect,
    email_errors.FirstHeaderLineIsContinuationDefect,
}

# Logged as "inbox.mail.parsing", the name operators filter on, whichever module logs.
logger = logging.getLogger(__package__)

SNIPPET_LENGTH = 160


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw message bytes. Never raises: whatever fails becomes a parse problem."""
    try:
        return _parse(bytes(raw))
    except Exception as exc:  # the contract is "never raises"
        # Log where it broke, never the exception text: it may quote message content.
        location = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        logger.error("parse_message failed with %s\n%s", type(exc).__name__, location)
        return _empty_message([UNREADABLE.format(error=type(exc).__name__)])


def _parse(raw: bytes) -> ParsedMessage:
    raw = _strip_mbox_from_line(raw)
    problems = Problems()
    tree, header_msg, parser = read_structure(raw, problems)
    if not header_msg.keys() or _HEADER_BLOCK_DEFECTS.intersection(map(type, header_msg.defects)):
        # Rare, so the second reading costs well-formed mail nothing.
        repair = repair_header_block(raw)
        if repair is not None:
            raw, problems = repair.raw, Problems()
            for note in repair.notes:
                problems.add(note)
            tree, header_msg, parser = read_structure(raw, problems)
    if not header_msg.keys():
        # Not an email at all: keep nothing that could be mistaken for content.
        return _empty_message([NOT_AN_EMAIL])
    raw_headers = RawHeaders(header_msg)
    headers = read_headers(raw_headers, problems)
    body = Body(problems)
    if tree is not None:
        body.collect(tree, raw)
    auto = auto_facts(
        raw_headers.all,
        sender=headers.from_.address if headers.from_ else "",
        subject=headers.subject,
        content_type=raw_headers.first("Content-Type"),
    )
    return _assemble(headers, body, problems, parser, auto)


def _assemble(
    headers: Headers, body: Body, problems: Problems, parser: str, auto: AutoFacts
) -> ParsedMessage:
    html = body.html.strip() if body.html else ""
    text, text_from_html = body.text, False
    if not text.strip() and html:
        text, text_from_html = html_to_text(html), True
    attachments = body.attachments(html)
    return ParsedMessage(
        message_id=headers.message_id,
        in_reply_to=headers.in_reply_to,
        references=headers.references,
        subject=headers.subject,
        from_=headers.from_,
        to=headers.to,
        cc=headers.cc,
        bcc=headers.bcc,
        reply_to=headers.reply_to,
        date=headers.date,
        text=text,
        html=html,
        text_from_html=text_from_html,
        attachments=attachments,
        snippet=make_snippet(text),
        parse_problems=problems.as_tuple(),
        parser=parser,
        auto=auto,
    )


def _empty_message(problems: list[str]) -> ParsedMessage:
    return ParsedMessage(
        message_id="",
        in_reply_to="",
        references=(),
        subject="",
        from_=None,
        to=(),
        cc=(),
        bcc=(),
        reply_to=(),
        date=None,
        text="",
        html="",
        text_from_html=False,
        attachments=(),
        snippet="",
        parse_problems=tuple(problems),
        parser="none",
    )


_OBSOLETE_FROM_HEADER = re.compile(rb"From[ \t]*:")  # "From  : a@b" is a header (RFC 5322 4.5)


def _strip_mbox_from_line(raw: bytes) -> bytes:
    # Files exported from mbox start with an envelope line that is not a header.
    if raw.startswith(b"From ") and not _OBSOLETE_FROM_HEADER.match(raw):
        newline = raw.find(b"\n")
        return raw[newline + 1 :] if newline != -1 else b""
    return raw


def make_snippet(text: str, length: int = SNIPPET_LENGTH) -> str:
    collapsed = " ".join(text[: length * 8].split())  # a prefix is enough, even if blank-heavy
    if len(collapsed) <= length:
        return collapsed
    cut = collapsed[:length].rsplit(" ", 1)[0] or collapsed[:length]
    return cut + "…"
