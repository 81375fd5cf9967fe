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
