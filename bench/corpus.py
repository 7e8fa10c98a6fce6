"""A deterministic corpus of realistic French business mail (~27 KB on average).

Multipart/alternative text + HTML, replies with In-Reply-To/References and quoted text,
one message in six with a PDF attachment, accented names and subjects in RFC 2047.
"""

import base64
import quopri
import random
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from urllib.parse import quote

FIRST = [
    "Sophie",
    "Karim",
    "Élodie",
    "Thomas",
    "Amélie",
    "Paul",
    "Inès",
    "Hugo",
    "Léa",
    "Chloé",
    "Mathis",
    "Zoé",
    "Nicolas",
    "Camille",
    "Julien",
    "Manon",
    "Océane",
    "Benoît",
]
LAST = [
    "Lefèvre",
    "Benali",
    "Moreau",
    "Girard",
    "Chevalier",
    "Mercier",
    "Rousseau",
    "Faure",
    "Dubois",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Garnier",
    "Perrin",
]
TOPICS = [
    "Absence de {child} jeudi",
    "Inscription en spécialité NSI",
    "Facture n° FA-{n}",
    "Demande de rendez-vous avec la CPE",
    "Perte de carte de cantine",
    "Voyage à Berlin — acompte",
    "Certificat de scolarité pour la CAF",
    "Bourse de lycée : dossier incomplet ?",
    "Conseil de classe — ordre du jour",
    "Devis impression brochures {n}",
]
WORDS = [
    "bonjour",
    "merci",
    "élève",
    "classe",
    "rendez-vous",
    "professeur",
    "semaine",
    "prochaine",
    "document",
    "dossier",
    "inscription",
    "réunion",
    "parents",
    "cantine",
    "facture",
    "paiement",
    "virement",
    "absence",
    "certificat",
    "médical",
    "emploi",
    "du",
    "temps",
    "devoirs",
    "bulletin",
    "trimestre",
    "conseil",
    "orientation",
    "stage",
    "entreprise",
    "sortie",
    "pédagogique",
    "autorisation",
    "transport",
    "horaires",
    "vacances",
    "rentrée",
    "secrétariat",
    "intendance",
    "vie",
    "scolaire",
    "proviseur",
    "adjoint",
    "cordialement",
    "salutations",
    "disponible",
    "confirmer",
]


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize() + "."
        for _ in range(count)
    ]


def _h(value: str) -> str:
    return Header(value, "utf-8").encode() if not value.isascii() else value


def message(n: int, *, rng: random.Random, base: datetime, thread_of: dict[int, str]) -> bytes:
    """One message, assembled by hand: the email package's builder costs 8 ms a message."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    topic = rng.choice(TOPICS).format(child=rng.choice(FIRST), n=1000 + n)
    message_id = f"<bench.{n}.{rng.getrandbits(48):x}@famille-exemple.fr>"
    parent = thread_of.get(n % 97) if n % 3 == 0 else None
    thread_of[n % 97] = message_id
    paragraphs = _paragraphs(rng, rng.randint(10, 26))
    text = "Bonjour,\n\n" + "\n\n".join(paragraphs) + f"\n\nCordialement,\n{first} {last}\n"
    if parent:
        text += "\n> " + "\n> ".join(_paragraphs(rng, 3))
    html = (
        "<html><body><p>Bonjour,</p>"
        + "".join(f"<p>{p}</p>" for p in paragraphs)
        + f"<p>Cordialement,<br>{first} {last}</p>"
        + '<img src="https://tracker.example/pixel.gif" alt=""></body></html>'
    )
    outer, inner = f"=_mixed_{n}", f"=_alt_{n}"
    headers = [
        f"From: {_h(f'{first} {last}')} <parent.{n}@famille-exemple.fr>",
        "To: Vie scolaire <scolarite@lycee-bench.fr>",
        f"Subject: {_h(('Re: ' if parent else '') + topic)}",
        f"Date: {format_datetime(base + timedelta(minutes=7 * n))}",
        f"Message-ID: {message_id}",
        *([f"In-Reply-To: {parent}", f"References: {parent}"] if parent else []),
        "MIME-Version: 1.0",
    ]
    alternative = (
        f'Content-Type: multipart/alternative; boundary="{inner}"\r\n\r\n'
        f"--{inner}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + quopri.encodestring(text.encode()).decode("ascii")
        + f"\r\n--{inner}\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + quopri.encodestring(html.encode()).decode("ascii")
        + f"\r\n--{inner}--\r\n"
    )
    if n % 6:
        body = alternative
    else:
        pdf = b"%PDF-1.4\n" + rng.randbytes(9000) + b"\n%%EOF\n"
        filename = f"pièce-jointe-{n}.pdf"
        body = (
            f'Content-Type: multipart/mixed; boundary="{outer}"\r\n\r\n--{outer}\r\n'
            + alternative
            + f"\r\n--{outer}\r\nContent-Type: application/pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename*=utf-8''{quote(filename)}\r\n\r\n"
            + base64.encodebytes(pdf).decode("ascii")
            + f"\r\n--{outer}--\r\n"
        )
    return ("\r\n".join(headers) + "\r\n" + body).encode("ascii")


def corpus(count: int, seed: int = 2026):
    rng = random.Random(seed)
    base = datetime(2026, 9, 1, 7, tzinfo=UTC)
    threads: dict[int, str] = {}
    for n in range(count):
        yield message(n, rng=rng, base=base, thread_of=threads)
