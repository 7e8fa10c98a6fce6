"""Every .eml in tests/fixtures/eml goes through the real parser, with concrete expectations."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbox.mail.parsing import (
    Address,
    ParsedMessage,
    normalise_subject,
    parse_message,
    sanitise_html,
)

CORPUS = Path(__file__).parent / "fixtures" / "eml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def parse(name: str) -> ParsedMessage:
    return parse_message((CORPUS / name).read_bytes())


def attachment(message: ParsedMessage, filename: str):
    matches = [a for a in message.attachments if a.filename == filename]
    assert len(matches) == 1, [a.filename for a in message.attachments]
    return matches[0]


def has_problem(message: ParsedMessage, *words: str) -> bool:
    return any(all(w in problem for w in words) for problem in message.parse_problems)


# --- one check per corpus file --------------------------------------------------------------


def check_parent_absence(m: ParsedMessage) -> None:
    assert m.subject == "Absence de Léa Lefèvre – CM2 B"
    assert m.from_ == Address("Sophie Lefèvre", "sophie.lefevre@gmail.com")
    assert m.to == (Address("Scolarité École Saint-Exupéry", "scolarite@ecole-saint-exupery.fr"),)
    assert m.date == datetime(2024, 9, 9, 5, 42, 13, tzinfo=UTC)
    assert m.message_id == "<CAF7x9=Qm2kT8pZ_v3nW@mail.gmail.com>"
    assert "Ma fille Léa (CM2 B) sera absente" in m.text
    assert "\r" not in m.text
    assert m.html.startswith('<div dir="ltr">Bonjour Madame')
    assert not m.text_from_html
    assert m.snippet.startswith("Bonjour Madame, Monsieur, Ma fille Léa")
    assert m.parse_problems == ()
    assert m.parser == "fast"


def check_supplier_invoice(m: ParsedMessage) -> None:
    assert m.subject == "Invoice INV-2024-0917 – Agence Lumière"
    assert m.from_ == Address(
        "Northwind Supplies Ltd - Accounts", "billing@northwind-supplies.co.uk"
    )
    # A raw 8-bit UTF-8 display name, as many mailers send.
    assert m.to == (Address("Comptabilité Agence Lumière", "compta@agence-lumiere.fr"),)
    pdf = attachment(m, "INV-2024-0917.pdf")
    assert pdf.content_type == "application/pdf"
    assert pdf.payload.startswith(b"%PDF-1.4") and pdf.payload.endswith(b"%%EOF\n")
    assert pdf.size == len(pdf.payload) == 142
    assert pdf.open().read() == pdf.payload
    assert not pdf.is_inline and pdf.content_id is None
    assert m.has_attachments
    assert m.parse_problems == ()


def check_newsletter(m: ParsedMessage) -> None:
    assert m.subject == "La lettre de Villeneuve – juin 2024"
    assert m.text_from_html
    assert "Chers habitants, la Fête de la musique aura lieu le 21 juin" in m.text
    assert "document.cookie" not in m.text and "color:red" not in m.text
    assert "<script" in m.html.lower()  # kept as sent; sanitised when shown
    shown = sanitise_html(m.html)
    for forbidden in ("<script", "onerror", "onload", "onclick", "<form", "<input", "<iframe"):
        assert forbidden not in shown.lower()
    assert "<style" not in shown and "style=" not in shown and "javascript:" not in shown.lower()
    assert 'src="cid:logo-mairie@villeneuve.fr"' in shown
    assert 'src="https://news.villeneuve.fr/img/affiche-fete.jpg"' in shown
    assert 'src="https://tracker.example.net/open.gif?id=8842"' in shown  # the UI decides
    anchors = re.findall(r"<a\b[^>]*>", shown)
    assert len(anchors) == 4
    for anchor in anchors:
        assert 'rel="noopener noreferrer"' in anchor and 'target="_blank"' in anchor
    logo = m.inline_by_cid["logo-mairie@villeneuve.fr"]
    assert logo.filename == "logo.png" and logo.content_type == "image/png"
    assert logo.is_inline and logo.payload.startswith(PNG_MAGIC)
    assert not m.has_attachments  # an inline logo is not something to download
    assert m.parse_problems == ()


def check_reply_chain(m: ParsedMessage) -> None:
    assert m.subject == "RE: TR: Re: [Devis] Refonte du site – Boulangerie Dubois"
    assert normalise_subject(m.subject) == "[Devis] Refonte du site – Boulangerie Dubois"
    assert m.in_reply_to == "<CADub0is-3@mail.gmail.com>"
    assert m.references == (
        "<a1.20240925101500@agence-lumiere.fr>",
        "<CADub0is-2@mail.gmail.com>",
        "<CADub0is-3@mail.gmail.com>",
    )
    assert m.to == (Address("Claire Dubois", "claire.dubois@boulangerie-dubois.fr"),)
    assert m.cc == (Address("", "projets@agence-lumiere.fr"),)
    assert "« vitrine + click & collect »" in m.text
    assert m.parse_problems == ()


def check_latin1(m: ParsedMessage) -> None:
    assert m.subject == "Relevé de notes du 1er trimestre"
    assert m.from_ == Address("Collège Jean Moulin", "secretariat@college-jean-moulin.fr")
    assert "Les appréciations des professeurs seront détaillées" in m.text
    assert "M. François Bérard" in m.text and "élève sérieux" in m.text
    assert m.parse_problems == ()


def check_windows1252(m: ParsedMessage) -> None:
    assert m.subject == "Devis séjour « Œuvres et patrimoine »"
    assert "transport : 1 250 €" in m.text
    assert "TTC… l’acompte" in m.text
    assert "L’équipe Voyages Scolaires – Horizons" in m.text
    assert m.parse_problems == ()


def check_iso88591_words(m: ParsedMessage) -> None:
    # Two B-encoded words across a folded line; the split falls inside a word.
    assert m.subject == "Réunion parents-professeurs : créneaux disponibles"
    assert m.from_ == Address("François Bérard", "f.berard@college-jean-moulin.fr")
    assert m.to == (Address("Parents d'èlèves", "parents@college-jean-moulin.fr"),)
    assert m.parse_problems == ()


def check_broken_words(m: ParsedMessage) -> None:
    assert m.subject.startswith("Rappel : réunion du conseil d’école")  # unpadded base64 word
    assert "café" in m.subject  # unknown-8bit charset, guessed
    assert m.from_ == Address("Clément Roux", "clement.roux@mairie-villeneuve.fr")
    assert m.to == (Address("Zoé Martin", "zoe.martin@ecole-saint-exupery.fr"),)
    assert has_problem(m, "Subject", "could not be fully decoded")


def check_mac_roman_ish(m: ParsedMessage) -> None:
    assert "Les inscriptions à la cantine pour l'année scolaire" in m.text
    assert "à l'ordre du Trésor public" in m.text
    assert "\ufffd" not in m.text
    assert has_problem(m, "Unknown character set", "x-mac-roman-ish")


def check_bogus_latin1(m: ParsedMessage) -> None:
    assert "Nous avons bien reçu votre dossier" in m.text
    assert "Très cordialement,\nHélène Garnier" in m.text
    assert "\ufffd" not in m.text
    assert has_problem(m, "Unknown character set", "latin-1-bogus")


def check_charset_aliases(m: ParsedMessage) -> None:
    assert m.subject == "Problème d’accès au site"  # =?utf8?...?=
    assert m.from_ == Address("Gaëlle Noël", "gaelle.noel@exemple-pme.fr")  # =?win-1252?...?=
    assert "« erreur 502 »" in m.text  # charset="utf8"
    assert m.parse_problems == ()  # aliases are known spellings, not problems


def check_eightbit_no_charset(m: ParsedMessage) -> None:
    assert "L'association des parents d'élèves prépare la kermesse" in m.text
    assert has_problem(m, "No character set declared")


def check_no_date(m: ParsedMessage) -> None:
    assert m.date is None
    assert m.subject == "Intervention chauffage"
    assert has_problem(m, "no Date header")


def check_malformed_date(m: ParsedMessage) -> None:
    assert m.date is None
    assert m.subject == "Confirmation car pour la sortie au musée"
    assert has_problem(m, "Date header could not be read")


def check_missing_message_id(m: ParsedMessage) -> None:
    assert m.message_id == ""
    assert m.date == datetime(2024, 10, 22, 5, 55, tzinfo=UTC)
    assert has_problem(m, "no Message-ID")


def check_duplicate_headers(m: ParsedMessage) -> None:
    assert m.subject == "Demande de rappel"
    assert m.from_ == Address("Nathalie Roche", "nathalie.roche@exemple-pme.fr")
    assert m.message_id == "<first-id-0711@exemple-pme.fr>"
    assert m.date == datetime(2024, 11, 7, 12, 0, tzinfo=UTC)
    assert [a.address for a in m.to] == ["contact@agence-lumiere.fr", "other@agence-lumiere.fr"]
    for header in ("From", "Subject", "Date", "Message-ID"):
        assert has_problem(m, f"The {header} header appears several times")


def check_long_headers(m: ParsedMessage) -> None:
    assert m.subject.startswith("Compte rendu point 1 de l'ordre du jour – point 2")
    assert m.subject.endswith("point 30 de l'ordre du jour")
    assert len(m.references) == 150
    assert m.references[0] == "<thread-000.20240101@liste-diffusion.fr>"
    assert m.in_reply_to == "<thread-149.20240101@liste-diffusion.fr>"
    assert m.parse_problems == ()


def check_address_garbage(m: ParsedMessage) -> None:
    assert m.from_ == Address("Direction", "direction@ecole-saint-exupery.fr")
    assert m.to == (
        Address("Dupont, Jean", "jean.dupont@ecole-saint-exupery.fr"),
        Address("", "parents-ce2@ecole-saint-exupery.fr"),
        Address("Maïté Etxeberria", "maite.etxeberria@exemple.fr"),
    )
    assert m.cc == ()
    assert m.reply_to == (Address("Secretariat", "secretariat@ecole-saint-exupery.fr"),)
    assert has_problem(m, "To header could not be read")
    assert has_problem(m, "Cc header could not be read")


def check_forwarded(m: ParsedMessage) -> None:
    assert normalise_subject(m.subject) == "Inscription cantine - Tom Girard"
    forwarded = attachment(m, "Inscription cantine - Tom Girard.eml")
    assert forwarded.content_type == "message/rfc822"
    assert b"Subject: Inscription cantine - Tom Girard" in forwarded.payload
    inner = parse_message(forwarded.payload)
    assert inner.from_ == Address("Amélie Girard", "amelie.girard@free.fr")
    # The forwarded mail stays an attachment: its text is not mixed into this one.
    assert "je vous transfère la demande" in m.text and "Tom (CE1)" not in m.text
    assert m.has_attachments


def check_calendar(m: ParsedMessage) -> None:
    assert "Vous avez été invité(e) à l'événement suivant." in m.text
    assert sorted(a.content_type for a in m.attachments) == ["application/ics", "text/calendar"]
    for part in m.attachments:
        assert part.filename == "invite.ics"
        assert b"METHOD:REQUEST" in part.payload


def check_unclosed_multipart(m: ParsedMessage) -> None:
    assert "Bonjour, voici mes notes en pièce jointe." in m.text
    notes = attachment(m, "notes.txt")
    assert "Valider la maquette" in notes.payload.decode()
    assert has_problem(m, "missing final boundary")


def check_truncated_base64(m: ParsedMessage) -> None:
    assert m.parser == "tolerant"  # the fast parser refuses it; the stdlib recovers
    assert m.subject == "Facture (pièce jointe tronquée)"
    assert m.text == "Voici la facture de décembre."
    pdf = attachment(m, "facture-decembre.pdf")
    assert pdf.payload.startswith(b"%PDF-1.4")
    assert has_problem(m, "Base64", "attachment")


def check_nested_alternative(m: ParsedMessage) -> None:
    assert "Vous trouverez ci-joint le bulletin du 1er trimestre de Lucas." in m.text
    assert "<strong>bulletin du 1er trimestre</strong>" in m.html
    assert not m.text_from_html
    docx = attachment(m, "Bulletin T1 - Lucas.docx")
    assert docx.content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert docx.payload.startswith(b"PK\x03\x04") and docx.size == 772
    assert m.parse_problems == ()


def check_old_style(m: ParsedMessage) -> None:
    assert m.from_ == Address("Jean Dupont", "jdupont@univ-paris.fr")  # "addr (Name)" form
    assert m.date == datetime(1996, 6, 4, 17, 15, tzinfo=UTC)  # two-digit year, PDT
    assert m.message_id == "<9606041715.AA01234@univ-paris.fr>"
    assert "Merci de reporter vos cours en salle 112." in m.text
    assert m.parse_problems == ()


def check_rfc2231_filename(m: ParsedMessage) -> None:
    assert m.subject == "Compte-rendu de la réunion du 18/11"
    assert m.from_ == Address("Isabelle Lefèbre", "isabelle.lefebre@cabinet-garnier.fr")
    report = attachment(m, "Compte-rendu réunion.pdf")
    assert report.payload.startswith(b"%PDF")


def check_garbage(m: ParsedMessage) -> None:
    assert m.parser == "none"
    assert (m.subject, m.text, m.html, m.message_id, m.snippet) == ("", "", "", "", "")
    assert m.from_ is None and m.to == () and m.attachments == () and m.date is None
    assert has_problem(m, "not an email message")


def check_agency_quote(m: ParsedMessage) -> None:
    assert m.subject == "Quote request: booking website for our tutoring centres"
    assert m.from_ == Address("Emily Carter", "emily.carter@brightside-tutoring.co.uk")
    assert m.cc == (
        Address("Tom Hughes", "tom@brightside-tutoring.co.uk"),
        Address("", "finance@brightside-tutoring.co.uk"),
    )
    assert m.reply_to == (Address("", "projects@brightside-tutoring.co.uk"),)
    assert "would like a quote for a booking website (parents book" in m.text
    assert "<p>Hello,</p>" in m.html and "<meta" not in sanitise_html(m.html)
    assert m.parse_problems == ()


def check_sent_with_bcc(m: ParsedMessage) -> None:
    assert m.subject == "Re: Absence de Léa"
    assert normalise_subject(m.subject) == "Absence de Léa"
    assert m.from_ == Address("Scolarité", "scolarite@ecole-saint-exupery.fr")
    assert m.bcc == (
        Address("", "direction@ecole-saint-exupery.fr"),
        Address("Mme Girard", "c.girard@ecole-saint-exupery.fr"),
    )
    assert m.in_reply_to == "<CAF7x9=Qm2kT8pZ_v3nW@mail.gmail.com>"
    assert m.references == ("<CAF7x9=Qm2kT8pZ_v3nW@mail.gmail.com>",)


def check_hostile_html(m: ParsedMessage) -> None:
    shown = sanitise_html(m.html)
    lowered = shown.lower()
    for forbidden in (
        "<script", "alert(", "onload", "onerror", "onmouseover", "<svg", "<math", "<object",
        "<embed", "<base", "<meta", "<link", "<style", "style=", "data:", "<textarea",
    ):  # fmt: skip
        assert forbidden not in lowered, forbidden
    assert 'href="https://colis-suivi.example/track?id=FR123"' in shown
    assert 'href="mailto:service-client@colis-suivi.example"' in m.html
    assert m.text_from_html
    assert m.text == "Votre colis est en attente de livraison.\n\nSuivre mon colis\nService client"


EXPECTATIONS: dict[str, Callable[[ParsedMessage], None]] = {
    "fr_parent_absence_to_scolarite.eml": check_parent_absence,
    "en_supplier_invoice_with_pdf.eml": check_supplier_invoice,
    "fr_newsletter_html_only_cid_image.eml": check_newsletter,
    "fr_reply_chain_in_reply_to_references.eml": check_reply_chain,
    "fr_quoted_printable_latin1.eml": check_latin1,
    "fr_quoted_printable_windows1252.eml": check_windows1252,
    "fr_subject_and_name_iso88591_encoded_words.eml": check_iso88591_words,
    "broken_encoded_words.eml": check_broken_words,
    "charset_unknown_label_x_mac_roman_ish.eml": check_mac_roman_ish,
    "charset_bogus_label_latin1.eml": check_bogus_latin1,
    "charset_aliases_utf8_and_win1252.eml": check_charset_aliases,
    "eightbit_body_without_charset.eml": check_eightbit_no_charset,
    "no_date_header.eml": check_no_date,
    "malformed_date_header.eml": check_malformed_date,
    "missing_message_id.eml": check_missing_message_id,
    "duplicate_headers.eml": check_duplicate_headers,
    "very_long_header_lines.eml": check_long_headers,
    "address_list_with_garbage.eml": check_address_garbage,
    "fr_forwarded_message_rfc822.eml": check_forwarded,
    "calendar_invite_request.eml": check_calendar,
    "multipart_without_closing_boundary.eml": check_unclosed_multipart,
    "truncated_base64_attachment.eml": check_truncated_base64,
    "nested_alternative_inside_mixed.eml": check_nested_alternative,
    "old_style_non_mime.eml": check_old_style,
    "rfc2231_french_filename.eml": check_rfc2231_filename,
    "garbage_random_bytes.eml": check_garbage,
    "en_agency_quote_request_cc_reply_to.eml": check_agency_quote,
    "sent_copy_with_bcc.eml": check_sent_with_bcc,
    "html_only_hostile_markup.eml": check_hostile_html,
}
CORPUS_FILES = sorted(path.name for path in CORPUS.glob("*.eml"))


def test_every_corpus_file_has_expectations() -> None:
    assert sorted(EXPECTATIONS) == CORPUS_FILES


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_corpus_file(name: str) -> None:
    EXPECTATIONS[name](parse(name))


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_invariants(name: str) -> None:
    m = parse(name)
    addresses = [a for a in (m.from_, *m.to, *m.cc, *m.bcc, *m.reply_to) if a is not None]
    for address in addresses:
        assert address.address == address.address.lower()
    assert m.date is None or m.date.tzinfo is not None
    assert len(m.snippet) <= 161 and "\n" not in m.snippet
    assert "<script" not in sanitise_html(m.html).lower()
    # Problems are stored in clear for sync-health pages: they must not quote content.
    for problem in m.parse_problems:
        assert not m.subject or m.subject not in problem
        for address in addresses:
            assert address.address not in problem


# --- robustness: parse_message never raises ------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 64,
        b"\n\n\n",
        b"Subject",
        b"Subject: only a header",
        b"From: \r\n\r\n",
        b"Content-Type: multipart/mixed\n\nno boundary at all\n",
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x--\n",
        b"Content-Type: text/plain; charset=base64\n\n\xff\xfe",
        b'Content-Type: text/plain; charset=""\n\n\xe9t\xe9',
        b"Subject: =?utf-8?B?====?= =?x?q?=?= =?\n\nbody",
        b"Date: Mon, 99 Foo 99999 99:99:99 +9999\nSubject: x\n\ny",
        b"To: " + b",".join([b"<a@b>"] * 5000) + b"\n\nx",
        b"To: " + b'"(' * 50_000 + b"\n\nunbalanced quoting must not be quadratic",
        b"X-Long: " + b"a" * 200_000 + b"\n\nbody",
        "Subject: déjà vu\n\nnon-ASCII text in a str".encode(),
        b'Content-Type: text/plain; charset="utf-\x008"\n\n\xe9t\xe9',
        # A hostile charset label in a message only the stdlib accepts (damaged base64).
        b"Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        b'Content-Type: text/plain; charset="utf-\x008"\nContent-Transfer-Encoding: 8bit\n\n\xe9\n'
        b"--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBE=R\n--b--\n",
    ],
)
def test_hostile_inputs_never_raise(raw: bytes) -> None:
    m = parse_message(raw)
    assert isinstance(m, ParsedMessage)


def test_accepts_bytes_like_and_reports_wrong_types() -> None:
    raw = (CORPUS / "fr_parent_absence_to_scolarite.eml").read_bytes()
    assert parse_message(bytearray(raw)).subject == parse_message(memoryview(raw)).subject
    broken = parse_message(None)  # type: ignore[arg-type]
    assert broken.parse_problems and broken.subject == ""


def test_deeply_nested_multipart_is_cut_not_crashed() -> None:
    depth = 300
    head = b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth)
    )
    raw = b"Subject: nest\nContent-Type: multipart/mixed; boundary=b0\n\n" + head + b"deep\n"
    m = parse_message(raw)
    assert m.subject == "nest"


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_truncated_corpus_files_never_raise(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    for end in range(0, len(raw), max(1, len(raw) // 40)):
        assert isinstance(parse_message(raw[:end]), ParsedMessage)


# --- smaller behaviours --------------------------------------------------------------------


def test_multipart_without_boundary_keeps_the_text() -> None:
    m = parse_message(
        b"Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\nBonjour, rien de perdu.\n"
    )
    assert "Bonjour, rien de perdu." in m.text
    assert m.parse_problems


def test_seven_bit_encodings_are_decoded() -> None:
    body = "会議は明日です。".encode("iso2022_jp")
    m = parse_message(b"Subject: x\nContent-Type: text/plain; charset=ISO-2022-JP\n\n" + body)
    assert m.text == "会議は明日です。"


def test_html_charset_from_meta_when_the_part_declares_none() -> None:
    html = '<html><head><meta charset="windows-1252"></head><body>Co\xfbt : 5 \x80</body></html>'
    raw = b"Subject: x\nContent-Type: text/html\n\n" + html.encode("latin-1")
    m = parse_message(raw)
    assert m.text == "Coût : 5 €"


def test_mbox_envelope_line_is_ignored() -> None:
    raw = (
        b"From MAILER-DAEMON Mon Sep  9 07:42:13 2024\n"
        + (CORPUS / "fr_parent_absence_to_scolarite.eml").read_bytes()
    )
    assert parse_message(raw).subject == "Absence de Léa Lefèvre – CM2 B"


def test_long_attachment_names_keep_their_extension() -> None:
    raw = (
        b"Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: text/plain\n\nhi\n--b\n"
        b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="'
        + b"a" * 300
        + b'.pdf"\n\n%PDF\n--b--\n'
    )
    (part,) = parse_message(raw).attachments
    assert len(part.filename) == 200 and part.filename.endswith("a.pdf")


def test_attachment_names_cannot_carry_paths_or_controls() -> None:
    raw = (
        b"Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: text/plain\n\nhi\n--b\n"
        b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="..\\\\..\\\\'
        b'evil\x07.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERg==\n--b--\n'
    )
    (part,) = parse_message(raw).attachments
    assert part.filename == "evil.pdf"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("RE: TR: Re: Devis", "Devis"),
        ("Re[2]: Devis", "Devis"),
        ("Re : Rentrée", "Rentrée"),
        ("Réf. : Dossier 12", "Dossier 12"),
        ("AW: WG: Angebot", "Angebot"),
        ("Fwd: Re:   Planning   de juin ", "Planning de juin"),
        ("FW: RE(3): Sortie", "Sortie"),
        ("Relevé de notes", "Relevé de notes"),
        ("Travaux : été", "Travaux : été"),
        ("", ""),
    ],
)
def test_normalise_subject(subject: str, expected: str) -> None:
    assert normalise_subject(subject) == expected


def _address_strings(seed: int, count: int) -> list[str]:
    """Random addresses, plain and odd: a display name, then "<local@domain>", or bare."""
    import random

    rng = random.Random(seed)
    pieces = [
        "a", "Zoé", "jean.dupont", "x_y", "@", "<", ">", " ", "  ", "\t", ".", "..", ",",
        ";", ":", '"', "(", ")", "\\", "[", "]", "=?utf-8?q?=C3=A9?=", "lycee-verne.fr", "-",
        "'", "+", "é", "0",
    ]  # fmt: skip

    def text(most: int) -> str:
        # Mostly letters, sometimes a special: the fast path's edges are where they meet.
        return "".join(
            rng.choice(pieces) if rng.random() < 0.2 else rng.choice(pieces[:4])
            for _ in range(rng.randint(0, most))
        )

    shapes = [
        lambda: f"{text(3)}@{text(3)}",
        lambda: f"{text(5)}<{text(3)}@{text(3)}>",
        lambda: f"{text(5)} <{text(3)}@{text(3)}>{text(1)}",
        lambda: text(12),
    ]
    return [rng.choice(shapes)() for _ in range(count)]


def test_the_fast_address_reading_agrees_with_the_standard_library() -> None:
    from email.utils import parseaddr

    from inbox.mail.parsing.addresses import PARSEADDR_OPTIONS, SIMPLE_ADDRESS, parse_address

    samples = [
        "a@b.fr",
        "Zoé Martin <zoe.martin@famille.fr>",
        "  Jean   Dupont\t<j@x.fr>",
        "<j@x.fr>",
        "J. Dupont <j@x.fr>",
        "=?utf-8?q?Zo=C3=A9?= <z@x.fr>",
        *_address_strings(2026, 60_000),
    ]
    fast = [s for s in samples if SIMPLE_ADDRESS.fullmatch(s)]
    assert len(fast) > 500  # the comparison below is not empty
    for chunk in fast:
        assert parse_address(chunk) == parseaddr(chunk, **PARSEADDR_OPTIONS), chunk


def test_the_fast_address_list_split_agrees_with_the_careful_one() -> None:
    from inbox.mail.parsing.addresses import (
        NEEDS_CAREFUL_SPLIT,
        split_address_list,
        split_top_level,
    )

    samples = [
        "a@b.fr, Zoé <z@x.fr>; c@d.fr",
        *(" , ".join(_address_strings(seed, 3)) for seed in range(20_000)),
    ]
    plain = [s for s in samples if not NEEDS_CAREFUL_SPLIT.search(s)]
    assert len(plain) > 500
    for value in plain:
        chunks, unbalanced = split_top_level(value, set())
        assert unbalanced is None
        assert split_address_list(value) == [c.strip() for c in chunks if c.strip()], value
