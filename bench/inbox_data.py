"""A big, realistic inbox written straight into the database, sealed and indexed like real mail.

Ingesting a million messages through `inbox.mail.ingest` would take hours (parsing, threading), so
this writes the rows ingestion would write — the same sealed fields and rows
(`inbox.mail.sealing`), the same blind tokens (`inbox.mail.search.words` + `WorkspaceKeys.search_token`,
as `message_tokens` computes them), the same summary — with PostgreSQL COPY, in chunks.

Speed on 2 cores comes from doing each expensive thing once: the vocabulary's normalised words
and HMAC tokens are computed once per distinct word (and each customer's once per customer),
then every message only picks words and unions cached sets. Sealing uses the real workspace
keys (AES-GCM, microseconds). Raw messages and attachment contents are not written to storage:
no list, search or conversation page reads them (only downloads and the HTML frame do).

Tiny sizes run on SQLite too (plain INSERTs), so the smoke test checks the generator everywhere.
"""

import hashlib
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.lorem.en_US import Provider as EnglishWords
from faker.providers.lorem.fr_FR import Provider as FrenchWords
from faker.providers.person.fr_FR import Provider as FrenchNames

from accounts.keys import keys_for
from accounts.models import User, Workspace
from inbox.actions.tags import tag_create
from inbox.fields import TokenArrayField
from inbox.mail.parsing import make_snippet
from inbox.mail.sealing import (
    attachment_row,
    conversation_row,
    message_row,
    note_row,
    seal_json,
)
from inbox.mail.search import fold, words
from inbox.mail.threads import subject_token
from inbox.models import (
    Activity,
    ActivityKind,
    Attachment,
    Conversation,
    ConversationRead,
    ConversationTag,
    Direction,
    Mailbox,
    Message,
    Note,
    Status,
    ThreadReason,
)
from trupeo.crypto import WorkspaceKeys
from trupeo.storage import new_object_key

# Bump when what is generated changes: a kept bench database of another version is rebuilt.
GENERATOR_VERSION = 2
YEARS = 3
CHUNK_CONVERSATIONS = 4000  # one transaction each: bounded memory and deferred FK checks
TWENTY = 20  # the conversation the bench opens has exactly this many messages
# Above this many messages, secondary indexes are dropped and rebuilt (same definitions):
# a bulk build is many times faster than a million index insertions, GIN above all.
REBUILD_INDEXES_FROM = 50_000

# What a school office or a small company's shared address receives (words findable by search).
_DOMAIN_WORDS = (
    "facture inscription dossier absence certificat rendez-vous bourse cantine stage devis "
    "paiement virement remboursement réunion parents élève classe professeur bulletin "
    "trimestre orientation sortie autorisation transport horaires vacances rentrée "
    "secrétariat intendance scolarité attestation urgent relance commande livraison contrat "
    "avenant planning justificatif médical convocation examen résultats brevet baccalauréat "
    "invoice order delivery meeting refund payment schedule appointment request"
)
DOMAIN_WORDS = _DOMAIN_WORDS.split()
TOPICS = (
    "Absence de {child} {day}",
    "Inscription en spécialité {subject}",
    "Facture n° FA-{n}",
    "Demande de rendez-vous avec {teacher}",
    "Perte de carte de cantine",
    "Voyage à {city} — acompte",
    "Certificat de scolarité pour la CAF",
    "Bourse de lycée : dossier incomplet ?",
    "Conseil de classe du {day}",
    "Devis impression brochures {n}",
    "Stage de {child} en entreprise",
    "Remboursement sortie {city}",
    "Relance paiement facture {n}",
    "Invoice {n} — payment reminder",
    "Meeting request: {subject} project",
    "Attestation de présence {child}",
    "Convocation examen {subject}",
    "Changement d’adresse",
    "Transport scolaire — horaires",
    "Réclamation commande {n}",
)
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi"]
SUBJECTS = ["NSI", "SES", "physique", "philosophie", "anglais", "mathématiques", "histoire"]
CITIES = ["Berlin", "Londres", "Madrid", "Rome", "Lisbonne", "Vienne", "Prague"]
_DOMAINS = (
    "orange.fr gmail.com laposte.net free.fr sfr.fr wanadoo.fr hotmail.fr yahoo.fr outlook.com "
    "icloud.com bbox.fr famille-exemple.fr imprimerie-durand.fr transports-ouest.fr"
)
DOMAINS = _DOMAINS.split()
TAGS = [
    "urgent",
    "facturation",
    "inscriptions",
    "absences",
    "voyage",
    "réclamation",
    "VIP",
    "bourse",
]
FILES = ["facture-{n}.pdf", "certificat-{n}.pdf", "justificatif.jpg", "devis-{n}.pdf", "scan.png"]
FILE_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}

# Final statuses: most mail is old and closed; some open, pending, snoozed, spam.
STATUS_MIX = [
    (Status.CLOSED.value, 0.71),
    (Status.OPEN.value, 0.16),
    (Status.PENDING.value, 0.05),
    ("snoozed", 0.03),
    (Status.SPAM.value, 0.05),
]


def _vocabulary() -> list[str]:
    """Surface words, most frequent first (domain words, then French, then English)."""
    seen: set[str] = set()
    result = []
    for word in [*DOMAIN_WORDS, *FrenchWords.word_list, *EnglishWords.word_list]:
        for part in word.split():
            if part not in seen and words(part):
                seen.add(part)
                result.append(part)
    return result


@dataclass
class Generated:
    """What the bench needs to know about the generated inbox."""

    conversations: int
    messages: int
    twenty_id: int  # a conversation with exactly TWENTY messages
    frequent_word: str
    rare_word: str
    subject_word: str
    customer_address: str
    customer_last_name: str
    tag_name: str
    first_day: str  # ISO dates spanning a few months of the generated mail
    last_day: str


class _Index:
    """Normalised words and blind tokens, each computed once per distinct string."""

    def __init__(self, keys: WorkspaceKeys):
        self.keys = keys
        self._tokens: dict[str, int] = {}
        self._words: dict[str, frozenset[str]] = {}

    def words(self, text: str) -> frozenset[str]:
        found = self._words.get(text)
        if found is None:
            found = self._words[text] = frozenset(words(text))
        return found

    def token(self, word: str) -> int:
        token = self._tokens.get(word)
        if token is None:
            token = self._tokens[word] = self.keys.search_token(word)
        return token

    def field(self, prefix: str, found: Iterable[str]) -> set[int]:
        """As `inbox.mail.search.field_tokens`: every word plain, and prefixed when there is one."""
        token = self.token
        result = {token(w) for w in found}
        if prefix:
            result.update(token(prefix + w) for w in found)
        return result


class _Table:
    """Rows for one model, in its column order; fields not given take their model default."""

    def __init__(self, model, given: list[str]):
        self.model = model
        # An id not given is left to the database (its identity column).
        fields = [
            f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in given)
        ]
        self.fields = fields
        self.columns = [f.column for f in fields]
        self.given = {name: i for i, name in enumerate(given)}
        by_attname = {f.attname: f for f in fields}
        missing = set(given) - set(by_attname)
        if missing:
            raise ValueError(f"{model.__name__} has no field {sorted(missing)}")
        defaults = []
        for f in fields:
            if f.attname in self.given:
                defaults.append(None)
            else:
                defaults.append(f.get_db_prep_save(f.get_default(), connection))
        self.defaults = defaults
        # Where each column's value comes from: an index into the given tuple, or a default.
        self.plan = [self.given.get(f.attname) for f in fields]
        self.arrays = [i for i, f in enumerate(fields) if isinstance(f, TokenArrayField)]
        self.rows: list[tuple] = []

    def add(self, *values) -> None:
        self.rows.append(values)

    def ordered(self, array_literals: bool = False) -> Iterable[list]:
        """Rows in column order; token lists as PostgreSQL array literals if asked (psycopg's
        own list dumper checks every element with a regex: a third of the generation time)."""
        plan, defaults = self.plan, self.defaults
        arrays = self.arrays if array_literals else ()
        for values in self.rows:
            row = [defaults[i] if p is None else values[p] for i, p in enumerate(plan)]
            for i in arrays:
                if row[i] is not None:
                    row[i] = "{" + ",".join(map(str, row[i])) + "}"
            yield row


def _write(table: _Table) -> None:
    """COPY on PostgreSQL; plain INSERTs elsewhere (values prepared by each field)."""
    if not table.rows:
        return
    name = table.model._meta.db_table
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in table.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(name)} ({columns}) FROM STDIN") as copy:
                for row in table.ordered(array_literals=True):
                    copy.write_row(row)
        else:
            fields = table.fields
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {quote(name)} ({columns}) VALUES ({marks})",  # noqa: S608
                [
                    [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
                    for row in table.ordered()
                ],
            )
    table.rows.clear()


def _next_id(model) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _counts(rng: random.Random, conversations: int, messages: int, twenty: int) -> list[int]:
    """Messages per conversation: at least one, long-tailed, summing to `messages` exactly."""
    counts = [1] * conversations
    extra = messages - conversations
    # Long-tailed weights: most conversations get a reply or two, a few get dozens.
    weights = [rng.paretovariate(1.6) for _ in range(conversations)]
    for i in rng.choices(range(conversations), weights=weights, k=extra):
        counts[i] += 1
    # The bench's conversation: exactly TWENTY, balanced from the others.
    diff = TWENTY - counts[twenty]
    counts[twenty] = TWENTY
    while diff > 0:  # took some: give back from conversations that have more than one
        i = rng.randrange(conversations)
        if i != twenty and counts[i] > 1:
            counts[i] -= 1
            diff -= 1
    while diff < 0:
        i = rng.randrange(conversations)
        if i != twenty:
            counts[i] += 1
            diff += 1
    return counts


@dataclass
class _Box:
    """A shared address: its folders, and how each member signs from it."""

    mailbox: Mailbox
    inbox: object
    sent: object
    us: "_Person"
    signature: dict[int, str]
    signed: dict[int, frozenset[int]]

    @classmethod
    def of(cls, index: "_Index", mailbox: Mailbox, members: list[User]) -> "_Box":
        folders = {f.role: f for f in mailbox.folders.all()}
        us = _Person.of(index, mailbox.name or "Vie scolaire", mailbox.address, "")
        signature = {m.pk: f"{m.display_name}\n{us.name}" for m in members}
        signed = {pk: frozenset(index.field("", index.words(t))) for pk, t in signature.items()}
        return cls(mailbox, folders.get("inbox"), folders.get("sent"), us, signature, signed)


@dataclass
class _Person:
    """Someone who writes or is written to, with the tokens their name and address give."""

    name: str
    address: str
    as_sender: frozenset[int]  # from: field
    as_recipient: frozenset[int]  # to: field
    signed: frozenset[int]  # their name at the end of a body

    @classmethod
    def of(cls, index: "_Index", name: str, address: str, signature: str) -> "_Person":
        found = index.words(f"{name} {address}")
        return cls(
            name,
            address,
            frozenset(index.field("from:", found)),
            frozenset(index.field("to:", found)),
            frozenset(index.field("", index.words(signature))),
        )


def generate(
    *,
    workspace: Workspace,
    mailboxes: list[Mailbox],
    members: list[User],
    conversations: int,
    messages: int,
    seed: int = 1,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> Generated:
    """Write `conversations` conversations holding `messages` messages into `mailboxes`
    (the first gets most of them).

    `members[0]` is the person the bench logs in as ("Mine" is theirs). Tags are created with
    the real service; everything else is written in bulk, one transaction per chunk.
    """
    if conversations < 2 or messages < conversations + TWENTY:
        raise ValueError("need at least 2 conversations and conversations + 20 messages")
    say = progress or (lambda _text: None)
    rng = random.Random(seed)
    now = now or timezone.now()
    keys = keys_for(workspace)
    index = _Index(keys)
    vocabulary = _vocabulary()
    # Zipf-like frequencies: a few words everywhere, most rare (as in real mail).
    weights = [1 / (rank + 8) for rank in range(len(vocabulary))]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    boxes = [_Box.of(index, mailbox, members) for mailbox in mailboxes]
    box_weights = [0.7] + [0.3 / (len(boxes) - 1)] * (len(boxes) - 1) if len(boxes) > 1 else [1]
    # Each vocabulary word's tokens, once: a body's tokens are then a union of cached sets.
    word_tokens = {w: frozenset(index.field("", index.words(w))) for w in vocabulary}
    me = members[0]

    first_names = list(FrenchNames.first_names)
    last_names = list(FrenchNames.last_names)

    def person(n: int) -> _Person:
        r = random.Random(seed * 1_000_003 + n)
        first, last = r.choice(first_names), r.choice(last_names)
        user = f"{_ascii(first)}.{_ascii(last)}"
        address = f"{user}{n if r.random() < 0.7 else ''}@{r.choice(DOMAINS)}"
        name = f"{first} {last}"
        return _Person.of(index, name, address, name)

    customers: dict[int, _Person] = {}
    customer_pool = max(conversations // 3, 5)

    tags = [tag_create(workspace=workspace, name=name) for name in TAGS]
    say(f"  {len(vocabulary)} words in the vocabulary, {len(tags)} tags")

    twenty = rng.randrange(conversations)
    counts = _counts(rng, conversations, messages, twenty)
    conversation_base = _next_id(Conversation)
    message_base = _next_id(Message)
    attachment_base = _next_id(Attachment)
    note_base = _next_id(Note)
    span = timedelta(days=365 * YEARS).total_seconds()
    statuses, status_weights = zip(*STATUS_MIX, strict=True)
    fixed_tokens = frozenset(index.field("", index.words("Bonjour, Cordialement")))

    tables = {
        "conversation": _Table(
            Conversation,
            [
                "id",
                "workspace_id",
                "mailbox_id",
                "status",
                "assignee_id",
                "snoozed_until",
                "summary_sealed",
                "subject_token",
                "message_count",
                "has_attachments",
                "last_message_at",
                "first_message_at",
                "created_at",
            ],
        ),
        "message": _Table(
            Message,
            [
                "id",
                "workspace_id",
                "mailbox_id",
                "conversation_id",
                "folder_id",
                "provider_key",
                "sealed_as",
                "direction",
                "thread_reason",
                "message_id_token",
                "envelope_sealed",
                "text_sealed",
                "html_sealed",
                "raw_object",
                "raw_size",
                "sent_at",
                "received_at",
                "is_seen",
                "search_tokens",
                "raw_digest",
                "created_at",
            ],
        ),
        "attachment": _Table(
            Attachment,
            [
                "id",
                "workspace_id",
                "message_id",
                "position",
                "meta_sealed",
                "content_type",
                "size",
                "is_inline",
                "object_key",
            ],
        ),
        "tag": _Table(ConversationTag, ["conversation_id", "tag_id", "created_at"]),
        "note": _Table(
            Note,
            ["id", "workspace_id", "conversation_id", "author_id", "body_sealed", "created_at"],
        ),
        "activity": _Table(
            Activity,
            [
                "workspace_id",
                "conversation_id",
                "actor_id",
                "kind",
                "status",
                "assignee_id",
                "tag_id",
                "snoozed_until",
                "created_at",
            ],
        ),
        "read": _Table(ConversationRead, ["user_id", "conversation_id", "read_at"]),
    }
    order = ["conversation", "message", "attachment", "tag", "note", "activity", "read"]

    rebuild = connection.vendor == "postgresql" and messages >= REBUILD_INDEXES_FROM
    dropped = _drop_indexes([Message, Attachment, Activity, ConversationRead]) if rebuild else []

    message_id = message_base
    attachment_id = attachment_base
    note_id = note_base
    provider_n = 0
    tagged: set[tuple[int, int]] = set()
    sample_dates: list[datetime] = []
    for start in range(0, conversations, CHUNK_CONVERSATIONS):
        for i in range(start, min(start + CHUNK_CONVERSATIONS, conversations)):
            cid = conversation_base + i
            box = boxes[0] if i == twenty else rng.choices(boxes, weights=box_weights)[0]
            status = rng.choices(statuses, cum_weights=None, weights=status_weights)[0]
            snoozed_until = None
            if i == twenty:
                status = Status.OPEN.value
            if status == "snoozed":
                status = rng.choice([Status.OPEN.value, Status.OPEN.value, Status.PENDING.value])
                snoozed_until = now + timedelta(days=rng.uniform(30, 360))
            # Live conversations are recent; closed ones and spam spread over the years.
            if status in (Status.OPEN.value, Status.PENDING.value):
                age = rng.expovariate(1 / (10 * 86400))
                age = min(age, 120 * 86400)
            else:
                age = rng.uniform(0, span)
            if i == twenty:
                age = 3600.0
            last_at = now - timedelta(seconds=age)
            # Assignees: live ones often unassigned; the logged-in member has a fair share.
            if status == Status.SPAM.value or (
                status != Status.CLOSED.value and rng.random() < 0.4
            ):
                assignee = None
            else:
                assignee = me if rng.random() < 0.15 else rng.choice(members)
            if i == twenty:
                assignee = me
            n_messages = counts[i]
            customer_n = rng.randrange(customer_pool)
            customer = customers.get(customer_n)
            if customer is None:
                customer = customers[customer_n] = person(customer_n)
            topic = rng.choice(TOPICS).format(
                child=rng.choice(first_names),
                day=rng.choice(DAYS),
                subject=rng.choice(SUBJECTS),
                teacher=f"M. {rng.choice(last_names)}",
                city=rng.choice(CITIES),
                n=rng.randrange(1000, 99999),
            )
            subject_words = index.words(topic)
            subject_tokens = index.field("subject:", subject_words)
            # Messages are spread back from the last one, hours to days apart.
            gaps = sorted(rng.uniform(0, 3600 * rng.choice([2, 24, 96])) for _ in range(n_messages))
            times = [last_at - timedelta(seconds=gaps[-1] - g) for g in gaps]
            first_at = times[0]
            parent_ids: list[str] = []
            snippet = ""
            has_attachments = False
            for position, received_at in enumerate(times):
                inbound = position % 2 == 0 or rng.random() < 0.2
                agent = assignee or rng.choice(members)
                draws = rng.choices(vocabulary, cum_weights=cumulative, k=rng.randint(25, 110))
                cut = max(1, len(draws) // 3)
                body = (
                    "Bonjour,\n\n"
                    + " ".join(draws[:cut]).capitalize()
                    + ".\n\n"
                    + " ".join(draws[cut:]).capitalize()
                    + ".\n\nCordialement,\n"
                    + (customer.name if inbound else box.signature[agent.pk])
                    + "\n"
                )
                sender, recipient = (customer, box.us) if inbound else (box.us, customer)
                # As `message_tokens`: subject, body (signature included), from, to, files.
                tokens = subject_tokens.union(
                    fixed_tokens,
                    customer.signed if inbound else box.signed[agent.pk],
                    sender.as_sender,
                    recipient.as_recipient,
                    *map(word_tokens.__getitem__, draws),
                )
                provider_n += 1
                folder = box.inbox if inbound else (box.sent or box.inbox)
                provider_key = f"{folder.pk if folder else 0}:1:{provider_n}"
                row = message_row(box.mailbox.pk, provider_key)
                domain = sender.address.rpartition("@")[2]
                mid = f"{hashlib.blake2b(row.encode(), digest_size=10).hexdigest()}@{domain}"
                subject = topic if position == 0 else f"Re: {topic}"
                snippet = make_snippet(body)
                envelope = {
                    "subject": subject,
                    "from": {"name": sender.name, "address": sender.address},
                    "to": [{"name": recipient.name, "address": recipient.address}],
                    "cc": [],
                    "bcc": [],
                    "reply_to": [],
                    "message_id": f"<{mid}>",
                    "in_reply_to": parent_ids[-1] if parent_ids else "",
                    "references": parent_ids[-5:],
                    "snippet": snippet,
                    "problems": [],
                }
                parent_ids.append(f"<{mid}>")
                mid_ = message_id
                message_id += 1
                # One inbound message in eight carries a file (the twenty: two of them).
                if inbound and (rng.random() < 0.12 or (i == twenty and position in (0, 4))):
                    filename = rng.choice(FILES).format(n=rng.randrange(100, 9999))
                    tokens |= index.field("file:", index.words(filename))
                    tokens.add(index.token("has:attachment"))
                    has_attachments = True
                    a_row = attachment_row(row, 0)
                    tables["attachment"].add(
                        attachment_id,
                        workspace.pk,
                        mid_,
                        0,
                        seal_json(
                            keys,
                            {"filename": filename, "content_id": "", "index": 0},
                            field="attachment.meta",
                            row=a_row,
                        ),
                        FILE_TYPES[filename.rpartition(".")[2]],
                        rng.randrange(20_000, 2_000_000),
                        False,
                        new_object_key(workspace.pk),
                    )
                    attachment_id += 1
                html = None
                if inbound and rng.random() < 0.7:
                    html = keys.seal_text(
                        "<html><body>"
                        + "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
                        + "</body></html>",
                        field="message.html",
                        row=row,
                    )
                tables["message"].add(
                    mid_,
                    workspace.pk,
                    box.mailbox.pk,
                    cid,
                    folder.pk if folder else None,
                    provider_key,
                    provider_key,  # sealed_as
                    Direction.INBOUND.value if inbound else Direction.OUTBOUND.value,
                    ThreadReason.NEW.value if position == 0 else ThreadReason.IN_REPLY_TO.value,
                    index.keys.search_token("msgid:" + mid),
                    seal_json(keys, envelope, field="message.envelope", row=row),
                    keys.seal_text(body, field="message.text", row=row),
                    html,
                    new_object_key(workspace.pk),
                    len(body) * 3 + rng.randrange(2000, 30000),
                    received_at - timedelta(seconds=rng.uniform(1, 120)),
                    received_at,
                    status == Status.CLOSED.value or position < n_messages - 1,
                    sorted(tokens),
                    keys.search_token("raw:" + hashlib.sha256(row.encode()).hexdigest()),
                    received_at,
                )
            summary = {
                "subject": topic,
                "name": customer.name,
                "address": customer.address,
                "snippet": snippet,
            }
            tables["conversation"].add(
                cid,
                workspace.pk,
                box.mailbox.pk,
                status,
                assignee.pk if assignee else None,
                snoozed_until,
                seal_json(keys, summary, field="conversation.summary", row=conversation_row(cid)),
                subject_token(keys, topic),
                n_messages,
                has_attachments,
                last_at,
                first_at,  # its first message's time
                first_at,
            )
            # The trail: who assigned and closed it; tags on some; a note now and then.
            actor = rng.choice(members)
            if assignee:
                tables["activity"].add(
                    workspace.pk, cid, actor.pk, ActivityKind.ASSIGNED.value, "", assignee.pk,
                    None, None, first_at + timedelta(minutes=5),
                )  # fmt: skip
            if status != Status.OPEN.value:
                tables["activity"].add(
                    workspace.pk, cid, (assignee or actor).pk, ActivityKind.STATUS.value, status, None,
                    None, None, last_at + timedelta(minutes=30),
                )  # fmt: skip
            if snoozed_until:
                tables["activity"].add(
                    workspace.pk, cid, (assignee or actor).pk, ActivityKind.SNOOZED.value, "", None,
                    None, snoozed_until, last_at + timedelta(minutes=40),
                )  # fmt: skip
            n_tags = 2 if i == twenty else (rng.choice([1, 1, 2]) if rng.random() < 0.15 else 0)
            for tag in rng.sample(tags, n_tags):
                if (cid, tag.pk) not in tagged:
                    tagged.add((cid, tag.pk))
                    tables["tag"].add(cid, tag.pk, first_at + timedelta(minutes=10))
                    tables["activity"].add(
                        workspace.pk, cid, actor.pk, ActivityKind.TAGGED.value, "", None, tag.pk,
                        None, first_at + timedelta(minutes=10),
                    )  # fmt: skip
            for _note in range(2 if i == twenty else int(rng.random() < 0.04)):
                author = rng.choice(members)
                text = " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=15))
                noted_at = first_at + timedelta(minutes=20)
                tables["note"].add(
                    note_id,
                    workspace.pk,
                    cid,
                    author.pk,
                    keys.seal_text(text, field="note.body", row=note_row(note_id)),
                    noted_at,
                )
                tables["activity"].add(
                    workspace.pk, cid, author.pk, ActivityKind.NOTE.value, "", None, None, None,
                    noted_at,
                )  # fmt: skip
                note_id += 1
            # Most conversations were read by the logged-in member since their last message.
            if status == Status.CLOSED.value or rng.random() < 0.5:
                tables["read"].add(me.pk, cid, last_at + timedelta(minutes=rng.uniform(1, 600)))
            if len(sample_dates) < 1000 and rng.random() < 0.05:
                sample_dates.append(last_at)
        with transaction.atomic():
            for name in order:
                _write(tables[name])
        done = min(start + CHUNK_CONVERSATIONS, conversations)
        if done == conversations or (done // CHUNK_CONVERSATIONS) % 10 == 0:
            say(f"  {done:,} conversations, {message_id - message_base:,} messages written")

    if dropped:
        say(f"  rebuilding {len(dropped)} indexes…")
        _create_indexes(dropped)
    with connection.cursor() as cursor:
        # Explicit ids were written: the sequences must continue after them.
        models = [
            Conversation,
            Message,
            Attachment,
            Note,
            Activity,
            ConversationRead,
            ConversationTag,
        ]
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            for model in models:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    # A customer to look for (the longest address: deterministic for a given seed and size).
    sought = max(customers.values(), key=lambda c: len(c.address))
    sample_dates.sort()
    middle = sample_dates[len(sample_dates) // 2] if sample_dates else now
    return Generated(
        conversations=conversations,
        messages=messages,
        twenty_id=conversation_base + twenty,
        frequent_word="facture",
        rare_word=vocabulary[int(len(vocabulary) * 0.8)],
        subject_word="inscription",
        customer_address=sought.address,
        customer_last_name=sought.name.split()[-1],
        tag_name=TAGS[0],
        first_day=(middle - timedelta(days=60)).date().isoformat(),
        last_day=(middle + timedelta(days=60)).date().isoformat(),
    )


def _ascii(name: str) -> str:
    return re.sub(r"[^a-z-]", "", fold(name)) or "x"


def _drop_indexes(models) -> list[str]:
    """Drop the secondary indexes (not those of constraints); returns their definitions."""
    definitions = []
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [model._meta.db_table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                definitions.append(definition)
    return definitions


def _create_indexes(definitions: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for definition in definitions:
            cursor.execute(definition)
