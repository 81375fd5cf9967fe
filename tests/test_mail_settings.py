"""Where email goes, from the environment (productbreaks.settings.mailer_from_env): the
console under DEBUG, SMTP with EMAIL_HOST, a provider through django-anymail with ANYMAIL_ESP."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from productbreaks.settings import mailer_from_env

CONSOLE = "django.core.mail.backends.console.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def test_make_run_prints_email_and_production_defaults_to_a_local_smtp_server():
    assert mailer_from_env({}, debug=True) == {"BACKEND": CONSOLE}
    assert mailer_from_env({}, debug=False)["BACKEND"] == SMTP


def test_smtp_from_the_environment():
    env = {
        "EMAIL_HOST": "smtp.example.org",
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "debates",
        "EMAIL_HOST_PASSWORD": "secret",
        "EMAIL_USE_TLS": "1",
    }
    mailer = mailer_from_env(env, debug=True)  # a host named wins over DEBUG's console
    assert mailer["BACKEND"] == SMTP
    assert mailer["OPTIONS"] | {"timeout": None} == {
        "host": "smtp.example.org",
        "port": 587,
        "username": "debates",
        "password": "secret",
        "use_tls": True,
        "use_ssl": False,
        "timeout": None,
    }


def test_a_provider_through_anymail_with_its_own_option_names():
    env = {"ANYMAIL_ESP": "postmark", "ANYMAIL_SERVER_TOKEN": "tok", "EMAIL_HOST": "ignored"}
    assert mailer_from_env(env, debug=False) == {
        "BACKEND": "anymail.backends.postmark.EmailBackend",
        "OPTIONS": {"server_token": "tok"},
    }


def test_anymail_without_a_provider_is_refused():
    with pytest.raises(ImproperlyConfigured):
        mailer_from_env({"EMAIL_BACKEND": "anymail"}, debug=False)
    with pytest.raises(ImproperlyConfigured):
        mailer_from_env({"ANYMAIL_ESP": "../evil"}, debug=False)


def test_the_anymail_backend_named_exists():
    from django.utils.module_loading import import_string

    assert import_string(mailer_from_env({"ANYMAIL_ESP": "mailgun"}, debug=False)["BACKEND"])
