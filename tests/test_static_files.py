"""Static files: pages name them by hashed names, and WhiteNoise serves them (compressed, cached
for good) when no nginx does (SERVE_STATIC=1, the default); with SERVE_STATIC=0 the app serves
none, as nginx serves STATIC_ROOT (deploy/)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.test import Client

from bench.launcher import REPO, Daphne
from tests.servers import sqlite_env

HASHED = re.compile(r"^/static/css/app\.[0-9a-f]{12}\.css$")
FOR_GOOD = "max-age=315360000"


@pytest.mark.django_db
def test_pages_name_static_files_by_their_hashed_names():
    page = Client().get("/").content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/static/[^"]+)"', page)
    assert sources and staticfiles_storage.url("css/app.css") in sources
    assert all(re.search(r"\.[0-9a-f]{12}\.(?:js|css|svg)$", s) for s in sources), sources


def test_whitenoise_serves_a_hashed_file_compressed_and_cached_for_good():
    url = staticfiles_storage.url("css/app.css")
    assert HASHED.match(url)
    response = Client().get(url, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert FOR_GOOD in response["Cache-Control"] and "immutable" in response["Cache-Control"]


def test_an_unhashed_name_is_served_but_not_cached_for_good():
    """The 500 page names /static/css/app.css as is: it must not depend on the manifest."""
    response = Client().get("/static/css/app.css")
    assert response.status_code == 200
    assert FOR_GOOD not in response["Cache-Control"]


def test_an_unknown_static_file_is_not_found():
    assert Client().get("/static/css/no-such-file.css").status_code == 404


def test_daphne_serves_static_files_through_whitenoise():
    """Under ASGI, through the async path productbreaks.static_files adds to WhiteNoise."""
    with tempfile.TemporaryDirectory() as folder:
        env = sqlite_env(Path(folder) / "db.sqlite3")
        with Daphne(env, name="static") as server:
            url = server.url + staticfiles_storage.url("css/app.css")
            response = httpx.get(url, headers={"accept-encoding": "gzip"}, timeout=20)
            missing = httpx.get(server.url + "/static/no-such-file.js", timeout=20)
            assert server.errors() == []
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    assert FOR_GOOD in response.headers["cache-control"]
    assert "body" in response.text  # decompressed by httpx: the stylesheet itself
    assert missing.status_code == 404


SERVED = """
import django
django.setup()
from django.conf import settings
from django.test import Client
served = Client().get("/static/css/app.css").status_code
print("productbreaks.static_files.AsyncWhiteNoiseMiddleware" in settings.MIDDLEWARE, served)
"""


@pytest.mark.parametrize(("serve_static", "expected"), [("1", "True 200"), ("0", "False 404")])
def test_serve_static_decides_whether_the_app_serves_static_files(serve_static, expected):
    env = sqlite_env(
        Path("/tmp/pb-static-unused.sqlite3"), SERVE_STATIC=serve_static, ALLOWED_HOSTS="testserver"
    )
    result = subprocess.run(
        [sys.executable, "-c", SERVED],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
