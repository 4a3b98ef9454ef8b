"""Every UI string is translatable and translated into English."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
# What `make translations` extracts (babel.cfg), so this test checks the same files.
with (ROOT / "babel.cfg").open() as _cfg:
    METHODS, OPTIONS = parse_mapping_cfg(_cfg)


def _source_messages() -> dict[str, str]:
    found = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, filename)
    return found


def test_every_ui_string_has_an_english_translation():
    with (ROOT / "portal/translations/en/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else m.string[0]) and "fuzzy" not in m.flags
    }
    missing = {msgid: where for msgid, where in _source_messages().items() if msgid not in translated}
    assert not missing, f"{len(missing)} untranslated, e.g. {list(missing.items())[:10]}"


def test_every_template_kind_is_extracted():
    """The mail templates (.txt) were once left out of babel.cfg, so English mails were half Chinese."""
    from fnmatch import fnmatch

    kinds = {p.suffix for p in (ROOT / "templates").rglob("*") if p.is_file()}
    assert kinds, "no templates found"
    for suffix in kinds:
        assert any(fnmatch(f"templates/x/y{suffix}", pattern) for pattern, _method in METHODS), suffix


def test_placeholders_survive_translation():
    import re

    with (ROOT / "portal/translations/en/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh)
    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in catalog:
        if not message.id or not message.string:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        target = message.string if isinstance(message.string, str) else message.string[0]
        assert sorted(pattern.findall(source)) == sorted(pattern.findall(target)), source
