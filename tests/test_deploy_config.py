"""The production nginx configuration keeps the promises SECURITY.md makes about it."""

from __future__ import annotations

import re
from pathlib import Path

NGINX = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "productbreaks.conf"


def test_every_proxied_location_sends_the_address_nginx_saw_not_the_clients_claim():
    conf = NGINX.read_text()
    passes = len(re.findall(r"^\s*proxy_pass\b", conf, re.MULTILINE))
    forwarded = re.findall(r"^\s*proxy_set_header\s+X-Forwarded-For\s+(\S+);", conf, re.MULTILINE)
    assert passes >= 2
    assert forwarded == ["$remote_addr"] * passes


def _zone(conf: str, name: str) -> float:
    [rate] = re.findall(
        rf"limit_req_zone \$binary_remote_addr zone={name}:\S+ rate=(\d+)r/s;", conf
    )
    return float(rate)


def _locations(conf: str) -> dict[str, str]:
    """Each proxied location's block, by its path."""
    return dict(re.findall(r"location (?:~ )?(\S+) \{\n(.*?)\n    \}", conf, re.S))


def test_every_proxied_location_is_limited_per_address():
    conf = NGINX.read_text()
    for path, block in _locations(conf).items():
        if "proxy_pass" in block:
            assert re.search(r"limit_req zone=pb_\w+ burst=\d+", block), path
            assert re.search(r"limit_conn pb_(conn|ws) \d+;", block), path


def test_the_limits_let_500_people_behind_one_address_join_within_a_minute():
    """deploy/README.md's arithmetic: 500 phones, each GET and POST of the join form, all at
    once, from one address. nginx refuses nothing inside its burst; past `delay` it spaces
    requests at the zone's rate."""
    conf = NGINX.read_text()
    people, requests_each = 500, 2
    join = _locations(conf)["^/(join/|j/)"]
    burst, delay = map(int, re.search(r"burst=(\d+) delay=(\d+)", join).groups())
    requests = people * requests_each
    assert requests <= burst + 1  # none refused
    last_waits = (requests - delay) / _zone(conf, "pb_join")
    assert last_waits <= 60
    # One socket per phone and a request in flight each fit under the connection limits.
    for block in _locations(conf).values():
        if "limit_conn" in block:
            assert int(re.search(r"limit_conn pb_\w+ (\d+);", block)[1]) >= 2 * people


def test_a_flood_of_typed_codes_never_holds_back_the_qr_link():
    """Red team: the QR link shared the typed codes' zone, so a prankster on the venue's
    address could queue everyone's scans. It has its own zone, and sockets their own."""
    conf = NGINX.read_text()
    locations = _locations(conf)
    qr = locations["^/j/[^/]+/[^/]+/$"]
    assert "zone=pb_qr" in qr and "nodelay" in qr
    assert "zone=pb_qr" not in locations["^/(join/|j/)"]
    # nginx takes the first matching regex location: the QR link's comes first.
    assert conf.index("location ~ ^/j/[^/]+/[^/]+/$") < conf.index("location ~ ^/(join/|j/)")
    assert "limit_conn pb_ws" in locations["/ws/"]
    assert "limit_conn pb_ws" not in locations["/"]


def test_nginx_caches_hashed_static_files_for_good_and_the_originals_for_an_hour():
    from django.contrib.staticfiles.storage import staticfiles_storage

    conf = NGINX.read_text()
    [block] = re.findall(r"map \$uri \$pb_static_expires \{\n(.*?)\n\}", conf, re.S)
    rules = dict(re.findall(r'^\s*"?(\S+?)"?\s+(\S+);', block, re.M))
    [pattern] = [key.removeprefix("~") for key in rules if key.startswith("~")]
    assert rules["default"] == "1h" and rules["~" + pattern] == "max"
    hashed = staticfiles_storage.url("css/app.css")  # the name a page links
    for url, cached_for_good in (
        (hashed, True),
        ("/static/css/app.css", False),
        ("/static/vendor/htmx-2.0.11.min.js", False),
    ):
        assert bool(re.search(pattern, url)) is cached_for_good, url
    static = _locations(conf)["/static/"]
    assert "expires $pb_static_expires;" in static and "gzip_static on;" in static
