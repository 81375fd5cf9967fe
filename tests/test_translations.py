"""The French catalog covers the whole interface, and no template shows words outside a
translate tag. The strings are read without GNU gettext (tests/i18n_strings.py), so this runs
on any machine with the venv; README.md, "Languages", says how to update the catalog."""

from __future__ import annotations

import gettext
import re
import runpy
import shutil

import pytest
from babel.messages.pofile import read_po

from tests import i18n_strings
from tests.i18n_strings import CATALOG, REPO, Msg

PLACEHOLDER = re.compile(r"%\(\w+\)s|%%|\{\w+\}|</?\w+[^>]*>")


def test_every_string_of_the_templates_and_the_code_has_a_french_translation():
    messages = i18n_strings.interface_messages()
    assert len({m.key for m in messages}) > 900  # the extraction found the interface
    missing = i18n_strings.untranslated(messages)
    assert not missing, "Not translated in locale/fr (README.md, Languages):\n" + "\n".join(missing)


def test_no_template_shows_words_outside_a_translate_tag():
    flagged = []
    for path in i18n_strings.template_files():
        for text in i18n_strings.visible_untranslated(path.read_text()):
            flagged.append(f"{path.relative_to(REPO)}: {text!r}")
    assert not flagged, "Visible text without {% translate %}:\n" + "\n".join(flagged)


def test_the_french_catalog_keeps_every_placeholder_and_tag():
    with CATALOG.open("rb") as po:
        catalog = read_po(po)
    assert catalog.num_plurals == 2
    broken = []
    for message in catalog:
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for n, string in enumerate(strings):
            source = sources[min(n, len(sources) - 1)]
            if sorted(set(PLACEHOLDER.findall(source))) != sorted(set(PLACEHOLDER.findall(string))):
                broken.append(f"{source!r} -> {string!r}")
    assert not broken, "\n".join(broken)


# ---------------------------------------------------------------- the checkers themselves


def test_the_visible_text_check_flags_bare_words_and_spares_tagged_ones():
    template = """{% load i18n %}{% block body_class %}wide-page{% endblock %}
    <h1>{% translate "Welcome" %}</h1>
    <p>Bare words here</p>
    <p>{% blocktranslate with n=count %}{{ n }} people{% endblocktranslate %}</p>
    <input placeholder="Your name here" aria-label="{% translate 'Name' %}">
    <img alt="A photo">
    {% comment %}A note for developers{% endcomment %}{# and another #}
    <script nonce="{{ csp_nonce }}">var words = "not shown";</script>
    <p>product<strong>breaks</strong> · 95&nbsp;% {{ event.title }} https://</p>"""
    assert i18n_strings.visible_untranslated(template) == [
        "Bare words here",
        "Your name here",
        "A photo",
    ]


def test_the_catalog_check_names_a_string_missing_from_the_catalog(tmp_path):
    catalog = tmp_path / "django.po"
    shutil.copy(CATALOG, catalog)
    known = Msg("Join an event", None, None, "templates/base.html:1")
    new = Msg("A string nobody translated yet", None, None, "events/views.py:7")
    plural = Msg("%(n)s person", "%(n)s people", None, "templates/x.html:2")
    assert i18n_strings.untranslated([known, plural], catalog) == []
    assert i18n_strings.untranslated([known, new], catalog) == [
        "events/views.py:7: missing: 'A string nobody translated yet'"
    ]
    catalog.write_text(
        catalog.read_text().replace('msgstr "Rejoindre un événement"', 'msgstr ""'),
        encoding="utf-8",
    )
    assert i18n_strings.untranslated([known], catalog) == [
        "templates/base.html:1: empty: 'Join an event'"
    ]


def test_the_extraction_reads_django_tags_and_gettext_calls_like_makemessages():
    template = """{% load i18n %}<p>{% translate "Hello" context "greeting" %}</p>
      <p>{% blocktranslate count n=total trimmed %}
        {{ n }} vote{% plural %}{{ n }} votes{% endblocktranslate %}</p>"""
    found = {(m.msgid, m.plural, m.context) for m in i18n_strings.template_messages(template, "t")}
    assert found == {("Hello", None, "greeting"), ("%(n)s vote", "%(n)s votes", None)}


def test_the_pure_python_compiler_writes_a_catalog_gettext_reads(tmp_path):
    target = tmp_path / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(CATALOG, target / "django.po")
    compile_catalogs = runpy.run_path(str(REPO / "scripts" / "compilemessages"))["compile_catalogs"]
    assert compile_catalogs(tmp_path, check=True) == [target / "django.mo"]
    with (target / "django.mo").open("rb") as mo:
        french = gettext.GNUTranslations(mo)
    assert french.gettext("Join an event") == "Rejoindre un événement"
    assert french.ngettext("%(n)s person", "%(n)s people", 1) == "%(n)s personne"
    assert french.ngettext("%(n)s person", "%(n)s people", 2) == "%(n)s personnes"
    assert compile_catalogs(tmp_path) == []  # up to date: not written again


def test_the_compiler_refuses_a_catalog_with_a_fuzzy_entry_when_checking(tmp_path):
    target = tmp_path / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    text = CATALOG.read_text(encoding="utf-8")
    text = text.replace('msgid "Join an event"', '#, fuzzy\nmsgid "Join an event"', 1)
    (target / "django.po").write_text(text, encoding="utf-8")
    compile_catalogs = runpy.run_path(str(REPO / "scripts" / "compilemessages"))["compile_catalogs"]
    with pytest.raises(ValueError, match="Join an event"):
        compile_catalogs(tmp_path, check=True)
