"""Files the site hands out (the subscriber list here, the recap's exports in recaps.views)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone

# CSV cells a spreadsheet would run as a formula if they began with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso(at: datetime) -> str:
    return timezone.localtime(at).isoformat(timespec="seconds")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_download(
    filename: str, header: list[str], rows: Iterable[Iterable[object]]
) -> HttpResponse:
    response = download("", "text/csv", filename)
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return response


def download(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Exports hold the audience's votes or addresses: never from a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
