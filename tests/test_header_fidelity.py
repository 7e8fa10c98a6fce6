"""Headers are shown as a careful reader reads them, and damage is told in the reader's language.

`tests/fixtures/headers/` holds messages written for these tests, one per oddity real mail has
(8-bit bytes inside encoded words, ISO-2022-JP raw and encoded, a broken line among the
headers, obsolete `To    :` syntax, a byte-order mark, mixed line endings, ...). Each has the
subject a person reads in it, written by hand below. `tests/careful_headers.py` is a slower,
independent reading built on the standard library's `decode_header`; it must agree with the
hand-written subjects, and the parser must agree with it on the whole corpus.
"""

import string
import time
from pathlib import Path

import pytest
from django.utils import translation

from inbox.mail.parsing import Address, describe_problems, parse_message
from inbox.mail.parsing.header_repair import repair_header_block
from inbox.mail.parsing.problems import (
    BAD_ENCODED_WORDS,
    BYTE_ORDER_MARK,
    DUPLICATE_HEADER,
    IN_TEXT,
    LEADING_BLANK_LINES,
    NO_BLANK_LINE,
    NO_CHARSET,
    NO_DATE,
    NO_MESSAGE_ID,
    NOT_AN_EMAIL,
    OBSOLETE_HEADER_SYNTAX,
    SKIPPED_HEADER_LINES,
    TEMPLATES,
    UNINDENTED_FOLD,
    UNKNOWN_CHARSET,
)
from tests.careful_headers import careful_subject, looks_like_email

FIXTURES = Path(__file__).parent / "fixtures"
HEADERS = FIXTURES / "headers"
CORPUS = sorted((FIXTURES / "eml").glob("*.eml")) + sorted(HEADERS.iterdir())

# What a person reads in each fixture of tests/fixtures/headers.
SUBJECTS = {
    "bom_and_obsolete_syntax_lf.eml": "Rappel : réunion parents",
    "bom_before_first_header.eml": "Menu de la semaine",
    "cr_only_line_endings.eml": "Ancien Mac, fins de ligne CR",
    "crlf_lf_mix.eml": "Fermeture exceptionnelle de l’école",
    "empty_subject_header.eml": "",
    "encoded_word_split_character.eml": "Résultats de l'évaluation",
    "folded_odd_whitespace.eml": "Bulletin trimestriel de mars",
    "garbage_line_before_headers.eml": "Export de messagerie",
    "headers_only_no_newline.eml": "Juste des en-têtes",
    "iso2022jp_encoded_words_split.eml": "会議のお知らせ",
    "iso2022jp_microsoft_extensions.eml": "①② 資料 №12",
    "iso2022jp_raw_subject.eml": "見積書の送付",
    "leading_blank_line.eml": "Une ligne d'espaces d'abord",
    "malformed_line_mid_header.eml": "Sortie scolaire du 12 mars",
    "missing_message_id_and_date.eml": "Simple rappel",
    "no_blank_line_after_headers.eml": "Sans ligne vide",
    "not_mail_prose.txt": "",
    "obsolete_space_before_colon.eml": "Horaires de la cantine",
    "raw_8bit_latin1_subject.eml": "Congés de février",
    "raw_utf8_and_word_mixed.eml": "Re: Délégués élus 2026",
    "rfc2231_language_in_word.eml": "Présentation",
    "unindented_folds.eml": "Conseil d'école",
    "unknown_charset_words.eml": "Café et thé",
    "word_8bit_in_attachment_name.eml": "Pièces du dossier",
    "word_8bit_in_display_name_only.eml": "Objet simple",
    "obsolete_syntax_with_content_type.eml": "Calendrier des épreuves",
    "word_8bit_koi8r.eml": "Расписание 2026",
    "word_8bit_latin1.eml": "Réunion du comité d'école",
    "word_8bit_latin1_label_windows_bytes.eml": "Inscription à l’école maternelle",
    "word_8bit_latin9_euro.eml": "Facture : 42 €",
    "word_8bit_utf8.eml": "Relevé de notes – 2e trimestre",
    "word_8bit_windows1252.eml": "Devis € 1 250 – cantine",
    "words_without_whitespace.eml": "Re:café-concert",
}


def read(name: str):
    return parse_message((HEADERS / name).read_bytes())


def shown(text: str) -> str:
    return " ".join(text.split())  # what a page shows: HTML collapses runs of whitespace


def test_every_header_fixture_has_a_subject_written_by_hand():
    assert sorted(SUBJECTS) == sorted(path.name for path in HEADERS.iterdir())


@pytest.mark.parametrize("name", sorted(SUBJECTS))
def test_the_subject_is_the_one_a_person_reads(name):
    raw = (HEADERS / name).read_bytes()
    assert shown(parse_message(raw).subject) == SUBJECTS[name]
    assert careful_subject(raw) == SUBJECTS[name], "the reference itself must read it right"


def test_displayed_subjects_match_a_careful_decoder_on_the_corpus():
    differences = []
    for path in CORPUS:
        raw = path.read_bytes()
        if shown(parse_message(raw).subject) != careful_subject(raw):
            differences.append(path.name)
    share = 1 - len(differences) / len(CORPUS)
    assert len(CORPUS) >= 60
    assert share >= 0.995, differences


def test_no_message_a_person_can_read_is_called_not_an_email():
    readable = [path for path in CORPUS if looks_like_email(path.read_bytes())]
    assert len(readable) >= len(CORPUS) - 3
    for path in readable:
        m = parse_message(path.read_bytes())
        assert m.parser != "none" and NOT_AN_EMAIL not in m.parse_problems, path.name
    # And what is not mail is still not taken for mail.
    for name in ("not_mail_prose.txt",):
        assert read(name).parse_problems == (NOT_AN_EMAIL,)
    garbage = parse_message((FIXTURES / "eml" / "garbage_random_bytes.eml").read_bytes())
    assert garbage.parser == "none"


# --- 8-bit bytes and stateful charsets ----------------------------------------------------


def test_raw_8bit_bytes_inside_encoded_words_are_read_in_the_words_charset():
    m = read("word_8bit_latin1.eml")
    assert m.subject == "Réunion du comité d'école"
    assert m.cc == (Address("Hélène Maître", "helene.maitre@exemple.fr"),)
    assert m.parse_problems == ()
    m = read("word_8bit_in_display_name_only.eml")
    assert m.from_ == Address("François Lœuvre", "f.loeuvre@exemple.fr")  # Windows-1252 œ
    # The same bytes in UTF-8 and KOI8-R words: the declared charset decides, not a guess.
    assert read("word_8bit_utf8.eml").subject == "Relevé de notes – 2e trimestre"
    assert read("word_8bit_koi8r.eml").subject == "Расписание 2026"


def test_raw_8bit_bytes_inside_encoded_attachment_names_are_kept():
    # fast_mail_parser drops them ("Reu d'inscription lve.pdf"): the stdlib reads these.
    m = read("word_8bit_in_attachment_name.eml")
    assert [a.filename for a in m.attachments] == [
        "Reçu d'inscription élève.pdf",
        "Menu – février.txt",
    ]
    assert m.attachments[0].payload.startswith(b"%PDF-1.4")
    assert m.text.strip() == "Voir les pièces jointes."


def test_iso_2022_jp_is_decoded_raw_encoded_split_and_with_microsoft_extensions():
    m = read("iso2022jp_raw_subject.eml")
    assert m.subject == "見積書の送付"
    assert m.from_ == Address("山田 太郎", "yamada@example.jp")
    assert m.text == "よろしくお願いします。\n"
    assert "\x1b" not in read("iso2022jp_encoded_words_split.eml").subject
    # NEC row 13 (circled digits, numero sign): no Python ISO-2022-JP codec has them.
    assert read("iso2022jp_microsoft_extensions.eml").subject == "①② 資料 №12"
    nec_body = b"\x1b$B-!\x1b(B \x1b$B2q5D\x1b(B"
    body = parse_message(
        b"Subject: x\nContent-Type: text/plain; charset=iso-2022-jp\n\n" + nec_body
    )
    assert body.text == "① 会議"


def test_unknown_charsets_in_words_are_guessed_and_said():
    m = read("unknown_charset_words.eml")
    assert m.subject == "Café et thé"
    assert BAD_ENCODED_WORDS.format(name="Subject") in m.parse_problems


# --- a damaged header block ---------------------------------------------------------------


def test_one_broken_line_no_longer_hides_the_headers_after_it():
    m = read("malformed_line_mid_header.eml")
    assert m.subject == "Sortie scolaire du 12 mars"
    assert m.from_ == Address("Claire Dubois", "claire.dubois@mairie-exemple.fr")
    assert m.to == (Address("", "accueil@ecole-exemple.fr"),)
    assert m.message_id == "<fixture-10@mairie-exemple.fr>"
    assert m.date is not None
    assert m.text == "Bonjour,\n\nCordialement.\n"  # the body is untouched by the repair
    assert m.parse_problems == (UNINDENTED_FOLD,)


def test_folds_that_lost_their_indentation_are_joined_back():
    m = read("unindented_folds.eml")
    assert m.subject == "Conseil d'école"
    assert m.references == ("<a@mairie-exemple.fr>", "<b@mairie-exemple.fr>")
    assert m.text == "Bonjour,\n\nCordialement.\n"


@pytest.mark.parametrize(
    ("name", "notes"),
    [
        ("obsolete_space_before_colon.eml", (OBSOLETE_HEADER_SYNTAX,)),
        ("bom_before_first_header.eml", (BYTE_ORDER_MARK,)),
        ("bom_and_obsolete_syntax_lf.eml", (BYTE_ORDER_MARK, OBSOLETE_HEADER_SYNTAX)),
        ("leading_blank_line.eml", (LEADING_BLANK_LINES,)),
        ("garbage_line_before_headers.eml", (SKIPPED_HEADER_LINES,)),
    ],
)
def test_obsolete_syntax_and_stray_bytes_before_the_headers_are_read_and_said(name, notes):
    m = read(name)
    assert m.parser == "fast"
    assert m.from_ is not None and m.to and m.date is not None and m.message_id
    assert m.parse_problems[: len(notes)] == notes
    assert m.text == ("Bonjour\n" if "lf" in name else "Bonjour,\n\nCordialement.\n")


def test_obsolete_syntax_keeps_the_declared_charset_of_the_body():
    m = read("obsolete_syntax_with_content_type.eml")
    assert m.subject == "Calendrier des épreuves"
    assert m.text == "Les épreuves commencent le 9 juin.\n"
    assert m.to == (Address("", "parents@college-exemple.fr"),) and m.date is not None
    assert describe_problems(m.parse_problems) == []  # nothing the reader needs to know


def test_a_missing_blank_line_starts_the_text_at_the_first_line_that_is_not_a_header():
    m = read("no_blank_line_after_headers.eml")
    assert m.subject == "Sans ligne vide" and m.date is not None
    assert m.text == "Bonjour, le texte suit directement les en-têtes.\nMerci.\n\nClaire\n"
    assert NO_BLANK_LINE in m.parse_problems
    assert read("headers_only_no_newline.eml").from_ == Address(
        "", "claire.dubois@mairie-exemple.fr"
    )


def test_mixed_line_endings_and_odd_folding_are_read():
    m = read("crlf_lf_mix.eml")
    assert m.subject == "Fermeture exceptionnelle de l’école" and m.date is not None
    assert m.text == "Bonjour,\nl'école sera fermée.\n"
    assert read("cr_only_line_endings.eml").message_id == "<fixture-16@mairie-exemple.fr>"


def test_well_formed_mail_is_never_rewritten():
    # Nothing to repair in the original corpus (only parsed again when a defect shows).
    for path in sorted((FIXTURES / "eml").glob("*.eml")):
        assert repair_header_block(path.read_bytes()) is None, path.name
    assert repair_header_block((HEADERS / "word_8bit_latin1.eml").read_bytes()) is None


def test_a_hostile_header_block_is_repaired_in_linear_time():
    lines = b"no colon on this line\n" * 200_000  # 4.4 MB of broken lines, then a header
    started = time.perf_counter()
    m = parse_message(b"Received: x\n" + lines + b"Subject: fin\n\nbody")
    assert time.perf_counter() - started < 5
    assert m.parser != "none"
    m = parse_message(b"\xef\xbb\xbf" + b"x" * 2_000_000)
    assert m.parse_problems == (NOT_AN_EMAIL,)


# --- how damage is told -------------------------------------------------------------------


def test_a_missing_message_id_or_date_alone_is_recorded_but_not_a_warning():
    m = read("missing_message_id_and_date.eml")
    assert m.parse_problems == (NO_MESSAGE_ID, NO_DATE)  # kept for diagnostics
    assert describe_problems(m.parse_problems) == []
    with translation.override("en"):
        assert describe_problems(m.parse_problems, for_agents=False) == [NO_MESSAGE_ID, NO_DATE]


def test_every_problem_is_described_wholly_in_french():
    stored = [
        DUPLICATE_HEADER.format(name="Subject"),
        UNKNOWN_CHARSET.format(label="x-mac-roman-ish", where=IN_TEXT),
        NO_CHARSET.format(where=IN_TEXT),
        NO_MESSAGE_ID,
    ]
    with translation.override("fr"):
        assert describe_problems(stored) == [
            "L’en-tête Subject apparaît plusieurs fois ; le premier a été retenu.",
            "Jeu de caractères inconnu « x-mac-roman-ish » dans le texte du message ;"
            " il a été deviné.",
            "Aucun jeu de caractères n’est déclaré pour du texte 8 bits dans le texte du"
            " message ; il a été deviné.",
        ]
        for template in TEMPLATES:
            french = translation.gettext(template)
            assert french != template, template
            assert sorted(_fields(french)) == sorted(_fields(template)), template


def test_every_problem_the_corpus_produces_is_a_known_sentence():
    with translation.override("fr"):
        unknown = translation.gettext("Part of the message is malformed.")
        for path in CORPUS:
            for sentence in describe_problems(parse_message(path.read_bytes()).parse_problems):
                assert sentence != unknown, path.name


def test_a_stored_sentence_no_template_matches_is_never_shown_as_stored():
    with translation.override("fr"):
        assert describe_problems(["<b>Sender text</b>", "<b>Sender text</b>"]) == [
            "Une partie du message est mal formée."
        ]


def _fields(text: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(text) if field]
