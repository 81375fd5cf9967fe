"""The interface's strings, read without GNU gettext (tests/test_translations.py).

`makemessages` needs xgettext; these helpers find the same msgids with Django's own templatize()
and Babel's Python extractor, so the translation tests run on any machine with the venv.
`visible_untranslated` reads a template as the Django lexer does and returns the words a reader
would see that no translate tag wraps.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import extract
from babel.messages.pofile import read_po
from django.template.base import Lexer, TokenType
from django.utils.translation.template import templatize

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("events", "debates", "recaps", "productbreaks")
TEMPLATE_DIR = REPO / "templates"
CATALOG = REPO / "locale" / "fr" / "LC_MESSAGES" / "django.po"

# Django's gettext functions, as makemessages hands them to xgettext (Babel's spec: the
# argument positions of msgid, plural and context).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


@dataclass(frozen=True)
class Msg:
    msgid: str
    plural: str | None
    context: str | None
    where: str

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.msgid, self.context)


def _extract(source: str, where: str) -> Iterator[Msg]:
    found = extract("python", io.BytesIO(source.encode()), keywords=KEYWORDS, comment_tags=())
    for lineno, message, _comments, context in found:
        if isinstance(message, tuple):
            msgid, plural = message[0], message[1]
        else:
            msgid, plural = message, None
        if msgid:
            yield Msg(msgid, plural, context, f"{where}:{lineno}")


def python_files() -> list[Path]:
    files = []
    for top in SOURCE_DIRS:
        files += [p for p in (REPO / top).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def template_files() -> list[Path]:
    return sorted(TEMPLATE_DIR.rglob("*.html"))


def template_messages(text: str, where: str) -> Iterator[Msg]:
    # templatize() keeps the template's indentation, which Python's tokenizer rejects; its
    # strings never span lines (newlines are escaped), so dedenting every line is safe.
    python = "\n".join(line.lstrip() for line in templatize(text).splitlines())
    return _extract(python, where)


def interface_messages() -> list[Msg]:
    """Every msgid of the templates and of the product's Python, where each first occurs."""
    messages: list[Msg] = []
    for path in template_files():
        messages += template_messages(path.read_text(), str(path.relative_to(REPO)))
    for path in python_files():
        messages += _extract(path.read_text(), str(path.relative_to(REPO)))
    return messages


def untranslated(messages: Iterable[Msg], catalog_path: Path = CATALOG) -> list[str]:
    """The messages the catalog lacks, or has fuzzy or with an empty msgstr: one line each."""
    with catalog_path.open("rb") as po:
        catalog = read_po(po)
    missing: dict[tuple[str, str | None], str] = {}
    for msg in messages:
        entry = catalog.get(msg.msgid, context=msg.context)
        strings = () if entry is None else entry.string
        strings = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(strings):
            problem = "missing" if entry is None else "fuzzy" if entry.fuzzy else "empty"
            missing.setdefault(msg.key, f"{msg.where}: {problem}: {msg.msgid!r}")
        elif (msg.plural is not None) != entry.pluralizable:
            missing.setdefault(msg.key, f"{msg.where}: plural mismatch: {msg.msgid!r}")
    return sorted(missing.values())


# ---------------------------------------------------------------- visible text

# Words a translation keeps as they are: the brand (written product<strong>breaks</strong>) and
# an abbreviation French readers use too.
ALLOWED_WORDS = {"product", "breaks", "productbreaks", "QR"}

# Attributes a reader sees or a screen reader speaks.
VISIBLE_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "label"}

# Stands in for a {{ variable }} or {% tag %}: no letters, so it never counts as a word.
_MARK = "\u2063"
_WORD = re.compile(r"[^\W\d_]{2,}")
_URL = re.compile(r"\w+://\S*")  # a placeholder such as "https://" shows a form, not words


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden_depth = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden_depth += 1
        for name, value in attrs:
            if value and name in VISIBLE_ATTRIBUTES:
                self.texts.append(value)
        if tag == "input":
            kinds = dict(attrs)
            if kinds.get("type") in ("submit", "button", "reset") and kinds.get("value"):
                self.texts.append(kinds["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.texts.append(data)


def _outside_tags(template: str) -> str:
    """The template's HTML with every tag and variable replaced by a mark, and the insides of
    {% blocktranslate %}, {% comment %} and {% verbatim %} dropped (translated or unseen)."""
    parts: list[str] = []
    skip_until: str | None = None
    for token in Lexer(template).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if skip_until is not None:
                if name == skip_until:
                    skip_until = None
                continue
            if name in ("blocktranslate", "blocktrans", "comment", "verbatim"):
                skip_until = "end" + name
            elif token.contents.split()[1:2] in (["body_class"], ["main_class"]):
                skip_until = "endblock"  # class names, not text
            parts.append(_MARK)
        elif skip_until is not None:
            continue
        elif token.token_type == TokenType.TEXT:
            parts.append(token.contents)
        elif token.token_type == TokenType.VAR:
            parts.append(_MARK)
        # TokenType.COMMENT: {# ... #} is never shown
    return "".join(parts)


def visible_untranslated(template: str) -> list[str]:
    """The words of `template` a reader sees that no translate tag wraps (allowed words aside)."""
    parser = _VisibleText()
    parser.feed(_outside_tags(template))
    parser.close()
    found = []
    for text in parser.texts:
        plain = _URL.sub(" ", html.unescape(text))
        words = [w for w in _WORD.findall(plain) if w not in ALLOWED_WORDS]
        if words:
            found.append(" ".join(text.replace(_MARK, "{…}").split()))
    return found
