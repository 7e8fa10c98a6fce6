"""The blind index: words become per-workspace HMAC tokens; no plaintext is ever indexed.

At ingestion each message gets the set of tokens of its normalised words (subject, body,
names and addresses); a query is tokenised the same way and matched on the integers, then
the candidates are confirmed by decrypting them.
"""

import re
import unicodedata

from trupeo.crypto import WorkspaceKeys

MAX_WORDS = 2000  # distinct words per message; the rest adds little and costs HMACs
_WORD = re.compile(r"[\w@.+-]+", re.UNICODE)
_STOP_WORDS = (
    "le la les un une des de du et ou en au aux a à ce ces cet cette que qui dans par pour sur "
    "pas ne se sa son ses vous nous je tu il elle on est sont the an and or of to in for on is "
    "are be it this that with as at by from re tr fwd fw"
)
_STOP = frozenset(_STOP_WORDS.split())


_COMBINING = re.compile(r"[\u0300-\u036f]")
_SEPARATORS = re.compile(r"[._+-]")


def fold(text: str) -> str:
    """Lower-case, accents removed: "Élève" and "eleve" are the same word."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.lower()))


def words(text: str) -> set[str]:
    """Normalised words of `text`; an address also yields its parts (user, domain)."""
    found: set[str] = set()
    # Split on white space first (fast), then read each distinct chunk once: bodies repeat
    # their words a lot, within a message and across messages (a sync sees the same
    # vocabulary again and again), so a chunk's words are remembered. Lower-casing happens
    # per distinct chunk: on a whole body it costs as much as the split.
    for chunk in set(text.split()):
        known = _chunk_words.get(chunk)
        if known is None:
            known = read_chunk(chunk)
            if len(_chunk_words) >= CHUNK_CACHE_SIZE:
                _chunk_words.clear()  # bounded: a big vocabulary starts over
            _chunk_words[chunk] = known
        found.update(known)
    return found


def missing_words(text: str, wanted: set[str]) -> set[str]:
    """Those of `wanted` that are not among `words(text)`, reading `text` only until all are
    found (what search confirms a candidate with: the words are usually near the start)."""
    left = set(wanted)
    for chunk in text.split():
        known = _chunk_words.get(chunk)
        if known is None:
            known = read_chunk(chunk)
            if len(_chunk_words) >= CHUNK_CACHE_SIZE:
                _chunk_words.clear()
            _chunk_words[chunk] = known
        left.difference_update(known)
        if not left:
            break
    return left


# Chunk (a run of non-space characters) -> its normalised words. Process
# memory only, like the token cache of `WorkspaceKeys`; never stored.
_chunk_words: dict[str, tuple[str, ...]] = {}
CHUNK_CACHE_SIZE = 100_000


def read_chunk(chunk: str) -> tuple[str, ...]:
    found: set[str] = set()
    for raw in _WORD.findall(chunk.lower()):
        raw = fold(raw).strip(".-+")
        if not raw:
            continue
        if raw.isalnum():  # the common case: one plain word
            if len(raw) > 1 and raw not in _STOP:
                found.add(raw)
            continue
        if raw.replace(".", "").isdigit():
            found.add(raw)
            continue
        # A compound ("jean-pierre", "laposte.net", an address) is findable whole and by its
        # parts; an address also by its domain.
        user, at, domain = raw.partition("@")
        parts = [*_SEPARATORS.split(user), *([*_SEPARATORS.split(domain), domain] if at else [])]
        if len(parts) > 1:
            found.add(raw)
        found.update(p for p in parts if len(p) > 1 and p not in _STOP)
    return tuple(found)


def field_tokens(keys: WorkspaceKeys, prefix: str, text: str) -> set[int]:
    """Tokens for words in one field ("from:", "to:", "subject:") and in the whole message."""
    result = set()
    for word in sorted(words(text))[:MAX_WORDS]:
        result.add(keys.search_token(word))
        if prefix:
            result.add(keys.search_token(prefix + word))
    return result


def message_tokens(keys: WorkspaceKeys, parsed) -> list[int]:
    """Every token a message can be found by (see `inbox.selectors.search_query` for the operators)."""
    tokens: set[int] = set()
    tokens |= field_tokens(keys, "subject:", parsed.subject)
    tokens |= field_tokens(keys, "", parsed.text)
    if parsed.from_:
        tokens |= field_tokens(keys, "from:", f"{parsed.from_.name} {parsed.from_.address}")
    recipients = " ".join(f"{a.name} {a.address}" for a in (*parsed.to, *parsed.cc))
    tokens |= field_tokens(keys, "to:", recipients)
    for attachment in parsed.attachments:
        tokens |= field_tokens(keys, "file:", attachment.filename)
    if parsed.attachments:
        tokens.add(keys.search_token("has:attachment"))
    return sorted(tokens)
