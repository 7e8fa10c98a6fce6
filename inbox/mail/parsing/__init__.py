"""Raw MIME bytes -> ParsedMessage, for any input, without ever raising.

How the work is split (DESIGN.md, "Mail sync that never loses a message"):

* Headers always come from the standard library (`policy.compat32`) on the header block only:
  it is tolerant and cheap there, and it is the source of truth for Message-ID, References,
  addresses and dates. Our own decoders then handle RFC 2047 words, 8-bit headers and
  unknown charsets, which is where real mail is most often broken.
* The MIME tree and transfer decoding (base64, quoted-printable) come from the Rust
  `fast_mail_parser` when it accepts the message (~0.1 ms), and from `compat32` when it
  raises (damaged base64, hostile nesting). `policy.default` is never used: it costs three
  times more for the same result.
* Both trees are turned into one small `Part` tree, so classification (body or
  attachment), charset repair and problem reporting are written once.

`parse_problems` never quotes message content (no subjects, names, addresses or filenames),
so it can be stored in clear and shown on the sync-health pages staff watch.

A header block the standard library stops reading early (a line that is not a header, obsolete
`To    :` syntax, a byte-order mark) is rewritten as a lenient reader reads it and parsed again;
only then, so well-formed mail pays nothing. The stored raw bytes are never changed.

The package, in the order a message goes through it: `parse` (`parse_message`, putting the
pieces together), `structure` (the `Part` tree from either parser), `header_repair` (a damaged
header block made readable), `headers` (the header block: Message-IDs, subject, date, and
`normalise_subject`), `addresses` (address lists), `header_text` (unfolding, 8-bit repair,
RFC 2047 words), `body` (body texts and attachments), `charsets` (text decoding and
detection), `html` (sanitising, HTML to text), `problems` (the parse problems, their
templates, and `describe_problems`, which words them in the reader's language) and `message`
(the public types). Import from here; names starting with
an underscore are shared between these modules only.
"""

from inbox.mail.parsing.addresses import split_address_list
from inbox.mail.parsing.charsets import decode_text
from inbox.mail.parsing.header_text import decode_encoded_words
from inbox.mail.parsing.headers import normalise_subject
from inbox.mail.parsing.html import html_to_text, sanitise_html
from inbox.mail.parsing.message import Address, Attachment, ParsedMessage
from inbox.mail.parsing.parse import SNIPPET_LENGTH, make_snippet, parse_message
from inbox.mail.parsing.problems import describe_problems
from inbox.mail.parsing.structure import MAX_DEPTH, MAX_MESSAGE_BYTES

__all__ = [
    "MAX_DEPTH",
    "MAX_MESSAGE_BYTES",
    "SNIPPET_LENGTH",
    "Address",
    "Attachment",
    "ParsedMessage",
    "decode_encoded_words",
    "decode_text",
    "describe_problems",
    "html_to_text",
    "make_snippet",
    "normalise_subject",
    "parse_message",
    "sanitise_html",
    "split_address_list",
]
