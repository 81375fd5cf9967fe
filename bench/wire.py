"""The bench's HTTP client: one request per connection, as thousands of phones would make them.

A shared client pool with thousands of queued requests costs the client more CPU than the
server, so each request opens its own connection (bench.client, bench.joincost).
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit


class JoinError(Exception):
    pass


RETRY_AFTER = re.compile(rb'data-retry-after="(\d+)"')


class Shed(Exception):
    """The server answered 503 at once (productbreaks/overload.py): come back after a while."""

    def __init__(self, match: re.Match | None) -> None:
        self.retry_after = int(match.group(1)) if match else 5
        super().__init__(f"503, retry after {self.retry_after} s")


async def http(
    base: str,
    method: str,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 60,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request on a fresh connection: (status, cookies set, body)."""
    url = urlsplit(base)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(url.hostname, url.port or 80), timeout
    )
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {url.netloc}", "Connection: close"]
        if cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(head_lines[0].split()[1])
    except (IndexError, ValueError):
        raise JoinError(f"bad HTTP response {head_lines[0][:60]!r}") from None
    set_cookies = {}
    for line in head_lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "set-cookie":
            pair = value.strip().split(";", 1)[0]
            key, _, val = pair.partition("=")
            set_cookies[key.strip()] = val.strip()
    return status, set_cookies, content
