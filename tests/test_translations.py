"""Every string of the UI is translated into French, and the catalogue matches the sources."""

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
