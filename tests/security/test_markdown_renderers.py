"""Typed text in the Markdown export never becomes a link or an image, in real renderers.

GitHub's cmark-gfm (with its autolink extension), markdown-it with linkify, and mistune with
its url plugin each find links in plain text: bare "https://…", "www.…", e-mail addresses,
"<…>" autolinks, "[a](b)" and "![a](b)". Every field people type goes through the export's
escaping (recaps.templatetags.recap_tags); each renderer must show it as the same text, with
no <a and no <img.
"""

from __future__ import annotations

import html
import re

import cmarkgfm
import mistune
import pytest
from cmarkgfm.cmark import Options
from django.urls import reverse
from markdown_it import MarkdownIt

from debates.models import BreakoutRoom, Point, Takeaway
from events.models import Event, Resource, Speaker, Theme
from recaps.templatetags.recap_tags import WORD_JOINER, md, md_cell, md_item, md_quote
from tests.recaps.known_votes import build_known_event

LINKY = [
    "see http://evil.example/x now",
    "https://evil.com/a?b=c&d=e#f",
    "HTTPS://EVIL.COM",
    "ftp://evil.com/file",
    "www.evil.com",
    "(www.evil.com/path)",
    "write to bob@evil.com",
    "a_b.c+d@sub.evil.co.uk",
    "mailto:bob@evil.com",
    "xmpp:bob@evil.com/chat",
    "<https://evil.com>",
    "<bob@evil.com>",
    "[click](https://evil.com)",
    "![pic](https://evil.com/i.png)",
    "[ref]: https://evil.com",
    "evil.com and google.com",
    "//evil.com",
    "http://localhost:8000",
    "1. https://evil.com",
]
# Not links in these renderers today, but close: they must come through unchanged too.
PLAIN = [
    "javascript:alert(1)",
    "irc://evil.com",
    "127.0.0.1:80/x",
    "e.g. 3.5 times: done...",
    "x@y",
    "Note: 10:30. Done.",
]
CASES = LINKY + PLAIN

_cmark = Options.CMARK_OPT_UNSAFE
_markdown_it = MarkdownIt("gfm-like", {"linkify": True}).enable("linkify")
_mistune = mistune.create_markdown(plugins=["url", "strikethrough", "table"])

RENDERERS = {
    # GitHub's own renderer, autolink extension included, raw HTML allowed.
    "cmark-gfm": lambda text: cmarkgfm.github_flavored_markdown_to_html(text, options=_cmark),
    "markdown-it+linkify": _markdown_it.render,
    "mistune+url": _mistune,
}


def visible(rendered: str) -> str:
    """The text a reader sees: tags dropped, entities decoded, the invisible word joiner gone."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", rendered)).replace(WORD_JOINER, "")
    return " ".join(text.split())


def test_the_renderers_do_turn_the_raw_cases_into_links():
    # Without the escaping, every LINKY case is a link or an image in at least one renderer
    # (or, "[ref]: …", a link definition that vanishes from the text): the tests below would
    # catch a regression.
    for case in LINKY:
        assert any(
            re.search(r"<(a|img)\b", render(case)) or visible(render(case)) != case
            for render in RENDERERS.values()
        ), case


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("escape", [md, md_item, md_quote, md_cell])
def test_each_escape_leaves_no_link_and_the_same_text(renderer, escape):
    render = RENDERERS[renderer]
    for case in CASES:
        rendered = render(escape(case))
        assert not re.search(r"<(a|img)\b", rendered), (case, rendered)
        assert visible(rendered).endswith(" ".join(case.split())), (case, rendered)


@pytest.mark.django_db
@pytest.mark.parametrize("renderer", RENDERERS)
def test_no_typed_field_of_the_export_becomes_a_link(client, event, organiser, renderer):
    known = build_known_event(event)
    Resource.objects.filter(event=event).delete()
    Resource.objects.create(event=event, title="Further reading", url="https://example.org/r")
    client.force_login(organiser)
    render = RENDERERS[renderer]
    for case in CASES:
        Event.objects.filter(pk=event.pk).update(title=case, venue=case, intro=case, motion=case)
        Speaker.objects.filter(event=event).update(name=case, affiliation=case, statement=case)
        Theme.objects.filter(event=event).update(prompt=case)
        for n, theme in enumerate(Theme.objects.filter(event=event)):
            Theme.objects.filter(pk=theme.pk).update(name=f"{case} {n}")
        Point.objects.filter(event=event).update(text=case)
        Takeaway.objects.filter(event=event).update(title=case, text=case)
        for n, room in enumerate(known["rooms"].values()):
            BreakoutRoom.objects.filter(pk=room.pk).update(name=f"{case[:50]} {n}")
        Resource.objects.filter(event=event).update(title=case)
        response = client.get(reverse("recaps:export_markdown", args=[event.slug]))
        rendered = render(response.content.decode())
        # The two links the export means to have: the resource and the subscribe link.
        links = re.findall(r'<a\s+href="([^"]*)"', rendered)
        assert links == ["https://example.org/r", "http://testserver/#subscribe"], (case, links)
        assert "<img" not in rendered, case
        text = visible(rendered)
        assert text.count(" ".join(case.split())) >= 10, (case, text)
