from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def lookup(mapping: Mapping[Any, Any] | None, key: Any) -> Any:
    """{{ my_votes|lookup:poll.id }}: a dict value by a variable key ("" if absent)."""
    if not mapping:
        return ""
    return mapping.get(key, "")
