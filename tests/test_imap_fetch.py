"""The lean FETCH reader: what it reads agrees with IMAPClient, on a real Dovecot and on
responses shaped in every way a server may send them."""

import datetime as dt
import imaplib
from pathlib import Path

import pytest

from inbox.mail.imap_fetch import fetch_responses, internaldate, uid_fetch

EML = Path(__file__).parent / "fixtures" / "eml"


def test_agrees_with_imapclient_on_the_eml_corpus(dovecot):
    user, _ = dovecot.add_user("fetching")
    raws = [path.read_bytes() for path in sorted(EML.glob("*.eml"))]
    # Bytes that look like protocol inside a message must stay message bytes.
    raws.append(b'Subject: tricky\r\n\r\n) {12}\r\n* 3 FETCH (UID 9)\r\n"quoted" (paren\r\n')
    zone = dt.timezone(dt.timedelta(hours=-3, minutes=-30))
    for n, raw in enumerate(raws):
        flags = [b"\\Seen", b"$Forwarded"] if n % 3 == 0 else [b"\\Flagged"] if n % 3 else []
        dovecot.append(
            user, "INBOX", raw, flags, internal_date=dt.datetime(2026, 2, 28, 23, n, tzinfo=zone)
        )
    with dovecot.connect(user) as imap:
        imap.normalise_times = False
        imap.select_folder("INBOX", readonly=True)
        uids = imap.search("ALL")
        ours = uid_fetch(imap, uids, "BODY.PEEK[] INTERNALDATE FLAGS RFC822.SIZE")
        theirs = imap.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS", "RFC822.SIZE"])
    assert sorted(ours) == sorted(uids) and len(uids) == len(raws)
    for uid in uids:
        assert ours[uid][b"BODY[]"] == theirs[uid][b"BODY[]"]
        assert len(ours[uid][b"BODY[]"]) == ours[uid][b"RFC822.SIZE"]
        assert set(ours[uid][b"FLAGS"]) == set(theirs[uid][b"FLAGS"])
        assert ours[uid][b"INTERNALDATE"] == theirs[uid][b"INTERNALDATE"]
        assert ours[uid][b"INTERNALDATE"].tzinfo == dt.UTC
    assert ours[max(uids)][b"BODY[]"] == raws[-1]  # the protocol-looking message, as it was


def test_responses_about_other_messages_are_left_out(dovecot):
    user, _ = dovecot.add_user("unsolicited")
    uids = [
        dovecot.append(user, "INBOX", f"Subject: {n}\r\n\r\nbody {n}\r\n".encode())
        for n in range(3)
    ]
    with dovecot.connect(user) as imap:
        imap.select_folder("INBOX")
        dovecot.set_flags(user, "INBOX", uids[0], [b"\\Answered"])  # another session
        dovecot.append(user, "INBOX", b"Subject: new\r\n\r\nnew\r\n")
        fetched = uid_fetch(imap, uids[1:], "BODY.PEEK[] FLAGS")
    assert sorted(fetched) == uids[1:]
    assert fetched[uids[2]][b"BODY[]"] == b"Subject: 2\r\n\r\nbody 2\r\n"


def test_a_refused_fetch_raises(dovecot):
    user, _ = dovecot.add_user("refused")
    # Nothing selected: the server says BAD.
    with dovecot.connect(user) as imap, pytest.raises(imaplib.IMAP4.error):
        uid_fetch(imap, [1], "FLAGS")
    with dovecot.connect(user) as imap:
        imap.select_folder("INBOX")
        assert uid_fetch(imap, [], "FLAGS") == {}


@pytest.mark.parametrize(
    "data, expected",
    [
        # Items split over two responses for one message, in any order; a quoted body.
        (
            [b"4 (FLAGS (\\Seen) UID 10)", b'4 (BODY[] "a \\"b\\" \\\\c" UID 10)'],
            {4: {b"FLAGS": (b"\\Seen",), b"UID": 10, b"BODY[]": b'a "b" \\c'}},
        ),
        # Two literals in one response, MODSEQ, NIL, lower-case names.
        (
            [
                (b"1 (uid 7 BODY[] {3}", b"((("),
                (b" RFC822.HEADER {2}", b"))"),
                b" MODSEQ (12) FLAGS () BODY[1] NIL)",
            ],
            {
                1: {
                    b"UID": 7,
                    b"BODY[]": b"(((",
                    b"RFC822.HEADER": b"))",
                    b"MODSEQ": [b"12"],
                    b"FLAGS": (),
                    b"BODY[1]": None,
                }
            },
        ),
        ([None], {}),
    ],
)
def test_response_shapes(data, expected):
    merged: dict = {}
    for seq, values in fetch_responses(data):
        merged.setdefault(seq, {}).update(values)
    assert merged == expected


@pytest.mark.parametrize(
    "data",
    [
        [b"4 (UID 10"],  # ends early
        [b"4 (UID)"],  # a name without its value
        [b"(UID 10)"],  # no sequence number
        [(b"4 ({3}", b"UID"), b" 10)"],  # a literal where a name belongs
    ],
)
def test_malformed_responses_raise_without_quoting_them(data):
    with pytest.raises(imaplib.IMAP4.error) as raised:
        list(fetch_responses(data))
    assert "UID" not in str(raised.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        (b" 3-Dec-2026 20:10:00 +0100", dt.datetime(2026, 12, 3, 19, 10, tzinfo=dt.UTC)),
        (b"28-Feb-2026 23:59:59 -0330", dt.datetime(2026, 3, 1, 3, 29, 59, tzinfo=dt.UTC)),
        (b"31-Feb-2026 10:00:00 +0000", None),
        (b"03-Foo-2026 10:00:00 +0000", None),
        (b"03-Dec-2026 10:00:00 +9900", None),
        (b"yesterday", None),
        (None, None),
    ],
)
def test_internaldate(text, expected):
    assert internaldate(text) == expected
