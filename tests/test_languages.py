"""Which language a page is in: the footer's switch (Django's set_language), else
Accept-Language, else English (LANGUAGE_CODE). The recap follows its event instead
(tests/recaps/test_recap_language.py)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

SWITCH = re.compile(r'<form class="language-switch".*?</form>', re.S)


def test_a_browser_without_preference_gets_english_with_a_switch_to_french():
    page = Client().get(reverse("events:index")).content.decode()
    assert '<html lang="en-gb">' in page and "Join an event" in page
    switch = SWITCH.search(page).group(0)
    assert f'action="{reverse("set_language")}"' in switch and 'method="post"' in switch
    assert 'name="next" value="/"' in switch
    # One button per other language, named in its own language; no script in the form.
    assert '<button class="link" name="language" value="fr" lang="fr"' in switch
    assert ">Français</button>" in switch and "<script" not in switch
    assert 'name="csrfmiddlewaretoken"' in switch


def test_accept_language_french_gets_french_by_default():
    page = Client(headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"}).get("/").content.decode()
    assert '<html lang="fr">' in page and "Rejoindre un événement" in page
    assert "Join an event" not in page
    assert 'value="en-gb" lang="en-gb"' in SWITCH.search(page).group(0)  # the way back


def test_the_switch_returns_to_the_same_page_and_the_choice_sticks():
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "en"})
    page = client.get(reverse("debates:join")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    answer = client.post(
        reverse("set_language"),
        {"language": "fr", "next": reverse("debates:join"), "csrfmiddlewaretoken": token},
    )
    assert answer.status_code == 302 and answer["Location"] == reverse("debates:join")
    assert client.cookies["django_language"].value == "fr"
    joined = client.get(reverse("debates:join")).content.decode()
    assert '<html lang="fr">' in joined and "Code de l’événement" in joined
    elsewhere = client.get(reverse("events:index")).content.decode()
    assert '<html lang="fr">' in elsewhere  # the choice outranks Accept-Language everywhere


def test_the_switch_will_not_send_anyone_to_another_site():
    client = Client()
    answer = client.post(
        reverse("set_language"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert answer.status_code == 302 and "evil.example" not in answer["Location"]


def test_a_language_the_site_does_not_speak_falls_back_to_english():
    page = Client(headers={"accept-language": "de-DE,de"}).get("/").content.decode()
    assert '<html lang="en-gb">' in page
