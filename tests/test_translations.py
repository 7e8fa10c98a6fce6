"""Every string of the UI is translated into French, and the catalogue matches the sources."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import polib

from tests.parts import require_part

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def _untranslated(po: polib.POFile) -> list[str]:
    return [
        e.msgid
        for e in po
        if not e.obsolete
        and ("fuzzy" in e.flags or not (e.msgstr or all(e.msgstr_plural.values())))
    ]


def test_every_message_has_a_french_translation():
    po = polib.pofile(str(CATALOGUE))
    assert len(po) > 100
    assert _untranslated(po) == []


def test_catalogue_is_up_to_date_with_the_sources():
    """makemessages over the sources adds no message the catalogue lacks."""
    if not shutil.which("xgettext"):
        require_part("gettext", "xgettext is not installed (apt-get install gettext)")
    # makemessages writes into the catalogue next to the sources; keep the original and
    # put it back whatever happens.
    original = CATALOGUE.read_bytes()
    try:
        script = (
            "import django; django.setup(); from django.core.management import call_command;"
            "call_command('makemessages', locale=['fr'], no_obsolete=True, verbosity=0,"
            " ignore_patterns=['.venv/*', 'node_modules/*', 'var/*', 'tests/*', 'bench/*'])"
        )
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)
        fresh = polib.pofile(str(CATALOGUE))
    finally:
        CATALOGUE.write_bytes(original)
    current = polib.pofile(str(CATALOGUE))
    missing = sorted({e.msgid for e in fresh} - {e.msgid for e in current})
    assert missing == [], "run `make translations` and translate these"
    assert len(fresh) == len(current)


_SOURCES = ("accounts", "billing", "inbox", "privacy", "trupeo")
_GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "pgettext"}


def test_no_string_to_translate_hides_inside_an_f_string():
    """xgettext does not read inside f-string fields: `f"{_('Show images')}"` is never
    extracted, so it stays English in French pages although the test above passes."""
    hidden = []
    for package in _SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.FormattedValue):
                    continue
                for inner in ast.walk(node.value):
                    if (
                        isinstance(inner, ast.Call)
                        and isinstance(inner.func, ast.Name)
                        and inner.func.id in _GETTEXT
                    ):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == [], "take the translated string out of the f-string"
