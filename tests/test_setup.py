"""The set-up contract: checks are clean, migrations are complete, the demo seeds twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from debates.models import Point, Poll, Takeaway, Vote
from events.models import Event, Resource, Side, Speaker, Theme

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HTTPS"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_system_check_is_clean():
    result = _manage("check", "--fail-level", "WARNING", DEBUG="1")
    assert result.returncode == 0, result.stderr + result.stdout


def test_migrations_are_complete():
    result = _manage("makemigrations", "--check", "--dry-run", DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="a-long-random-production-secret-" + "x7Qp9ZkLm3" * 4,
        ALLOWED_HOSTS="debates.example.org",
        DEBUG="0",
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="0", ALLOWED_HOSTS="debates.example.org")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_a_wildcard_allowed_host_is_refused():
    result = _manage("check", DEBUG="1", ALLOWED_HOSTS="*")
    assert result.returncode != 0
    assert "'*' is refused" in result.stderr


@pytest.mark.django_db
def test_the_demo_seeds_a_whole_event_and_seeding_twice_changes_nothing():
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    counts = [Event.objects.count(), Vote.objects.count(), Point.objects.count()]
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert [Event.objects.count(), Vote.objects.count(), Point.objects.count()] == counts

    event = Event.objects.get(slug="roadmaps-on-trial")
    sides = dict(Speaker.objects.filter(event=event).values_list("role", "side"))
    assert sides == {"host": Side.FOR, "moderator": Side.AGAINST}
    assert Theme.objects.filter(event=event).count() == 4
    for theme in event.themes.all():
        assert {p.side for p in theme.points.all()} == {Side.FOR, Side.AGAINST}
    assert Takeaway.objects.filter(event=event).count() == 3
    assert Resource.objects.filter(event=event).count() == 2
    assert event.attendees.count() >= 24
    for poll in Poll.objects.filter(event=event):
        assert poll.votes.count() >= 24
